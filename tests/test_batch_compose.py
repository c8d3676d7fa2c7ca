"""The batch launcher composes every job of every preset exactly as Hydra does.

For each shipped preset (conf/experiment/*.yaml), the sweep's multirun config is
composed by Hydra, its jobs are expanded as Hydra's basic sweeper expands them, and
each job's config from :class:`pagelab.sweep.compose.BatchComposer` is compared with
Hydra's own ``ConfigLoader.load_sweep_config`` for that job:

- whole, ``hydra`` node included, unresolved (every value and interpolation string);
- whole and resolved, after both get the fields a launcher and ``run_job`` set later
  (``hydra.job.num``/``id``, ``hydra.runtime.output_dir``: ``load_sweep_config`` leaves
  the output directory missing, and the job-logging file name interpolates it);
- the flags Hydra sets: struct mode on the root, a writable ``hydra`` node;
- the task's config (``hydra`` removed, as ``run_job`` hands it to the task function);
- the config a worker rewrites in place for the next job of the same kind, job after job.

Nothing differs. What the batch launcher sets differently from Hydra's own launchers
is not composition: the job id convention (tested end to end in test_batch_launcher.py).
Hydra's reference costs ~60 ms a job, so the jobs are split over two processes.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from .conftest import ROOT

PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
WORKERS = max(2, min(4, os.cpu_count() or 1))


def _compare(preset: str, part: int, parts: int) -> tuple[int, list[str]]:
    """Compare every ``parts``-th job of ``preset`` from ``part``; return (jobs compared, differences)."""
    import copy

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf, open_dict, read_write

    from pagelab.pipeline.compose import hydra_session
    from pagelab.sweep.compose import (
        BatchComposer,
        job_config,
        reuse_key,
        set_job_number,
        set_output_dir,
        task_config,
    )
    from pagelab.sweep.plan import job_overrides

    problems: list[str] = []
    with hydra_session() as loader:  # Hydra's own loader: the reference below is its composition
        master = loader.load_configuration("config", [f"+experiment={preset}"], RunMode.MULTIRUN)
        str(master.hydra.sweep.dir)  # the sweeper reads it (resolving ${now:}) before any job composes
        jobs = job_overrides(master)
        assert jobs, preset
        composer = BatchComposer(loader, master)
        mine_jobs = list(enumerate(jobs))[part::parts]
        reusable: dict = {}  # as a worker keeps them (pagelab.sweep.worker)
        for num, overrides in mine_jobs:
            theirs = loader.load_sweep_config(master, list(overrides))
            mine = composer.compose(list(overrides))
            label = f"{preset} job {num} ({' '.join(overrides)})"
            if OmegaConf.to_container(mine) != OmegaConf.to_container(theirs):
                problems.append(f"{label}: unresolved configs differ")
            flags = [(OmegaConf.is_struct(c), OmegaConf.is_readonly(c.hydra)) for c in (mine, theirs)]
            if flags[0] != flags[1]:
                problems.append(f"{label}: flags differ {flags}")
            plan = composer.plan(list(overrides), num)
            task = task_config(composer.base(plan.base), plan, composer.cache())
            reference_task = copy.deepcopy(theirs)  # what run_job hands the task function
            with read_write(reference_task), open_dict(reference_task):
                del reference_task["hydra"]
            if OmegaConf.to_container(task, resolve=True) != OmegaConf.to_container(reference_task, resolve=True):
                problems.append(f"{label}: task configs differ")
            if OmegaConf.is_struct(task) != OmegaConf.is_struct(reference_task):
                problems.append(f"{label}: task struct flags differ")
            key = reuse_key(composer.base(plan.base), plan)
            rewritten = job_config(composer.base(plan.base), plan, composer.cache(), reuse=reusable.get(key))
            if key is not None:
                reusable[key] = rewritten
            for cfg in (mine, theirs, rewritten):
                set_job_number(cfg, num)
                HydraConfig.instance().set_config(cfg)
                set_output_dir(cfg)
            # Compared once the job's own fields are set: it carried the last job's until then.
            if OmegaConf.to_container(rewritten) != OmegaConf.to_container(theirs):
                problems.append(f"{label}: the rewritten config differs, unresolved")
            resolved = OmegaConf.to_container(theirs, resolve=True)
            if OmegaConf.to_container(mine, resolve=True) != resolved:
                problems.append(f"{label}: resolved configs differ")
            if OmegaConf.to_container(rewritten, resolve=True) != resolved:
                problems.append(f"{label}: the rewritten config differs, resolved")
            OmegaConf.set_readonly(rewritten.hydra, True)  # as the worker leaves it for the next job
    return len(mine_jobs), problems


@pytest.mark.parametrize("preset", PRESETS)
def test_every_job_of_the_preset_composes_as_hydra_composes_it(preset):
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no Hydra state, no fork under polars
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        results = list(pool.map(_compare, [preset] * WORKERS, range(WORKERS), [WORKERS] * WORKERS))
    compared = sum(n for n, _ in results)
    problems = [p for _, found in results for p in found]
    assert compared > 1
    assert problems == [], "\n".join(problems[:20])


def test_a_config_is_recycled_only_when_nobody_holds_it():
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from pagelab.pipeline.compose import hydra_session
    from pagelab.sweep.compose import BatchComposer

    jobs = [["strategy=base4k", "workload=pc1991", f"seed={n}"] for n in range(4)]
    with hydra_session() as loader:
        master = loader.load_configuration("config", ["workload=pc1991"], RunMode.MULTIRUN)
        composer = BatchComposer(loader, master)

        def hydras(n: int) -> dict:
            return OmegaConf.to_container(loader.load_sweep_config(master, jobs[n]))

        kept = composer.compose(jobs[0])
        node = composer.compose(jobs[1]).hydra  # only a part of this one is kept
        third = composer.compose(jobs[2])
        assert third is not kept and third.hydra is not node  # both were still held: new copies
        assert OmegaConf.to_container(kept) == hydras(0) and kept.seed == 0
        assert node.overrides.task[-1] == "seed=1"
        first_id = id(third)
        del third
        fourth = composer.compose(jobs[3])  # nobody held the last one: rewritten in place
        assert id(fourth) == first_id
        assert OmegaConf.to_container(fourth) == hydras(3)
        assert OmegaConf.to_container(kept) == hydras(0) and node.overrides.task[-1] == "seed=1"


def test_the_tasks_part_composes_as_hydras_composition_less_hydra():
    from hydra.types import RunMode
    from omegaconf import OmegaConf, open_dict

    from pagelab.pipeline.compose import compose_task, hydra_session
    from pagelab.strategies.registry import installed_strategies

    strategies = [*installed_strategies(), *sorted(p.stem for p in (ROOT / "conf" / "strategy").glob("*.yaml"))]
    workloads = sorted(p.stem for p in (ROOT / "conf" / "workload").glob("*.yaml"))
    choices = [[f"strategy={s}", f"workload={w}"] for s in strategies for w in workloads]
    choices += [["strategy=dmemfs", "workload=hosting", "workload.dmem='!8G'", "seed=3"], []]  # values; no choice at all
    with hydra_session() as loader:
        for overrides in choices:
            theirs = loader.load_configuration("config", overrides, RunMode.RUN)
            with open_dict(theirs):
                del theirs["hydra"]
            mine = compose_task(loader, overrides)
            assert OmegaConf.to_yaml(mine) == OmegaConf.to_yaml(theirs), overrides
            assert OmegaConf.to_container(mine, resolve=True) == OmegaConf.to_container(theirs, resolve=True), overrides
            assert OmegaConf.is_struct(mine) and OmegaConf.is_struct(theirs), overrides
