"""Benchmark: the hosting_density preset on N cores with the joblib launcher.

    python benchmarks/sweep_hosting_density.py [--cores 2] [--preset hosting_density]

Compares the sweep's wall time with its ideal on N cores: the sum of the jobs' own
compute time (``duration_s`` in each status.json) / N, plus one process start-up (a
single trivial ``python -m pagelab`` run, less its job's own time). Also measures what
Hydra spends composing one job's config, which every job pays twice (once when the
sweeper validates the batch in the launching process, once in the worker).
Prints one Markdown table; nothing is asserted (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _pagelab(*args: str, cwd: Path) -> float:
    """Run ``python -m pagelab ARGS``; return its wall time in seconds."""
    tic = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pagelab", *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - tic


def _job_seconds(directory: Path) -> float:
    return json.loads((directory / "status.json").read_text())["duration_s"]


def startup_seconds(work: Path, repeats: int = 3) -> float:
    """Median start-up of one process: a trivial run's wall time less its job's own time."""
    samples = []
    for n in range(repeats):
        run_dir = work / f"startup{n}"
        trivial = ("strategy=base4k", "workload=machine", "workload.installed=4M")
        wall = _pagelab(*trivial, f"hydra.run.dir={run_dir}", cwd=work)
        samples.append(wall - _job_seconds(run_dir))
    return statistics.median(samples)


def compose_seconds(repeats: int = 10) -> float:
    """Median time Hydra takes to compose one sweep job's config (hosting workload)."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    from pagelab.config import register_configs

    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", ["workload=hosting"], RunMode.MULTIRUN)
        samples = []
        for n in range(repeats):
            tic = time.perf_counter()
            loader.load_sweep_config(master, ["strategy=dmemfs", f"seed={n}"])
            samples.append(time.perf_counter() - tic)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2, help="joblib workers (default 2)")
    parser.add_argument("--preset", default="hosting_density", help="experiment preset (default hosting_density)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-") as tmp:
        work = Path(tmp)
        startup = startup_seconds(work)
        sweep = work / "sweep"
        wall = _pagelab(
            f"+experiment={args.preset}",
            "hydra/launcher=joblib",
            f"hydra.launcher.n_jobs={args.cores}",
            f"hydra.sweep.dir={sweep}",
            cwd=work,
        )
        jobs = [_job_seconds(status.parent) for status in sweep.glob("*/status.json")]
    compose = compose_seconds()
    ideal = sum(jobs) / args.cores + startup
    print("| preset | cores | jobs | wall s | sum of job compute s | start-up s | ideal s | wall / ideal | "
          "Hydra compose per job s | load avg at start |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.preset} | {args.cores} | {len(jobs)} | {wall:.1f} | {sum(jobs):.2f} | {startup:.2f} | "
          f"{ideal:.2f} | {wall / ideal:.2f} | {compose:.3f} | {load:.1f} |")


if __name__ == "__main__":
    main()
