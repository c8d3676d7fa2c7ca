"""The external plugin in examples/pagelab-hotplug: installed from its folder, run through the
CLI and a small sweep, drawn in a figure, and its own tests pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import polars as pl
import pytest

from .conftest import ROOT, pagelab_cli
from .test_plugin_scaffold import pip_install_target

EXAMPLE = ROOT / "examples" / "pagelab-hotplug"
# Three 160 GiB nodes, node 2 a memory-only expander (hot-added, as CXL memory is).
CXL = ["workload=hosting", "workload.nodes=3", "workload.installed=480G", "workload.memory_only_nodes=[2]"]
GiB = 1 << 30


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The environment of a process that sees the example installed (pip install from its folder)."""
    work = tmp_path_factory.mktemp("example")
    source = work / "pagelab-hotplug"  # a copy: pip builds in the source folder
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", "build", "*.egg-info"))
    pip_install_target(source, work / "site")
    return {"PYTHONPATH": os.pathsep.join([str(work / "site"), os.environ.get("PYTHONPATH", "")])}


def pools(run_dir) -> pl.DataFrame:
    row = pl.read_parquet(run_dir / "results.parquet")
    return row.select(pl.col("pools").explode()).unnest("pools").filter(pl.col("pool") == "kernel").sort("node")


def test_the_cli_puts_the_expander_s_memmap_where_memmap_on_memory_says(installed, tmp_path):
    runs = {}
    for mode in ("off", "on"):
        runs[mode] = tmp_path / mode
        result = pagelab_cli("strategy=hotplug", *CXL, f"strategy.memmap_on_memory={mode}",
                             f"hydra.run.dir={runs[mode]}", cwd=tmp_path, env=installed)
        assert result.returncode in (0, 3), result.stderr
    off, on = pools(runs["off"]), pools(runs["on"])
    # 160 GiB / 128 MiB = 1,280 blocks of 2 MiB memmap each: 2.5 GiB moves between node 2 and node 0.
    moved = 1280 * 2 * (1 << 20)
    assert moved == 2.5 * GiB
    # metadata_bytes: memmap and descriptors per node (page tables are their own column).
    assert off["metadata_bytes"][0] - on["metadata_bytes"][0] == moved
    assert on["metadata_bytes"][2] - off["metadata_bytes"][2] == moved and off["metadata_bytes"][2] == 0


def test_a_sweep_of_the_plugin_draws_in_the_hosting_figure(installed, tmp_path):
    sweep, out = tmp_path / "sweep", tmp_path / "figures"
    result = pagelab_cli("-m", "strategy=hotplug", "strategy.memmap_on_memory=off,on", *CXL,
                         f"hydra.sweep.dir={sweep}", cwd=tmp_path, env=installed)
    assert result.returncode == 0, result.stderr
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert sorted(summary["strategy.memmap_on_memory"].to_list()) == ["off", "on"]
    drawn = pagelab_cli("figures", "--results", str(sweep), "--only", "hosting", "--out", str(out), "--where",
                        "workload.installed=480G", "workload.nodes=3", "workload.memory_only_nodes=2",
                        "strategy.memmap_on_memory=off,on", cwd=tmp_path, env=installed)
    assert drawn.returncode == 0, drawn.stderr
    assert {p.name for p in out.iterdir()} >= {"hosting.pdf", "hosting.png", "hosting.svg", "hosting.parquet"}
    data = pl.read_parquet(out / "hosting.parquet")
    sold = data.filter(pl.col("quantity") == "memory sold")
    assert sold["strategy"].unique().to_list() == ["hotplug"] and sold.height == 2
    assert sorted(sold["mean"].to_list()) == sorted(summary["guest_bytes"].cast(pl.Float64).to_list())


def test_the_example_passes_its_own_tests(installed, tmp_path):
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                           cwd=tmp_path, env={**os.environ, **installed}, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert "11 passed" in tests.stdout
