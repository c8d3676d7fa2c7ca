"""The results file and the command line, run as a user runs them."""

from __future__ import annotations

import polars as pl

from pagelab.pipeline.metrics import RESULT_SCHEMA

from .conftest import pagelab_cli, read_results

README_COMMAND = ("strategy=dmemfs", "workload=hosting")


def test_readme_command_writes_one_stable_row(tmp_path):
    result = pagelab_cli(*README_COMMAND, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "where the memory went" in result.stdout and "guests" in result.stdout
    [run_dir] = [p.parent for p in (tmp_path / "outputs").rglob("results.parquet")]
    row = read_results(run_dir)
    assert row.height == 1
    assert row.columns[: len(RESULT_SCHEMA)] == list(RESULT_SCHEMA)
    assert {c: row.schema[c] for c in RESULT_SCHEMA} == RESULT_SCHEMA
    params = row.columns[len(RESULT_SCHEMA) :]
    assert params == sorted(params) and "strategy.dpage_size" in params and "workload.guests.dataset" in params


def test_rerun_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        assert pagelab_cli(*README_COMMAND, f"hydra.run.dir={tmp_path / name}", cwd=tmp_path).returncode == 0
    first, second = ((tmp_path / n / "results.parquet").read_bytes() for n in ("a", "b"))
    assert first == second


def test_runs_in_the_same_second_get_their_own_directories(tmp_path):
    for _ in range(2):
        assert pagelab_cli("strategy=base4k", "workload=pc1991", cwd=tmp_path).returncode == 0
    assert len(list((tmp_path / "outputs").rglob("results.parquet"))) == 2


def test_overhead_adds_up(run):
    row = run("strategy=clustering", "workload=laptop")
    assert row["metadata_bytes"] == row["memmap_bytes"] + row["descriptor_bytes"] + row["pagetable_bytes"]
    assert row["internal_frag_bytes"] == row["allocated_bytes"] - row["requested_bytes"]
    assert row["overhead_bytes"] == row["metadata_bytes"] + row["internal_frag_bytes"] + row["stranded_bytes"]
    assert abs(row["overhead_pct"] - 100 * row["overhead_bytes"] / row["installed_bytes"]) < 1e-9
    assert row["guests"] is None and row["guest_bytes"] is None


def test_bad_parameter_is_one_line_nonzero_and_writes_nothing(tmp_path):
    result = pagelab_cli("strategy=dmemfs", "workload=hosting", "strategy.dmem=1000M", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pagelab: error: dmem=1000M: 'size' is unaligned to 'align' in dmem= (must be a multiple of 128 MiB)"
    ]
    assert not (tmp_path / "results.parquet").exists()


def test_a_run_that_does_not_fit_writes_its_row_and_exits_3_naming_the_pool(tmp_path):
    # Keeping 1 GiB per node for the kernel cannot hold the 2 GiB host reserve of each node.
    result = pagelab_cli("strategy=dmemfs", "workload=hosting", "strategy.dmem='!1G'", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 3
    assert "fits the machine │ no" in " ".join(result.stdout.split())  # the summary is printed too
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("pagelab: does not fit: node 0 pool kernel lacks ") and "node 1 pool kernel lacks" in line
    row = pl.read_parquet(tmp_path / "results.parquet")
    assert not row["fits"][0] and row["shortfall_bytes"][0] > 0
    # Run again into the same folder: the kept results still say so.
    again = pagelab_cli("strategy=dmemfs", "workload=hosting", "strategy.dmem='!1G'", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert again.returncode == 3 and "does not fit" in again.stderr


def test_full_error_shows_the_traceback(tmp_path):
    result = pagelab_cli(
        "strategy=dmemfs", "workload=hosting", "strategy.dmem=1000M", f"hydra.run.dir={tmp_path}",
        cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"},
    )
    assert result.returncode != 0 and "Traceback" in result.stderr
