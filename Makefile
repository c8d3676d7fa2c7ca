# pagelab: everything installs from python3 and make alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?= strategy=dmemfs workload=hosting

.PHONY: run test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,joblib,submitit]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m pagelab $(ARGS)

# The HTML report's test opens it in headless Chromium (Debian's chromium package).
test: $(STAMP)
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; }; } \
		|| echo "no chromium: tests/test_report.py skips its browser check"
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

# Speed, not correctness: one table of ratios (benchmarks/README.md), also written to
# benchmarks/results.json and into the READMEs' Benchmarks sections. About ten minutes.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .hypothesis
