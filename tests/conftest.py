"""Shared fixtures: runs through the real Hydra compose API and the real plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import pagelab

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run():
    """Run one configuration in-process and return its results row as a dict."""

    def _run(*overrides: str) -> dict:
        return pagelab.run(list(overrides)).row(0, named=True)

    return _run


def pagelab_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m pagelab ARGS`` in a subprocess, as a user would."""
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pagelab", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


def read_results(directory: Path) -> pl.DataFrame:
    """The results.parquet a run wrote."""
    return pl.read_parquet(directory / "results.parquet")
