"""Hostile input (issue 16): one table of bad, huge, concurrent and interrupted runs.

Every case runs pagelab as a user would (``python -m pagelab ...`` in a fresh folder, or
a notebook's ``pagelab.run`` in a child process) and asserts the exit code, the phrase
its one line on stderr must contain, no traceback, no partial file (no ``*.tmp`` left,
no results next to a refused run) and that every job recorded ``done`` still has its
results.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import statuses

PYTHON = sys.executable
GiB = 1 << 30


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "PAGELAB_ALLOW_EXTRA_KEYS")}


@dataclass
class Outcome:
    returncode: int
    stderr: str
    keeps_results: bool = False  # the case's results are expected (a fit, a resume)
    damaged_on_purpose: bool = False  # the case broke a finished job's results itself


def _cli(args: list[str], cwd: Path, *, limit_as: int | None = None, timeout: float = 120) -> Outcome:
    def limit() -> None:  # the test's own ceiling on the child's address space
        if limit_as:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))

    # The address space a process reserves grows with its threads: fix polars' pool so that
    # the ceiling means the same on every machine.
    env = {**_env(), "POLARS_MAX_THREADS": "2"} if limit_as else _env()
    done = subprocess.run([PYTHON, "-m", "pagelab", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit if limit_as else None)
    return Outcome(done.returncode, done.stderr)


# --- data the cases read -------------------------------------------------------------------

def _datasets(root: Path) -> None:
    pl.DataFrame({"memory_bytes": [4 * GiB, 8 * GiB], "vcpus": [0, 2]}).write_csv(root / "vms_vcpu0.csv")
    pl.DataFrame({"memory_bytes": [0, 0], "vcpus": [1, 2]}).write_csv(root / "vms_zero.csv")
    pl.DataFrame({"memory_bytes": [1 << 50], "vcpus": [4]}).write_csv(root / "vms_pib.csv")  # one 1 PiB VM
    pl.DataFrame({"memory_bytes": [1 << 62], "vcpus": [4]}).write_csv(root / "vms_2_62.csv")
    pl.DataFrame({"memory_bytes": [4 * GiB], "vcpus": [4], "count": [0]}).write_csv(root / "vms_count0.csv")
    pl.DataFrame({"size": [1 << 62]}).write_csv(root / "files_2_62.csv")
    # 4 x 2^62 = 2^64 bytes: wraps Int64 to 0 if anything multiplies in Int64.
    pl.DataFrame({"size": [1 << 62], "count": [4]}).write_csv(root / "files_over.csv")
    pl.DataFrame({"size": [4096], "count": [0]}).write_csv(root / "files_count0.csv")
    (root / "neg.csv").write_text("size\n-5\n")
    (root / "text.csv").write_text("size\nabc\n")
    (root / "empty.csv").write_text("size\n")
    (root / "nosize.csv").write_text("bytes\n5\n")
    (root / "float.csv").write_text("size\n1.5\n")
    (root / "lines.txt").write_text("100\n-3\n")
    (root / "bad.parquet").write_bytes(b"PAR1 not really parquet")
    (root / "a_file").write_text("x\n")


# --- a hand-made sweep for collect -----------------------------------------------------------

@pytest.fixture(scope="module")
def results_row() -> pl.DataFrame:
    import pagelab

    return pagelab.run(["strategy=base4k", "workload=pc1991"])


def _sweep_of(root: Path, row: pl.DataFrame, jobs: int = 3) -> Path:
    """A sweep folder with ``jobs`` finished jobs, as a sweep leaves them."""
    sweep = root / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    for job in range(jobs):
        directory = sweep / str(job)
        directory.mkdir()
        row.with_columns(pl.lit(job, pl.Int64).alias("seed")).write_parquet(directory / "results.parquet")
        (directory / "status.json").write_text(json.dumps({
            "state": "done", "config_hash": f"{job:016x}", "started": "2026-01-01T00:00:00.000000+00:00",
            "job": job, "overrides": [f"seed={job}"],
        }))
    return sweep


def _collect_case(damage: Callable[[Path], None]) -> Callable[[Path, pl.DataFrame], Outcome]:
    def case(root: Path, row: pl.DataFrame) -> Outcome:
        sweep = _sweep_of(root, row)
        damage(sweep)
        outcome = _cli(["collect", str(sweep)], root)
        summary = pl.read_parquet(sweep / "summary.parquet")
        assert summary["job"].to_list() == ["0", "2"], "the intact jobs are summarised, the bad one left out"
        assert summary.schema["seed"] == pl.Int64, "one odd job must not turn a column into text"
        assert summary.schema["workload.nodes"] == pl.Int64
        outcome.keeps_results = outcome.damaged_on_purpose = True
        return outcome

    return case


def _corrupt(sweep: Path) -> None:
    (sweep / "1" / "results.parquet").write_bytes(b"PAR1 garbage")


def _foreign(sweep: Path) -> None:
    pl.DataFrame({"a": [1]}).write_parquet(sweep / "1" / "results.parquet")


def _retyped(sweep: Path) -> None:
    path = sweep / "1" / "results.parquet"
    pl.read_parquet(path).with_columns(pl.col("workload.nodes").cast(pl.String)).write_parquet(path)


def _collect_all_bad(root: Path, row: pl.DataFrame) -> Outcome:
    sweep = _sweep_of(root, row, jobs=1)
    (sweep / "0" / "results.parquet").write_bytes(b"x")
    outcome = _cli(["collect", str(sweep)], root)
    assert not (sweep / "summary.parquet").exists(), "no summary of nothing"
    outcome.keeps_results = outcome.damaged_on_purpose = True
    return outcome


# --- concurrency, signals, full disks --------------------------------------------------------

def _wait_for(predicate: Callable[[], bool], process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, f"the first process ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _lock_owner(directory: Path) -> int | None:
    try:
        return json.loads((directory / ".pagelab.lock").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def _two_runs_into_one_folder(root: Path, row: pl.DataFrame) -> Outcome:
    """The second run into a hydra.run.dir in use is refused; the first one's result is whole."""
    run_dir = root / "run"
    first = subprocess.Popen([PYTHON, "-m", "pagelab", "strategy=base4k", "workload=laptop", f"hydra.run.dir={run_dir}"],
                             cwd=root, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _lock_owner(run_dir) == first.pid, first, "it locked its folder")
        first.send_signal(signal.SIGSTOP)  # hold it inside its run, whatever the machine's speed
        second = _cli(["strategy=page64k", "workload=laptop", f"hydra.run.dir={run_dir}"], root)
        assert str(first.pid) in second.stderr, "the refusal names the process in the way"
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert pl.read_parquet(run_dir / "results.parquet")["strategy"][0] == "base4k"
    second.keeps_results = True
    return second


def _stale_lock_is_taken_over(root: Path, row: pl.DataFrame) -> Outcome:
    run_dir = root / "run"
    run_dir.mkdir()
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (run_dir / ".pagelab.lock").write_text(json.dumps({"pid": int(dead.stdout), "host": "x", "command": "gone"}))
    outcome = _cli(["strategy=base4k", "workload=pc1991", f"hydra.run.dir={run_dir}"], root)
    assert (run_dir / "results.parquet").exists() and not (run_dir / ".pagelab.lock").exists()
    outcome.keeps_results = True
    return outcome


# 16 jobs of about half a second each: long enough to be interrupted after 3, short to resume.
SWEEP = ["-m", "strategy=base4k,page16k", "workload=laptop", "seed=range(0,8)"]
JOBS = 16
BATCH = ["hydra/launcher=batch", "hydra.launcher.n_jobs=2"]


def _two_sweeps_into_one_folder(root: Path, row: pl.DataFrame) -> Outcome:
    sweep = root / "sweep"
    first = subprocess.Popen([PYTHON, "-m", "pagelab", *SWEEP, f"hydra.sweep.dir={sweep}"], cwd=root, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(statuses(sweep)) >= 2, first, "two jobs started")
        first.send_signal(signal.SIGSTOP)
        second = _cli([*SWEEP, f"hydra.sweep.dir={sweep}"], root)
        assert str(first.pid) in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
        first.kill()
        first.wait()
    second.keeps_results = True
    return second


def _interrupt(launcher: list[str], signum: int, *, group: bool) -> Callable[[Path, pl.DataFrame], Outcome]:
    """Ctrl-C (or SIGKILL) a sweep once jobs finished; check the records, then resume it."""

    def case(root: Path, row: pl.DataFrame) -> Outcome:
        sweep = root / "sweep"
        args = [*SWEEP, *launcher, f"hydra.sweep.dir={sweep}"]
        process = subprocess.Popen([PYTHON, "-m", "pagelab", *args], cwd=root, env=_env(), start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: sum(s["state"] == "done" for s in statuses(sweep).values()) >= 3, process, "3 jobs were done")
        if group:
            os.killpg(process.pid, signum)  # a terminal's Ctrl-C reaches every process of the group
        else:
            process.send_signal(signum)
        stderr = process.communicate(timeout=120)[1]
        if signum == signal.SIGKILL and _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)  # loky's workers, if any outlived their parent
        states = {s["state"] for s in statuses(sweep).values()}
        if signum == signal.SIGINT:
            assert "running" not in states, "an interrupted job says so"
            assert "interrupted" in states or states == {"done"}
        done_before = {job for job, s in statuses(sweep).items() if s["state"] == "done"}
        started = {job: s["started"] for job, s in statuses(sweep).items() if s["state"] == "done"}
        resumed = _cli([*SWEEP, *BATCH, f"hydra.sweep.dir={sweep}"], root)  # the launcher may change on resume
        assert resumed.returncode == 0, resumed.stderr
        after = statuses(sweep)
        assert len(after) == JOBS and {s["state"] for s in after.values()} == {"done"}
        assert all(after[job]["started"] == started[job] for job in done_before), "finished jobs are not run again"
        return Outcome(process.returncode, stderr, keeps_results=True)

    return case


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _tmpfs(root: Path, size: str) -> Path:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = root / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return mount


def _fill(mount: Path, leave: int) -> None:
    """Fill the file system but for about ``leave`` bytes."""
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    with open(mount / "filler", "wb") as filler:
        filler.write(b"\0" * max(free - leave, 0))


def _on_full_disk(args: list[str], leave: int) -> Callable[[Path, pl.DataFrame], Outcome]:
    def case(root: Path, row: pl.DataFrame) -> Outcome:
        mount = _tmpfs(root, "1m")
        try:
            _fill(mount, leave)
            outcome = _cli([*(a.replace("{out}", str(mount / "out")) for a in args)], root)
            _assert_consistent(mount / "out")
            assert not list(mount.rglob("*.tmp")), "temporary files are removed"
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)
        return outcome

    return case


def _assert_consistent(folder: Path) -> None:
    """No record that contradicts the files beside it."""
    for status in folder.rglob("status.json"):
        state = json.loads(status.read_text())["state"]
        has_results = (status.parent / "results.parquet").exists()
        assert state != "running", f"{status}: 'running' after the process ended"
        assert state != "done" or has_results, f"{status}: 'done' without results"


_NOTEBOOK = """
import sys, pagelab
from pagelab.errors import PagelabError
try:
    pagelab.run({arg})
except PagelabError as error:
    print(f"pagelab: error: {{error}}", file=sys.stderr)
    sys.exit(2)
"""


def _notebook(arg: str) -> Callable[[Path, pl.DataFrame], Outcome]:
    def case(root: Path, row: pl.DataFrame) -> Outcome:
        done = subprocess.run([PYTHON, "-c", _NOTEBOOK.format(arg=arg)], cwd=root, env=_env(), capture_output=True,
                              text=True, timeout=120)
        return Outcome(done.returncode, done.stderr)

    return case


def _with_memory_ceiling(args: list[str], ceiling: int) -> Callable[[Path, pl.DataFrame], Outcome]:
    def case(root: Path, row: pl.DataFrame) -> Outcome:
        return _cli(args, root, limit_as=ceiling)

    return case


def _figures_interrupted(root: Path, row: pl.DataFrame) -> Outcome:
    process = subprocess.Popen([PYTHON, "-m", "pagelab", "figures", "--out", str(root / "figs")], cwd=root,
                               env=_env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(4)  # the default sweeps take minutes
    assert process.poll() is None, "figures ended before it was interrupted"
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    return Outcome(process.returncode, stderr)


def _measure_interrupted(root: Path, row: pl.DataFrame) -> Outcome:
    process = subprocess.Popen([PYTHON, "-m", "pagelab", "measure", "pagecache", "--dataset", "linux_6_1",
                                "--sample", "50000", "-o", str(root / "census.parquet")], cwd=root, env=_env(),
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # 2,000 files take about 3 s here: 50,000 are still being read
    assert process.poll() is None, "the measurement ended before it was interrupted"
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    assert not (root / "census.parquet").exists(), "no census of a measurement cut short"
    return Outcome(process.returncode, stderr)


# --- the table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    run: list[str] | Callable[[Path, pl.DataFrame], Outcome]
    code: int
    phrase: str


CASES = [
    # parameters
    Case("unknown-strategy", ["strategy=nosuch"], 2, "unknown strategy 'nosuch'"),
    Case("unknown-workload", ["workload=nosuch"], 2, "workload=nosuch"),
    Case("seed-negative", ["seed=-1"], 2, "seed"),
    Case("seed-text", ["seed=abc"], 2, "seed"),
    Case("seed-huge", ["seed=1e30"], 2, "seed"),
    Case("plus-typo-top", ["+sed=5"], 2, "sed"),
    Case("plus-typo-nested", ["+workload.instaled=32G"], 2, "workload.instaled"),
    Case("unknown-subcommand", ["nosuchcmd"], 2, "unknown subcommand"),
    Case("installed-zero", ["workload.installed=0"], 2, "workload.installed"),
    Case("installed-negative", ["workload.installed=-4G"], 2, "workload.installed"),
    Case("installed-text", ["workload.installed=abc"], 2, "workload.installed"),
    Case("nodes-zero", ["workload.nodes=0"], 2, "workload.nodes"),
    Case("node-sizes-mismatch", ["workload.node_sizes=[1G,1G]"], 2, "workload.node_sizes"),
    Case("memory-model", ["workload.memory_model=nope"], 2, "workload.memory_model"),
    Case("cache-percent", ["workload.files.cache=150%"], 2, "workload.files.cache"),
    Case("cache-text", ["workload.files.cache=abc"], 2, "workload.files.cache"),
    Case("thp", ["workload.thp=sometimes"], 2, "workload.thp"),
    Case("memory-only-all", ["workload.memory_only_nodes=[0]"], 2, "workload.memory_only_nodes"),
    Case("policy", ["workload=hosting", "workload.guests.policy=worst"], 2, "workload.guests.policy"),
    Case("candidates-zero", ["workload=hosting", "workload.guests.candidates=0"], 2, "workload.guests.candidates"),
    Case("page-size", ["strategy=page16k", "strategy.page_size=3K"], 2, "strategy.page_size"),
    Case("read-size", ["strategy=folio", "strategy.read_size=0"], 2, "read_size"),
    Case("dpage-size", ["strategy=dmemfs", "workload=hosting", "strategy.dpage_size=3M"], 2, "strategy.dpage_size"),
    Case("dmem-align", ["strategy=dmemfs", "workload=hosting", "workload.dmem=3G:7M"], 2, "dmem=3G:7M"),
    Case("dmem-text", ["strategy=dmemfs", "workload=hosting", "workload.dmem=abc"], 2, "dmem=abc"),
    # a share or reserve larger than its node: both sizes named, never 0 guests and exit 0
    Case("dmem-share-above-node", ["strategy=dmemfs", "workload=hosting", "workload.dmem='!200G'"], 2,
         "200.0 GiB is not smaller than node 0's 159.9 GiB"),
    Case("hvo-pool-above-node", ["strategy=hvo", "workload=hosting", "strategy.pool=boot", "workload.dmem='!200G'"], 2,
         "200.0 GiB is not smaller than node 0's"),
    Case("reserve-above-node", ["workload=hosting", "workload.reserve=400G"], 2, "400.0 GiB per node is larger than node 0's 160.0 GiB"),
    Case("shortfall-exits-3", ["workload.anon.total=32G"], 3, "does not fit"),
    # datasets
    Case("dataset-missing", ["workload.files.dataset=nosuch"], 2, "workload.files.dataset=nosuch"),
    Case("dataset-negative", ["workload.files.dataset=neg.csv"], 2, "neg.csv: row 1, column 'size'"),
    Case("dataset-text", ["workload.files.dataset=text.csv"], 2, "text.csv: row 1"),
    Case("dataset-empty", ["workload.files.dataset=empty.csv"], 2, "empty.csv"),
    Case("dataset-no-size", ["workload.files.dataset=nosize.csv"], 2, "missing column 'size'"),
    Case("dataset-float", ["workload.files.dataset=float.csv"], 2, "float.csv: row 1"),
    Case("dataset-lines", ["workload.files.dataset=lines.txt"], 2, "lines.txt: row 2"),
    Case("dataset-corrupt-parquet", ["workload.files.dataset=bad.parquet"], 2, "bad.parquet"),
    Case("files-count-zero", ["workload.files.dataset=files_count0.csv"], 2, "files_count0.csv: column 'count'"),
    Case("vms-vcpus-zero", ["workload=hosting", "workload.guests.dataset=vms_vcpu0.csv"], 2,
         "vms_vcpu0.csv: row 1, column 'vcpus'"),
    Case("vms-all-zero", ["workload=hosting", "workload.guests.dataset=vms_zero.csv"], 2, "every drawn size is 0"),
    Case("vms-count-zero", ["workload=hosting", "workload.guests.dataset=vms_count0.csv"], 2, "vms_count0.csv"),
    # overflow and unbounded work: computed exactly or refused, never wrapped or looping
    Case("vm-of-1-pib", ["workload=hosting", "workload.guests.dataset=vms_pib.csv"], 2, "above 64 TiB"),
    Case("vm-of-2-62", ["workload=hosting", "workload.guests.dataset=vms_2_62.csv"], 2, "above 64 TiB"),
    Case("file-of-2-62", ["workload.files.dataset=files_2_62.csv"], 2, "above 64 TiB"),
    Case("size-times-count-overflow", ["workload.files.dataset=files_over.csv", "workload.files.cache=all"], 2,
         "add up to more than 2 EiB"),
    Case("machine-64-pib", ["workload=hosting", "workload.installed=64P"], 2, "20,000,000 draws"),
    Case("budget-above-2-eib", ["workload=hosting", "workload.installed=1E"], 2, "above 2 EiB"),
    # A 64 TiB laptop under a 2 GiB address-space ceiling (a 1991 PC's run fails under 1 GiB and
    # runs under 1.5 GiB: polars' and numpy's reservations): refused, in memory of the data's size.
    Case("huge-machine-memory-ceiling", _with_memory_ceiling(["workload.installed=64T"], 2 * GiB), 2, "20,000,000 draws"),
    Case("big-machine-memory-ceiling", _with_memory_ceiling(["workload=hosting", "workload.installed=4T"], 2 * GiB), 0, ""),
    # launcher options
    Case("batch-backend", ["-m", "seed=0,1", "hydra/launcher=batch", "hydra.launcher.backend=ray"], 2, "hydra.launcher.backend"),
    Case("batch-n-jobs", ["-m", "seed=0,1", "hydra/launcher=batch", "hydra.launcher.n_jobs=0"], 2, "hydra.launcher.n_jobs"),
    # notebook API
    Case("notebook-string", _notebook("'strategy=base4k'"), 2, "list of strings"),
    Case("notebook-seed", _notebook("['seed=-1']"), 2, "seed"),
    Case("notebook-overflow", _notebook("['workload.files.dataset=files_over.csv', 'workload.files.cache=all']"), 2,
         "add up to more than 2 EiB"),
    Case("notebook-vcpus", _notebook("['workload=hosting', 'workload.guests.dataset=vms_vcpu0.csv']"), 2, "'vcpus'"),
    # subcommands
    Case("collect-no-dir", ["collect", "nosuchdir"], 2, "nosuchdir"),
    Case("collect-not-a-sweep", ["collect", "."], 2, "not a sweep directory"),
    Case("collect-a-file", ["collect", "a_file"], 2, "a_file"),
    Case("collect-corrupt-results", _collect_case(_corrupt), 1, "1/results.parquet: not a readable Parquet file"),
    Case("collect-foreign-results", _collect_case(_foreign), 1, "1/results.parquet: not a pagelab results row"),
    Case("collect-retyped-column", _collect_case(_retyped), 1, "column 'workload.nodes' is String"),
    Case("collect-nothing-readable", _collect_all_bad, 1, "0/results.parquet"),
    Case("figures-no-results", ["figures", "--results", "nosuchdir"], 2, "nosuchdir"),
    Case("figures-unknown-figure", ["figures", "--only", "nosuch", "--results", "."], 2, "unknown figure nosuch"),
    Case("datasets-extra-argument", ["datasets", "nosuch"], 2, "nosuch"),
    Case("plugins-bad-flag", ["plugins", "--nosuch"], 2, "--nosuch"),
    Case("scan-missing-dir", ["scan", "nosuchdir", "-o", "x.parquet"], 2, "nosuchdir"),
    Case("scan-proc", ["scan", "/proc", "-o", "x.parquet"], 2, "/proc"),
    Case("scan-plain-file", ["scan", "a_file", "-o", "x.parquet"], 2, "a_file"),
    Case("scan-procs-bad-flag", ["scan-procs", "--pid", "1", "-o", "x.parquet"], 2, "--pid"),
    Case("measure-unknown", ["measure", "nosuch"], 2, "nosuch"),
    Case("measure-both-inputs", ["measure", "pagecache", "a_file", "--dataset", "linux_6_1"], 2, "not both"),
    # concurrency and locks
    Case("two-runs-one-folder", _two_runs_into_one_folder, 2, "is in use by pagelab pid"),
    Case("stale-lock-taken-over", _stale_lock_is_taken_over, 0, ""),
    Case("two-sweeps-one-folder", _two_sweeps_into_one_folder, 2, "sweep folder"),
    # signals
    Case("sigint-basic-sweep", _interrupt([], signal.SIGINT, group=True), 130, "interrupted"),
    Case("sigint-batch-sweep-workers", _interrupt(BATCH, signal.SIGINT, group=True), 130, "interrupted"),
    Case("sigint-batch-sweep-parent-only", _interrupt(BATCH, signal.SIGINT, group=False), 130, "interrupted"),
    Case("sigkill-batch-sweep", _interrupt(BATCH, signal.SIGKILL, group=True), -signal.SIGKILL, ""),
    Case("sigint-figures", _figures_interrupted, 130, "interrupted"),
    Case("sigint-measure", _measure_interrupted, 130, "interrupted"),
    # full disks
    Case("full-disk-run-records", _on_full_disk(["workload=pc1991", "hydra.run.dir={out}", "hydra.output_subdir=null",
                                                 "hydra/job_logging=disabled"], 2048), 2, "No space left on device"),
    Case("full-disk-run", _on_full_disk(["workload=pc1991", "hydra.run.dir={out}"], 2048), 2, "No space left on device"),
    Case("full-disk-sweep", _on_full_disk(["-m", "workload=pc1991", "seed=0,1", "hydra.sweep.dir={out}",
                                           "hydra/job_logging=disabled"], 12 * 1024), 2, "No space left on device"),
]


def _params() -> list:
    return [pytest.param(case, id=case.id) for case in CASES]


def test_the_table_is_large_enough():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", _params())
def test_hostile_input(case: Case, tmp_path: Path, results_row: pl.DataFrame) -> None:
    _datasets(tmp_path)
    before = _files(tmp_path)
    outcome = case.run(tmp_path, results_row) if callable(case.run) else _cli(case.run, tmp_path)
    assert outcome.returncode == case.code, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    assert case.phrase in outcome.stderr, outcome.stderr[-2000:]
    if case.code in (2, 130) and case.phrase:
        said = [line for line in outcome.stderr.splitlines() if case.phrase in line]
        assert len(said) == 1, f"one line says it: {outcome.stderr[-2000:]}"
    written = _files(tmp_path) - before
    assert not [p for p in written if p.name.endswith(".tmp")], "no partial file"
    if case.code == 2 and not outcome.keeps_results:
        assert not [p for p in written if p.name == "results.parquet"], "a refused run writes no results"
    if outcome.damaged_on_purpose:
        return
    for status in tmp_path.rglob("status.json"):  # every finished job is still intact
        if json.loads(status.read_text())["state"] == "done":
            pl.read_parquet(status.parent / "results.parquet")
