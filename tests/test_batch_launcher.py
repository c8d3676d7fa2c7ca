"""The batch launcher (``hydra/launcher=batch``): the same results as Hydra's launchers, faster.

Every sweep runs ``python -m pagelab`` in a subprocess, as a user would: real Hydra,
real loky workers, real files, real SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from pagelab.pipeline.status import read_status
from pagelab.sweep.collect import collect

from .conftest import ROOT, kill_sweep_after, pagelab_cli, statuses

BATCH = ("hydra/launcher=batch", "hydra.launcher.n_jobs=2")
PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
# Two presets cut down by command-line overrides (which replace their axes), with seeds.
EQUAL = {
    "hosting_density": ["strategy=base4k,dmemfs,hvo", "workload.guests.dataset=azure_2017,bitbrains_rnd_2013", "seed=0,1"],
    "metadata_vs_ram": ["strategy=base4k,page64k,dmemfs", "workload.installed=4M,16G,4T"],
}


def run_ok(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = pagelab_cli(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("preset", sorted(EQUAL))
def test_summary_equals_the_basic_launchers_byte_for_byte(tmp_path, preset):
    sweeps = {launcher: tmp_path / launcher for launcher in ("basic", "batch")}
    for launcher, sweep in sweeps.items():
        run_ok(f"+experiment={preset}", *EQUAL[preset], f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}",
               cwd=tmp_path)
    basic, batch = (collect(sweep, write=False) for sweep in sweeps.values())
    assert basic.summary.height == batch.summary.height > 1
    for name in ("summary.parquet", "seeds.parquet"):
        assert (sweeps["batch"] / name).read_bytes() == (sweeps["basic"] / name).read_bytes(), name
    records = {launcher: statuses(sweep) for launcher, sweep in sweeps.items()}
    assert records["batch"].keys() == records["basic"].keys()
    for job, record in records["basic"].items():
        mine = records["batch"][job]
        assert (mine["config_hash"], mine["overrides"], mine["job"], mine["state"]) == (
            record["config_hash"], record["overrides"], record["job"], record["state"]
        )
        assert (sweeps["batch"] / job / "results.parquet").read_bytes() == (
            sweeps["basic"] / job / "results.parquet"
        ).read_bytes()


def test_every_preset_runs_on_the_batch_launcher(tmp_path):
    for preset in PRESETS:
        result = run_ok(f"+experiment={preset}", "--cfg", "hydra", "-p", "hydra.launcher", cwd=tmp_path)
        assert "_target_: hydra_plugins.pagelab_launcher.batch_launcher.BatchLauncher" in result.stdout, preset


def test_runtime_fields_and_job_files_are_hydras_own(tmp_path):
    # The joblib launcher runs the sweep; the batch launcher resumes it (every job is
    # done, so it only rewrites each job's .hydra/), and the two sets of files compare.
    sweep = tmp_path / "sweep"
    common = ("-m", "strategy=base4k,page64k", "workload=pc1991,machine", f"hydra.sweep.dir={sweep}")
    run_ok(*common, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    shutil.copytree(sweep, tmp_path / "joblib")
    before = statuses(sweep)
    result = run_ok(*common, *BATCH, "hydra.launcher.save_job_configs=true", cwd=tmp_path)
    assert "done earlier with the same config, skipped" in result.stdout
    assert statuses(sweep) == before
    for job in before:
        ours, theirs = sweep / job / ".hydra", tmp_path / "joblib" / job / ".hydra"
        for name in ("config.yaml", "overrides.yaml"):
            assert (ours / name).read_text() == (theirs / name).read_text(), (job, name)
        mine, hydra = (yaml.safe_load((d / "hydra.yaml").read_text())["hydra"] for d in (ours, theirs))
        assert mine["job"]["id"] == hydra["job"]["id"] == f"pagelab_{job}"
        assert mine["runtime"]["output_dir"] == hydra["runtime"]["output_dir"] == str(sweep / job)
        # What legitimately differs: which launcher ran, and how it was chosen.
        for node in (mine, hydra):
            del node["launcher"], node["runtime"]["choices"]["hydra/launcher"]
            node["overrides"]["hydra"] = [o for o in node["overrides"]["hydra"] if "launcher" not in o]
        assert mine == hydra, job


def test_no_job_files_by_default_and_the_bases_recorded_once(tmp_path):
    sweep = tmp_path / "sweep"
    run_ok("-m", "strategy=base4k,page16k", "workload=pc1991", "seed=0,1,2", *BATCH, "hydra.launcher.chunk_size=1",
           f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert not list(sweep.glob("*/.hydra"))
    records = statuses(sweep)
    assert len(records) == 6 and {r["state"] for r in records.values()} == {"done"}
    # Six one-job chunks on two workers that live for the whole sweep.
    assert len({r["pid"] for r in records.values()}) <= 2 and os.getpid() not in {r["pid"] for r in records.values()}
    bases = yaml.safe_load((sweep / "composed.yaml").read_text())["bases"]
    assert sorted(b["overrides"][0] for b in bases) == ["strategy=base4k", "strategy=page16k"]
    assert sorted(job for b in bases for job in b["jobs"]) == list(range(6))
    assert all(b["config"]["hydra"]["job"]["name"] == "pagelab" for b in bases)


def test_resume_after_sigkill_runs_every_job_exactly_once(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "strategy=base4k,page16k,page64k", "workload=pc1991", "seed=range(0,20)", *BATCH,
            "hydra.launcher.chunk_size=1", f"hydra.sweep.dir={sweep}"]
    kill_sweep_after(args, tmp_path, sweep)  # the launcher and its workers
    killed_at = time.time()
    before = {job: r for job, r in statuses(sweep).items() if r["state"] == "done"}
    assert 3 <= len(before) < 60
    assert collect(sweep).summary.height == len(before)  # `pagelab collect` reads the interrupted sweep

    run_ok(*args, cwd=tmp_path)
    after = statuses(sweep)
    assert len(after) == 60 and all(r["state"] == "done" for r in after.values())
    for job, record in after.items():
        if job in before:  # finished before the kill: skipped, not run again
            assert (record["started"], record["finished"]) == (before[job]["started"], before[job]["finished"])
        else:  # ran once, after the kill
            assert record["started"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(killed_at - 1))
    assert not list(sweep.glob("*/superseded"))  # no job's results were replaced
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert sorted(summary["job"].to_list(), key=int) == [str(n) for n in range(60)]


def test_a_failed_job_is_one_line_and_a_misfit_is_a_result(tmp_path):
    sweep = tmp_path / "failing"
    result = pagelab_cli("-m", "strategy=base4k,dmemfs", "workload=pc1991", "workload.dmem='1G:100M'", *BATCH,
                         f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 1
    assert "pagelab: job 1 failed: " in result.stderr and "'align' should be 0x8000000 at least" in result.stderr
    assert "1 of 2 jobs failed" in result.stderr and "Traceback" not in result.stderr
    failed = read_status(sweep / "1")
    assert failed is not None and failed.state == "failed" and "\n" not in (failed.error or "")
    assert pl.read_parquet(sweep / "summary.parquet")["strategy"].to_list() == ["base4k"]

    sweep = tmp_path / "misfit"
    run_ok("-m", "strategy=dmemfs", "workload=hosting", "workload.dmem='!16G','!1G'", *BATCH,
           f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert summary["state"].to_list() == ["done", "done"] and summary["fits"].to_list() == [True, False]


def test_a_misspelt_override_is_refused_as_hydra_refuses_it(tmp_path):
    outputs = {}
    for launcher in ("basic", "batch"):
        result = pagelab_cli("-m", "strategy=base4k,page16k", "workload=pc1991", "strategy.pagesize=4K",
                             f"hydra/launcher={launcher}", f"hydra.sweep.dir={tmp_path / launcher}", cwd=tmp_path)
        # Bad input: one line, exit 2 (issue 16), from either launcher alike.
        assert result.returncode == 2 and not list((tmp_path / launcher).glob("*/status.json"))
        assert len(result.stderr.strip().splitlines()) == 1
        outputs[launcher] = result.stderr.strip().splitlines()[0]
    assert outputs["batch"] == outputs["basic"] and "pagesize" in outputs["basic"]


def test_a_bad_launcher_option_is_one_line_exit_2(tmp_path):
    result = pagelab_cli("-m", "strategy=base4k", "workload=pc1991", "hydra/launcher=batch", "hydra.launcher.backend=ray",
                         f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "pagelab: error: hydra.launcher.backend: unknown 'ray'; choose one of joblib, submitit"
    assert not (tmp_path / "sweep" / "multirun.yaml").exists()


def test_chunks_go_to_submitit(tmp_path):
    sweep = tmp_path / "sweep"
    run_ok("-m", "strategy=base4k,page16k,folio", "workload=pc1991", "hydra/launcher=batch",
           "hydra.launcher.backend=submitit", "hydra.launcher.submitit.cluster=local", "hydra.launcher.chunk_size=2",
           f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert pl.read_parquet(sweep / "summary.parquet")["strategy"].to_list() == ["base4k", "page16k", "folio"]
    pids = {r["pid"] for r in statuses(sweep).values()}
    assert len(pids) == 2 and os.getpid() not in pids  # two chunks, two array jobs
    assert len([p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]) == 2


def test_job_callbacks_see_what_they_see_under_hydras_launcher(tmp_path):
    probes = {}
    for launcher in ("joblib", "batch"):
        sweep = tmp_path / launcher
        result = pagelab_cli("-m", "strategy=base4k,page64k", "workload=pc1991", "seed=3,4", f"hydra/launcher={launcher}",
                             "hydra.launcher.n_jobs=2", "+hydra.callbacks.probe._target_=tests.job_probe.JobProbe",
                             f"hydra.sweep.dir={sweep}", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, result.stderr
        probes[launcher] = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/probe.json")}
    assert len(probes["batch"]) == 4 and probes["batch"] == probes["joblib"]
    assert probes["batch"]["2"] == {"started": 2, "num": 2, "id": "pagelab_2", "status": "COMPLETED",
                                    "overrides": ["strategy=page64k", "workload=pc1991", "seed=3"], "seed": 3,
                                    "hydra_cfg_job_num": 2}
