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

test: $(STAMP)
	$(BIN)/python -m pytest

# Speed, not correctness: one table of ratios (benchmarks/README.md), also written to
# benchmarks/results.json and into the READMEs' Benchmarks sections. About ten minutes.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .hypothesis
