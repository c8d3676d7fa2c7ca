"""What a sweep job costs around its own simulate time, item by item.

    python benchmarks/job_costs.py [--repeats 200]

One job of the hosting_density preset is composed by the batch composer (as the batch
launcher composes it), and each step a worker takes for it besides ``simulate`` is timed
on its own, ``--repeats`` times, in a scratch folder: the base's Hydra composition, the
job's validation copy, its whole and task configs, its logging set-up, the
config hash and typed config, the folder lock, ``status.json`` and ``results.parquet``.
Prints one line per item (mean milliseconds) and their sum beside ``simulate`` itself.
This is a breakdown for reading the sweep row of ``make bench``, not a row of its own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _mean_ms(work: Callable[[], object], repeats: int) -> float:
    work()  # first call: imports and caches
    tic = time.perf_counter()
    for _ in range(repeats):
        work()
    return (time.perf_counter() - tic) / repeats * 1000


def main() -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from pagelab.atomic import atomic_write_json, atomic_write_parquet
    from pagelab.pipeline import lock
    from pagelab.pipeline.compose import hydra_session
    from pagelab.pipeline.config import RunConfig
    from pagelab.pipeline.job import run_job
    from pagelab.pipeline.simulate import simulate
    from pagelab.pipeline.status import config_hash
    from pagelab.sweep.compose import BatchComposer, job_config, set_job_number, set_output_dir, task_config
    from pagelab.sweep.job_logging import configure_job_log
    from pagelab.sweep.plan import job_overrides

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory(prefix="pagelab-job-costs-") as tmp, hydra_session() as loader:
        sweep = Path(tmp)
        master = loader.load_configuration(
            "config", ["+experiment=hosting_density", "seed=range(0,2)", f"hydra.sweep.dir={sweep}"], RunMode.MULTIRUN)
        jobs = [list(o) for o in job_overrides(master) or []]
        composer = BatchComposer(loader, master)
        plan = composer.plan(jobs[0], 0)
        base = composer.base(plan.base)
        cfg = job_config(base, plan, composer.cache())
        set_job_number(cfg, 0)
        HydraConfig.instance().set_config(cfg)
        folder = Path(set_output_dir(cfg))
        folder.mkdir(parents=True)
        task = task_config(base, plan, composer.cache())
        run = RunConfig.of(task)
        outcome = run_job(task, folder, show=False)

        def hold_lock() -> None:
            with lock.hold(folder, "job folder"):
                pass

        def write_status_twice() -> None:  # "running", then "done"
            for state in ("running", "done"):
                atomic_write_json({"state": state}, folder / "s.json")

        def compose_base() -> None:
            composer.bases.clear()
            composer.plan(jobs[0], 0)

        validation_ms = _mean_ms(lambda: composer.compose(jobs[1]), repeats)
        items = {
            "whole config, rewritten in place": lambda: job_config(base, plan, composer.cache(), reuse=cfg),
            "task config": lambda: task_config(base, plan, composer.cache()),
            "per-job logging set-up (job_logging)": lambda: configure_job_log(cfg, base.digest),
            "config hash": lambda: config_hash(task),
            "typed config (RunConfig.of)": lambda: RunConfig.of(task),
            "folder lock": hold_lock,
            "status.json, twice": write_status_twice,
            "results.parquet": lambda: atomic_write_parquet(outcome.row, folder / "r.parquet"),
        }
        costs = {name: _mean_ms(work, repeats) for name, work in items.items()}
        simulate_ms = _mean_ms(lambda: simulate(run), max(repeats // 10, 5))
        base_ms = _mean_ms(compose_base, max(repeats // 20, 5))
    width = max(len(name) for name in [*costs, "sum in the worker, around simulate", "validation copy (launching process)"])
    for name, ms in costs.items():
        print(f"{name:<{width}}  {ms:6.2f} ms")
    print(f"{'sum in the worker, around simulate':<{width}}  {sum(costs.values()):6.2f} ms")
    print(f"{'simulate (warm, one job)':<{width}}  {simulate_ms:6.2f} ms")
    print(f"{'validation copy (launching process)':<{width}}  {validation_ms:6.2f} ms")
    print(f"{'a base: Hydra composition':<{width}}  {base_ms:6.2f} ms (launching process, once per strategy)")


if __name__ == "__main__":
    main()
