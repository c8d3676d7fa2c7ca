"""What bounds ``pagelab figures`` from nothing from below: its sweeps' own model time.

    python benchmarks/figures_floor.py [SWEEP ...]

For each default sweep of pagelab/commands/figure_sweeps.py (all, or those named), every job is
composed by the batch composer (tests/test_batch_compose.py proves it equal to Hydra's) and
``simulate(RunConfig.of(cfg))`` is timed in this one process, first calls included. Prints the jobs, the
summed wall and CPU seconds per sweep, and the total: on two cores the figures run cannot
take less than half of that CPU time, before any launcher cost or drawing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def sweep_seconds(name: str) -> tuple[int, float, float]:
    """(jobs, summed simulate wall seconds, summed CPU seconds) of one default figures sweep."""
    from hydra.types import RunMode

    from pagelab.commands.figure_sweeps import EXPERIMENTS
    from pagelab.pipeline.compose import hydra_session
    from pagelab.pipeline.config import RunConfig
    from pagelab.pipeline.simulate import simulate
    from pagelab.sweep.compose import BatchComposer, task_config
    from pagelab.sweep.plan import job_overrides

    # The sweep's own arguments, less the multirun flag, its folder and its launcher.
    args = [a for a in EXPERIMENTS[name].argv(Path("unused")) if a != "-m"
            and not a.startswith(("hydra.sweep.dir=", "hydra/launcher="))]
    with hydra_session() as loader:
        composer = BatchComposer(loader, loader.load_configuration("config", args, RunMode.MULTIRUN))
        plans = [composer.plan(o, n) for n, o in enumerate(job_overrides(composer.master) or [])]
    wall = cpu = 0.0
    for plan in plans:
        cfg = task_config(composer.base(plan.base), plan, composer.cache())
        tic, cpu_tic = time.perf_counter(), time.process_time()
        simulate(RunConfig.of(cfg))  # as run_job: the task's config typed, then simulated
        wall += time.perf_counter() - tic
        cpu += time.process_time() - cpu_tic
    return len(plans), wall, cpu


def main() -> None:
    from pagelab.commands.figure_sweeps import EXPERIMENTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="*", metavar="SWEEP", help=f"any of {', '.join(EXPERIMENTS)} (default: all)")
    names = parser.parse_args().sweeps or list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown sweep {', '.join(unknown)}")
    print("| sweep | jobs | simulate wall (s) | simulate CPU (s) |\n|---|---|---|---|")
    total = 0.0
    for name in names:
        jobs, wall, cpu = sweep_seconds(name)
        total += cpu
        print(f"| {name} | {jobs} | {wall:.1f} | {cpu:.1f} |", flush=True)
    print(f"\ntotal simulate CPU: {total:.1f} s; on 2 cores at least {total / 2:.1f} s of wall time")


if __name__ == "__main__":
    main()
