"""Sweeps: real multiruns through Hydra's launchers, resume after SIGKILL, failures, presets.

Every sweep runs ``python -m pagelab -m ...`` in a subprocess on tiny workloads (the
1991 PC, a bare 4 MiB machine), as a user would.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from omegaconf import OmegaConf

from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.pipeline.job import Job
from pagelab.pipeline.resolvers import catalog_names
from pagelab.pipeline.status import read_status
from pagelab.sweep.collect import collect
from pagelab.sweep.progress import StatusTally

from .conftest import ROOT, kill_sweep_after, pagelab_cli, statuses

SIX_JOBS = ("strategy=base4k,page16k,folio", "workload=pc1991,machine", "workload.installed=4M")
PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
# Each preset cut down to two quick jobs by command-line overrides, which replace its axes.
SHRUNKEN = {
    "crossover": ["strategy=base4k,page64k", "workload.files.dataset=python_venv", "workload.installed=16G", "workload.files.cache=4G"],
    "fleet_overcommit": ["strategy=base4k,dmemfs", "workload.fleet.overcommit_ratio=1.0", "workload.fleet.hosts=2",
                         "workload.fleet.hours=24", "seed=0"],
    "folio_orders": ["workload.files.dataset=irlam_ufs93", "strategy.read_ahead_kb=128", "strategy.max_order=2,9"],
    "dmem_optimum": ["strategy=dmemfs", "workload.guests.dataset=azure_2017", "workload.dmem='!8G','!1G'", "seed=0"],
    "hosting_density": ["strategy=base4k,dmemfs_1g", "workload.guests.dataset=azure_2017", "seed=0"],
    "metadata_vs_ram": ["strategy=base4k,dmemfs", "workload.installed=4M"],
    "pagecache_bloat": ["strategy=base4k,page2m", "workload.files.dataset=irlam_ufs93"],
}


def sweep_cmd(sweep: Path, *overrides: str) -> list[str]:
    return ["-m", *overrides, f"hydra.sweep.dir={sweep}"]


@pytest.mark.parametrize("launcher", ["basic", "joblib", "batch"])
def test_multirun_collects_one_row_per_job(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    extra = [f"hydra/launcher={launcher}", "hydra.launcher.n_jobs=2"] if launcher != "basic" else []
    result = pagelab_cli(*sweep_cmd(sweep, *SIX_JOBS, *extra), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert summary.height == 6
    assert summary["job"].to_list() == [str(n) for n in range(6)]  # each job once, in job order
    assert summary.columns[:4] == ["job", "state", "strategy", "workload"]
    assert set(summary["state"]) == {"done"}
    assert sorted(zip(summary["strategy"], summary["workload"])) == sorted(
        (s, w) for s in ("base4k", "folio", "page16k") for w in ("machine", "pc1991")
    )
    records = statuses(sweep)
    assert len({r["config_hash"] for r in records.values()}) == 6
    # In-process: one process; joblib and batch: their two workers, each running several jobs.
    assert len({r["pid"] for r in records.values()}) <= (1 if launcher == "basic" else 2)
    assert "done" not in result.stderr  # no progress bar when not on a terminal


def test_summary_is_rewritten_identically(tmp_path):
    sweep = tmp_path / "sweep"
    assert pagelab_cli(*sweep_cmd(sweep, "strategy=base4k,page64k", "workload=pc1991"), cwd=tmp_path).returncode == 0
    first = (sweep / "summary.parquet").read_bytes()
    result = pagelab_cli("collect", str(sweep), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 jobs (2 done)" in result.stdout
    assert (sweep / "summary.parquet").read_bytes() == first


def test_submitit_local_runs_a_tiny_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    result = pagelab_cli(
        *sweep_cmd(sweep, "strategy=base4k,page16k", "workload=pc1991", "hydra/launcher=slurm_local"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(sweep / "summary.parquet")["strategy"].to_list() == ["base4k", "page16k"]
    assert (sweep / ".submitit").is_dir()
    assert os.getpid() not in {r["pid"] for r in statuses(sweep).values()}


def test_resume_after_sigkill_repeats_no_finished_job(tmp_path):
    sweep = tmp_path / "sweep"
    args = sweep_cmd(sweep, "strategy=base4k,page16k,page64k", "workload=pc1991", "seed=0,1,2,3")
    kill_sweep_after(args, tmp_path, sweep)
    before = {job: r for job, r in statuses(sweep).items() if r["state"] == "done"}
    assert 3 <= len(before) < 12

    interrupted = collect(sweep)  # `pagelab collect` works on the interrupted sweep too
    assert interrupted.summary.height == len(before)

    result = pagelab_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    after = statuses(sweep)
    assert len(after) == 12 and all(r["state"] == "done" for r in after.values())
    for job, record in before.items():  # finished jobs were skipped, not run again
        assert (after[job]["started"], after[job]["finished"]) == (record["started"], record["finished"])
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert sorted(summary["job"].to_list(), key=int) == [str(n) for n in range(12)]


def test_failed_job_does_not_stop_the_sweep_and_is_listed(tmp_path):
    sweep = tmp_path / "sweep"
    # dmemfs reads workload.dmem; an alignment below a memory section is invalid.
    result = pagelab_cli(
        *sweep_cmd(sweep, "strategy=base4k,dmemfs", "workload=pc1991", "workload.dmem='1G:100M'"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "1 of 2 jobs failed" in result.stderr
    assert "'align' should be 0x8000000 at least" in result.stderr
    assert "Traceback" not in result.stderr
    failed = read_status(sweep / "1")
    assert failed is not None and failed.state == "failed" and "dmem=1G:100M" in failed.error
    assert "\n" not in failed.error
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert summary["strategy"].to_list() == ["base4k"]


def test_collect_summarises_seeds_with_a_student_t_interval(tmp_path):
    sweep = tmp_path / "sweep"
    result = pagelab_cli(*sweep_cmd(sweep, "strategy=base4k,page64k", "workload=pc1991", "seed=0,1,2"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mean [95 % interval] over seeds" in " ".join(result.stdout.split())
    summary = pl.read_parquet(sweep / "summary.parquet")
    seeds = pl.read_parquet(sweep / "seeds.parquet")
    assert seeds["strategy"].to_list() == ["base4k", "page64k"] and seeds["seeds"].to_list() == [3, 3]
    t_975_df2 = 4.303  # Student's t, two-sided 95 %, 2 degrees of freedom (any t table)
    for strategy, row in zip(seeds["strategy"], seeds.iter_rows(named=True), strict=True):
        values = summary.filter(strategy=strategy)["overhead_pct"].to_list()
        mean = sum(values) / 3
        sd = (sum((v - mean) ** 2 for v in values) / 2) ** 0.5
        assert row["overhead_pct_mean"] == pytest.approx(mean)
        assert row["overhead_pct_hi"] - mean == pytest.approx(t_975_df2 * sd / 3**0.5, rel=1e-3)
        assert mean - row["overhead_pct_lo"] == pytest.approx(t_975_df2 * sd / 3**0.5, rel=1e-3)
        assert row["fits_mean"] == 1.0 and row["guests_mean"] is None


def test_a_configuration_that_does_not_fit_is_a_result_not_a_failed_job(tmp_path):
    sweep = tmp_path / "sweep"
    # A 1 GiB kernel share per node cannot hold the hosting workload's 2 GiB reserve.
    result = pagelab_cli(*sweep_cmd(sweep, "strategy=dmemfs", "workload=hosting", "workload.dmem='!16G','!1G'"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = pl.read_parquet(sweep / "summary.parquet")  # job 0: !16G, job 1: !1G
    assert summary["state"].to_list() == ["done", "done"]
    assert summary["fits"].to_list() == [True, False] and summary["shortfall_bytes"][1] > 0


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes(tmp_path, preset):
    result = pagelab_cli(f"+experiment={preset}", "--cfg", "job", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    job = OmegaConf.create(result.stdout)
    assert job.strategy.name and job.workload.name


@pytest.mark.parametrize("preset", sorted(SHRUNKEN))
def test_shrunken_preset_runs(tmp_path, preset):
    sweep = tmp_path / "sweep"
    # The preset sets hydra.mode=MULTIRUN itself: no -m needed.
    result = pagelab_cli(f"+experiment={preset}", *SHRUNKEN[preset], f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert summary.height == 2 and set(summary["state"]) == {"done"}


@pytest.mark.parametrize("launcher", sorted(p.stem for p in (ROOT / "conf" / "hydra" / "launcher").glob("*.yaml")))
def test_launcher_preset_composes(tmp_path, launcher):
    result = pagelab_cli(f"hydra/launcher={launcher}", "--cfg", "hydra", "-p", "hydra.launcher", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "_target_: hydra_plugins." in result.stdout


def test_every_preset_is_tested():
    assert sorted(SHRUNKEN) == PRESETS


def test_strategy_presets_shadow_no_plugin():
    from pagelab.strategies.registry import installed_strategies

    presets = {p.stem for p in (ROOT / "conf" / "strategy").glob("*.yaml")}
    assert presets and not presets & set(installed_strategies())


def test_dataset_resolver_lists_every_catalog_dataset_of_a_kind():
    files = [name for name, card in datasets.catalog().items() if card["kind"] == "files"]
    assert catalog_names("files").split(",") == sorted(files)
    with pytest.raises(PagelabError, match="unknown dataset kind"):
        catalog_names("photos")


def test_sweeps_started_together_get_their_own_directories(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    command = [sys.executable, "-m", "pagelab", "-m", "strategy=base4k", "workload=pc1991"]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL) for _ in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    assert len(list((tmp_path / "multirun").glob("*/*/summary.parquet"))) == 2


def test_another_sweep_into_the_same_dir_is_refused(tmp_path):
    sweep = tmp_path / "sweep"
    assert pagelab_cli(*sweep_cmd(sweep, "strategy=base4k", "workload=pc1991"), cwd=tmp_path).returncode == 0
    before = (sweep / "0" / "results.parquet").read_bytes()
    result = pagelab_cli(*sweep_cmd(sweep, "strategy=page64k", "workload=pc1991"), cwd=tmp_path)
    assert result.returncode == 2
    assert "holds another sweep" in result.stderr and "Traceback" not in result.stderr
    assert (sweep / "0" / "results.parquet").read_bytes() == before


def test_single_run_never_overwrites_another_configs_results(tmp_path):
    run_dir = tmp_path / "run"
    assert pagelab_cli("strategy=base4k", "workload=pc1991", f"hydra.run.dir={run_dir}", cwd=tmp_path).returncode == 0
    before = (run_dir / "results.parquet").read_bytes()
    other = pagelab_cli("strategy=page64k", "workload=pc1991", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert other.returncode == 2
    assert "already holds the results of another configuration" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    again = pagelab_cli("strategy=base4k", "workload=pc1991", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert again.returncode == 0 and "kept them" in again.stderr
    assert (run_dir / "results.parquet").read_bytes() == before


def test_a_changed_config_supersedes_a_sweep_jobs_results(tmp_path):
    first = OmegaConf.create({"strategy": {"name": "base4k"}, "seed": 0})
    job = Job(tmp_path, first, job=0)
    job.run(lambda: (tmp_path / "results.parquet").write_text("first"))
    assert job.is_done()
    second = Job(tmp_path, OmegaConf.create({"strategy": {"name": "base4k"}, "seed": 1}), job=0)
    assert not second.is_done()
    with pytest.raises(PagelabError, match="another configuration"):
        second.make_room(in_sweep=False)
    second.make_room(in_sweep=True)
    [kept] = (tmp_path / "superseded").iterdir()
    assert (kept / "results.parquet").read_text() == "first"
    assert json.loads((kept / "status.json").read_text())["config_hash"] == job.config_hash
    assert not (tmp_path / "results.parquet").exists()


def test_failed_job_records_a_one_line_error(tmp_path):
    job = Job(tmp_path, OmegaConf.create({"seed": 0}), job=3, overrides=["seed=0"])

    def work() -> None:
        raise PagelabError("dmem=x: bad\nsecond line")

    with pytest.raises(PagelabError):
        job.run(work)
    status = read_status(tmp_path)
    assert status is not None and (status.state, status.error, status.job) == ("failed", "dmem=x: bad", 3)
    # A failed job still records when it ran (the resume logic reads these).
    recorded = (status.duration_s, status.started, status.finished)
    assert None not in recorded and status.finished >= status.started


def test_status_tally_counts_fresh_and_done_jobs(tmp_path):
    for job, state in (("0", "done"), ("1", "failed")):  # left by an earlier, interrupted run
        (tmp_path / job).mkdir()
        (tmp_path / job / "status.json").write_text(json.dumps({"state": state}))
    tally = StatusTally(tmp_path, since=time.time() + 1)
    assert tally.counts() == {"done": 1}  # the old failure runs again: not counted yet
    tally.since = 0
    assert tally.counts() == {"done": 1, "failed": 1}


def test_progress_bar_on_a_terminal(tmp_path):
    sweep = tmp_path / "sweep"
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pagelab", *sweep_cmd(sweep, "strategy=base4k,page16k", "workload=pc1991")],
        cwd=tmp_path, env={**env, "COLUMNS": "120"}, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary,
    )
    os.close(secondary)
    output = b""
    while chunk := _read(primary):
        output += chunk
    assert process.wait(timeout=120) == 0
    assert "2/2" in output.decode() and "2 done" in output.decode()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal closed: the sweep exited
        return b""


def test_datasets_are_read_once_per_process(tmp_path):
    path = tmp_path / "sizes.csv"
    path.write_text("size\n4096\n")
    dataset = datasets.resolve(str(path), "files")
    first = datasets.read_table(dataset)
    assert datasets.read_table(dataset) is first  # the second job in a worker reads no file
    path.write_text("size\n8192\n100\n")  # an edited file is read again
    assert datasets.read_table(dataset)["size"].to_list() == [8192, 100]


def test_collect_refuses_a_folder_that_is_not_a_sweep(tmp_path):
    result = pagelab_cli("collect", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    expected = f"pagelab collect: error: {tmp_path}: not a sweep directory (no multirun.yaml; give hydra.sweep.dir)"
    assert result.stderr.strip() == expected
    assert not (tmp_path / "summary.parquet").exists()


# --- locks, Ctrl-C and full disks (issue 16) ---------------------------------------------------

_HOLD_LOCK = """
import sys, time
from pagelab.pipeline import lock
lock.acquire(sys.argv[1], "sweep folder")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_folder_locked_by_a_live_process_is_refused_naming_it(tmp_path):
    from pagelab.pipeline import lock

    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(lock.FolderBusy, match=f"sweep folder {tmp_path} is in use by pagelab pid {holder.pid} "):
            lock.acquire(tmp_path, "sweep folder")
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's flock: the folder is taken over.
    lock.acquire(tmp_path, "sweep folder")
    assert json.loads((tmp_path / lock.LOCK).read_text())["pid"] == os.getpid()
    lock.release(tmp_path)
    assert not (tmp_path / lock.LOCK).exists()


def test_nested_holds_of_one_folder_in_one_process_are_counted(tmp_path):
    from pagelab.pipeline import lock

    with lock.hold(tmp_path), lock.hold(tmp_path):  # the run's callback, then its job
        pass
    assert not (tmp_path / lock.LOCK).exists()


def test_ctrl_c_in_a_job_records_interrupted_and_resume_runs_it(tmp_path):
    cfg = OmegaConf.create({"seed": 0})
    job = Job(tmp_path, cfg, job=0)

    def work() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.run(work)
    status = read_status(tmp_path)
    assert status is not None and status.state == "interrupted" and status.finished is not None
    assert not job.is_done()


def test_killed_workers_jobs_are_marked_interrupted_and_their_temporary_files_go(tmp_path):
    from dataclasses import replace

    from pagelab.pipeline.job import mark_interrupted
    from pagelab.pipeline.status import Status, write_status

    for name, state in (("0", "done"), ("1", "running")):
        (tmp_path / name).mkdir()
        write_status(tmp_path / name, replace(Status(state=state, config_hash="0" * 16, started="t"), pid=1))
    (tmp_path / "1" / ".results.parquet.abc.tmp").write_bytes(b"half")
    assert mark_interrupted([tmp_path / "0", tmp_path / "1"]) == 1
    assert [read_status(tmp_path / n).state for n in ("0", "1")] == ["done", "interrupted"]
    assert not list(tmp_path.rglob("*.tmp"))



def test_a_job_folder_claimed_by_another_process_is_not_run_twice(tmp_path):
    """Two sweeps' workers (a cluster's array task still running after its launcher died)."""
    from pagelab.pipeline import lock

    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    ran = []
    try:
        assert holder.stdout.readline().strip() == "locked"
        job = Job(tmp_path, OmegaConf.create({"seed": 0}), job=0)
        with pytest.raises(lock.FolderBusy, match=f"pid {holder.pid}"), job.claim():
            ran.append(job.run(lambda: 1))
    finally:
        holder.kill()
        holder.wait()
    assert ran == [] and read_status(tmp_path) is None
