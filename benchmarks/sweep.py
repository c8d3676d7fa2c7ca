"""A 1,000-job sweep against its ideal on two cores.

    python benchmarks/sweep.py [--jobs 1000] [--repeats 3]

The sweep is the hosting_density preset with as many seeds as make at least ``--jobs``
jobs, on its default launcher (batch) with two workers. Its ideal is the sum of the jobs'
own simulate time over two cores plus one start-up:

- each job's simulate time is ``simulate(RunConfig.of(cfg))`` on that job's config, as ``run_job`` runs it
  (every config composed by the batch composer, which tests/test_batch_compose.py proves
  equal to Hydra's; first calls, which load datasets, included), timed by two processes at once,
  each taking every other job: two jobs compute at a time, as in the sweep, so what two
  busy cores cost each job is in the ideal, and only the launcher's own cost is not. The
  sum from one process alone is reported beside it (``simulate_sum_one_process_s``);
- the start-up is a trivial ``python -m pagelab`` run's wall time less its job's own time.

The sweep runs ``--repeats`` times (fewer than the other rows' five: each takes about half
a minute), each time beside a new measurement of the ideal; the row reports medians.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, Row, median, run

PRESET = "hosting_density"
WORKERS = 2


def seeds_for(jobs: int) -> int:
    """Seeds the preset needs for at least ``jobs`` jobs (its other axes as shipped)."""
    configs = len(_job_overrides(["seed=0"]))
    return math.ceil(jobs / configs)


def _job_overrides(extra: list[str]) -> list[list[str]]:
    from hydra.types import RunMode

    from pagelab.pipeline.compose import hydra_session
    from pagelab.sweep.plan import job_overrides

    with hydra_session() as loader:
        master = loader.load_configuration("config", [f"+experiment={PRESET}", *extra], RunMode.MULTIRUN)
        return job_overrides(master) or []


def simulate_seconds(seeds: int, parts: int) -> tuple[int, float]:
    """(jobs, sum of their warm simulate times): ``parts`` fresh processes at once, each timing
    every ``parts``-th job, so that as many jobs simulate at a time as in the sweep."""
    import subprocess

    commands = [[PYTHON, __file__, "--simulate", str(seeds), str(part), str(parts)] for part in range(parts)]
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in commands]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    if any(p.returncode for p in processes):
        raise RuntimeError("a simulate-time process failed")
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _simulate_all(seeds: int, part: int = 0, parts: int = 1) -> None:
    """Print [jobs, sum of simulate seconds] for every ``parts``-th job from ``part``."""
    from hydra.types import RunMode

    from pagelab.pipeline.compose import hydra_session
    from pagelab.pipeline.config import RunConfig
    from pagelab.pipeline.simulate import simulate
    from pagelab.sweep.compose import BatchComposer, task_config
    from pagelab.sweep.plan import job_overrides

    with hydra_session() as loader:
        master = loader.load_configuration("config", [f"+experiment={PRESET}", f"seed=range(0,{seeds})"],
                                           RunMode.MULTIRUN)
        composer = BatchComposer(loader, master)
        plans = [composer.plan(o, n) for n, o in enumerate(job_overrides(master) or [])][part::parts]

    def config(plan):  # built when needed: a thousand live configs would slow the collector
        return task_config(composer.base(plan.base), plan, composer.cache())

    total = 0.0  # first calls included: each worker makes them too (datasets, plugins)
    for plan in plans:
        cfg = config(plan)
        tic = time.perf_counter()
        simulate(RunConfig.of(cfg))
        total += time.perf_counter() - tic
    print(json.dumps([len(plans), total]))


def startup_seconds(work: Path, repeats: int = 5) -> float:
    """Median start-up of one process: a trivial run's wall time less its job's own time."""
    samples = []
    for n in range(repeats):
        run_dir = work / f"startup{n}"
        wall, _ = run([PYTHON, "-m", "pagelab", "strategy=base4k", "workload=machine", "workload.installed=4M",
                       f"hydra.run.dir={run_dir}"], cwd=work)
        samples.append(wall - json.loads((run_dir / "status.json").read_text())["duration_s"])
    return median(samples)


def sweep_seconds(work: Path, seeds: int, n: int) -> tuple[float, dict[str, float]]:
    """Wall time of one sweep, and when its phases ended (seconds from its start)."""
    sweep = work / f"sweep{n}"
    start = time.time()
    wall, _ = run([PYTHON, "-m", "pagelab", f"+experiment={PRESET}", f"seed=range(0,{seeds})", f"hydra.launcher.n_jobs={WORKERS}",
                   f"hydra.sweep.dir={sweep}"], cwd=work, check=False)
    records = [json.loads(p.read_text()) for p in sweep.glob("*/status.json")]
    if not (sweep / "summary.parquet").exists() or any(r["state"] != "done" for r in records):
        raise RuntimeError(f"the benchmark sweep in {sweep} did not finish")
    from datetime import datetime

    def since(stamp: str) -> float:
        return datetime.fromisoformat(stamp).timestamp() - start

    phases = {
        "sweep_config_saved_s": (sweep / "multirun.yaml").stat().st_mtime - start,
        "first_job_started_s": min(since(r["started"]) for r in records),
        "last_job_finished_s": max(since(r["finished"]) for r in records),
        "job_duration_sum_s": sum(r["duration_s"] for r in records),
    }
    return wall, phases


def measure(jobs: int = 1000, repeats: int = 3) -> Row:
    """The sweep row: median wall over median ideal, side by side ``repeats`` times."""
    seeds = seeds_for(jobs)
    walls, ideals, phases = [], [], []
    count = 0
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-sweep-") as tmp:
        work = Path(tmp)
        for n in range(repeats):
            (work / f"startup{n}").mkdir()
            startup = startup_seconds(work / f"startup{n}")
            count, simulated = simulate_seconds(seeds, WORKERS)
            _, alone = simulate_seconds(seeds, 1)
            ideals.append(simulated / WORKERS + startup)
            wall, phase = sweep_seconds(work, seeds, n)
            walls.append(wall)
            phases.append({**phase, "simulate_sum_s": simulated, "simulate_sum_one_process_s": alone,
                           "startup_s": startup})
    extra = {k: round(median([p[k] for p in phases]), 3) for k in phases[0]}
    return Row(
        name=f"{count}-job sweep ({PRESET}, {seeds} seeds, batch launcher, {WORKERS} workers) / ideal",
        measured_s=median(walls), baseline_s=median(ideals), ratio=median(walls) / median(ideals), budget=2.0,
        repeats=repeats, note=f"ideal: sum of the jobs' simulate time / {WORKERS} + one start-up",
        extra={"jobs": count, **extra},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--simulate", type=int, nargs="+", help=argparse.SUPPRESS)  # the ideal's subprocesses
    args = parser.parse_args()
    if args.simulate is not None:
        _simulate_all(*args.simulate)
        return
    row = measure(args.jobs, args.repeats)
    print(json.dumps(row.to_json(), indent=2))


if __name__ == "__main__":
    main()
