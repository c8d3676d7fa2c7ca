"""Shared fixtures: runs through the real Hydra compose API and the real plugins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


# Runs a subcommand as nobody: everything is imported first, while root-only paths
# (the interpreter's own library may live under /root) are still readable.
_AS_NOBODY = r"""
import os, sys
import polars, pagelab.atomic, pagelab.commands.scan, pagelab.commands.scan_procs
from pagelab.cli import run_command
os.setgroups([]); os.setgid(65534); os.setuid(65534)
sys.exit(run_command(sys.argv[1], sys.argv[2:]))
"""


def run_as_nobody(command: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``pagelab COMMAND ARGS`` in a child process that has dropped root for nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges to nobody")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", _AS_NOBODY, command, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def read_output(path: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """The table and the key-value metadata of a written dataset."""
    meta = pl.read_parquet_metadata(path)  # the file's key-value metadata, where polars writes it
    return pl.read_parquet(path), {k: v for k, v in meta.items() if not k.startswith("ARROW")}


def read_results(directory: Path) -> pl.DataFrame:
    """The results.parquet a run wrote."""
    return pl.read_parquet(directory / "results.parquet")


def statuses(sweep: Path) -> dict[str, dict]:
    """Every job's status.json, by job folder."""
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/status.json")}


def kill_sweep_after(args: list[str], cwd: Path, sweep: Path, done: int = 3) -> None:
    """Start ``python -m pagelab ARGS`` and SIGKILL it, workers included, once ``done`` jobs finished."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pagelab", *args], cwd=cwd, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while sum(r["state"] == "done" for r in statuses(sweep).values()) < done:
        assert process.poll() is None and time.monotonic() < deadline, "the sweep ended before it was killed"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
