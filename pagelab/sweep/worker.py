"""Running a chunk of a sweep's jobs in one process, each job as Hydra's ``run_job`` runs it.

A chunk carries the pickled bases its jobs need and one :class:`~pagelab.sweep.compose.JobPlan`
per job. For each job the worker builds its config, sets the fields a launcher and
``run_job`` set (job number and id, output directory), points ``HydraConfig`` at it,
configures the job's logging, and calls the task function (pagelab's ``hydra_main``,
which writes ``status.json`` and ``results.parquet``). What Hydra does per job and pagelab
does not need is left out: ``.hydra/`` files unless asked for, and the job callbacks'
``JobReturn`` configs unless a callback implements ``on_job_start`` or ``on_job_end``.
"""

from __future__ import annotations

import copy
import gc
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import (
    JobReturn,
    JobStatus,
    _flush_loggers,
    _save_config,
    env_override,
    setup_globals,
)
from hydra.experimental.callback import Callback
from hydra.types import TaskFunction
from omegaconf import DictConfig, OmegaConf

from pagelab.sweep.compose import (
    Base,
    JobPlan,
    job_config,
    reuse_key,
    set_job_number,
    set_output_dir,
    task_config,
)
from pagelab.sweep.job_logging import configure_job_log


@dataclass(frozen=True)
class Chunk:
    """Jobs run one after another in one process, with what they need to run there."""

    bases: dict[int, Base]
    jobs: tuple[JobPlan, ...]
    task_function: TaskFunction
    cache: dict[str, Any]  # the sweep config's resolver cache, copied into every job as Hydra does
    callbacks: Any  # hydra._internal.callbacks.Callbacks of the sweep, or None
    task_name: str  # Hydra's JobRuntime name, reported in each JobReturn
    save_job_configs: bool  # write each job's .hydra/ files as run_job does
    launcher_pid: int = 0  # the sweep's launching process: Ctrl-C is its to handle


def _has_job_hooks(callbacks: Any) -> bool:
    """Whether a configured callback does anything in ``on_job_start`` or ``on_job_end``."""
    return any(
        getattr(type(c), hook, None) is not getattr(Callback, hook)
        for c in getattr(callbacks, "callbacks", ())
        for hook in ("on_job_start", "on_job_end")
    )


def _returnable(error: BaseException) -> BaseException:
    """The exception itself if it can travel back to the launching process, else its text."""
    import cloudpickle

    try:
        cloudpickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


# Each worker's configs to rewrite for the next job of the same kind (compose.reuse_key): the
# copy of a base's whole config (Hydra's node is most of it) is most of a job's set-up.
_REUSABLE: dict[tuple[object, ...], DictConfig] = {}


def _whole_config(chunk: Chunk, plan: JobPlan, hooks: bool) -> DictConfig:
    """The job's whole config: a fresh copy, or the last one of its kind rewritten.

    Nothing but this module writes to it between jobs: the task function gets its own
    copy, and HydraConfig's node is read-only. Job callbacks might keep or change it, so
    with callbacks every job gets a fresh copy.
    """
    base = chunk.bases[plan.base]
    key = None if hooks else reuse_key(base, plan)
    cfg = job_config(base, plan, chunk.cache, reuse=_REUSABLE.get(key) if key else None)
    if key is not None:
        _REUSABLE[key] = cfg
    return cfg


def run_job(chunk: Chunk, plan: JobPlan, hooks: bool = False) -> JobReturn:
    """Run one job of ``chunk``; a task that raises gives a FAILED return, as in ``run_job``.

    ``hooks``: whether a sweep callback implements ``on_job_start`` or ``on_job_end``.
    """
    base = chunk.bases[plan.base]
    cfg = _whole_config(chunk, plan, hooks)
    set_job_number(cfg, plan.num)
    hydra_config = HydraConfig.instance()
    previous, old_cwd, chdir = hydra_config.cfg, os.getcwd(), False
    # HydraConfig.get() is this job's hydra node (set_config would copy it; nothing here changes it).
    hydra_config.cfg = cfg  # type: ignore[assignment]
    try:
        output_dir = set_output_dir(cfg)
        OmegaConf.set_readonly(cfg.hydra, True)
        task_cfg = task_config(base, plan, chunk.cache)
        ret = JobReturn(overrides=list(plan.task), task_name=chunk.task_name)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        chdir = bool(cfg.hydra.job.chdir)  # None means False since Hydra 1.2
        if chdir:
            os.chdir(output_dir)
        ret.working_dir = os.getcwd()
        configure_job_log(cfg, base.digest)
        if chunk.save_job_configs and cfg.hydra.output_subdir is not None:
            hydra_output = Path(output_dir) / str(cfg.hydra.output_subdir)
            _save_config(task_cfg, "config.yaml", hydra_output)
            _save_config(OmegaConf.masked_copy(cfg, "hydra"), "hydra.yaml", hydra_output)
            _save_config(cfg.hydra.overrides.task, "overrides.yaml", hydra_output)
        with env_override(cfg.hydra.job.env_set):
            if hooks:
                chunk.callbacks.on_job_start(config=cfg, task_function=chunk.task_function)
            try:
                ret.return_value = chunk.task_function(task_cfg)
                ret.status = JobStatus.COMPLETED
            except Exception as error:
                # pagelab's task records its own failures; only HYDRA_FULL_ERROR=1 lets one out.
                traceback.print_exc(file=sys.stderr)
                ret.return_value = _returnable(error)
                ret.status = JobStatus.FAILED
        _flush_loggers()
        if hooks:
            ret.cfg, ret.hydra_cfg = task_cfg, copy.deepcopy(OmegaConf.masked_copy(cfg, "hydra"))
            chunk.callbacks.on_job_end(config=cfg, job_return=ret)
            ret.cfg = ret.hydra_cfg = None  # the launching process needs the status, not the configs
        return ret
    finally:
        hydra_config.cfg = previous
        if chdir:
            os.chdir(old_cwd)


_FROZEN = False


def freeze_long_lived() -> None:
    """Once per process: what is alive now (imports, Hydra's state) stays; collections skip it.

    A sweep makes garbage with reference cycles (every config) all the time; each full
    collection would otherwise scan the hundreds of thousands of objects imports made.
    """
    global _FROZEN
    if not _FROZEN:
        gc.freeze()
        _FROZEN = True


def run_chunk(chunk: Chunk) -> list[JobReturn]:
    """Run every job of ``chunk`` in order; the entry point of joblib and submitit workers."""
    from pagelab.pipeline.resolvers import register_resolvers

    if chunk.launcher_pid and os.getpid() != chunk.launcher_pid:
        # A worker: Ctrl-C at a terminal reaches the whole process group. The launching
        # process stops the workers and marks their jobs interrupted; a KeyboardInterrupt
        # here would only add a traceback per worker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_globals()  # Hydra's ${now:} and ${hydra:} resolvers, as its launchers set them up
    register_resolvers()
    freeze_long_lived()
    hooks = _has_job_hooks(chunk.callbacks)
    return [run_job(chunk, plan, hooks) for plan in chunk.jobs]
