"""``pagelab new-strategy``: the package it writes installs with pip, runs, and passes its own tests."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest

from .conftest import pagelab_cli


def pip_install_target(package, target) -> None:
    """A real ``pip install`` of ``package`` into the folder ``target`` (offline: no build isolation,
    no dependencies); a process with ``target`` on PYTHONPATH sees its entry points."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(package)], check=True, capture_output=True, text=True, timeout=300)


def test_a_scaffolded_strategy_installs_runs_and_passes_its_own_tests(tmp_path):
    package, site = tmp_path / "pkg", tmp_path / "site"
    made = pagelab_cli("new-strategy", "scaffolded", str(package), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (package / "pyproject.toml").is_file() and (package / "src" / "pagelab_scaffolded" / "strategy.py").is_file()
    assert 'scaffolded = "pagelab_scaffolded.strategy"' in (package / "pyproject.toml").read_text()
    pip_install_target(package, site)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    run = pagelab_cli("strategy=scaffolded", "workload=pc1991", "strategy.page_size=16K",
                      f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    row = pl.read_parquet(tmp_path / "run" / "results.parquet").row(0, named=True)
    assert row["strategy"] == "scaffolded" and row["struct_pages"] == (4 << 20) // (16 << 10)  # pc1991: 4 MiB

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "7 passed" in tests.stdout  # six conformance rules and the model's own test


@pytest.mark.parametrize(("name", "fault"), [("Page8k", "a lowercase Python identifier"), ("base4k", "installed already")])
def test_a_bad_or_taken_name_is_one_line_and_writes_nothing(tmp_path, name, fault):
    result = pagelab_cli("new-strategy", name, str(tmp_path / "pkg"), cwd=tmp_path)
    assert result.returncode == 2 and fault in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "pkg").exists()


def test_an_existing_folder_is_refused(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "keep.txt").write_text("mine")
    result = pagelab_cli("new-strategy", "fresh", str(tmp_path / "pkg"), cwd=tmp_path)
    assert result.returncode == 2 and "exists and is not an empty folder" in result.stderr
    assert [p.name for p in (tmp_path / "pkg").iterdir()] == ["keep.txt"]
