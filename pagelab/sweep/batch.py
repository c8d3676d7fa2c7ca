"""The batch launcher (``hydra/launcher=batch``): compose once per base, run jobs in chunks.

Hydra's launchers compose every job's config from scratch, twice per job (the sweeper
validates the batch in the launching process, the launcher composes again), at about
60 ms each: more than a hosting job computes. This launcher composes once per distinct
set of config-group choices (:mod:`pagelab.sweep.compose`) and hands the jobs, in chunks,
to joblib's loky workers (``n_jobs``, every core by default) or to submitit (a SLURM
array, or local processes). Each worker keeps its process, and so its datasets, for the
whole sweep. Everything a job writes is written by the task function as with any other
launcher (``status.json``, ``results.parquet``); ``.hydra/`` files only with
``save_job_configs``. The sweep folder records the composed bases once, in ``composed.yaml``.

Hydra's plugin class, ``hydra_plugins.pagelab_launcher.batch_launcher.BatchLauncher``,
delegates to :func:`setup` and :func:`launch`.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.config_loader import ConfigLoader
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from pagelab.errors import PagelabError
from pagelab.outputs import COMPOSED, STATUS
from pagelab.pipeline.job import mark_interrupted
from pagelab.sweep.compose import BatchComposer, JobPlan
from pagelab.sweep.worker import Chunk, freeze_long_lived, run_chunk
from pagelab.workers import start_workers

log = logging.getLogger(__name__)

BACKENDS = ("joblib", "submitit")
# Chunks per worker when chunk_size is not given: small enough that workers finish together.
CHUNKS_PER_WORKER = 32
# A SLURM array task starts a Python process: give each at least this many jobs.
MIN_SUBMITIT_CHUNK = 64


class BatchConfigLoader(ConfigLoader):
    """Hydra's config loader, but sweep jobs come from the batch composer.

    The sweeper composes every job once to validate the batch before it launches it
    (``Sweeper.validate_batch_is_legal``), through the config loader of the context the
    launcher was set up with; this loader stands in for it, so that validation costs a
    copy of a base, not a composition. Everything else goes to Hydra's loader.
    """

    def __init__(self, loader: ConfigLoader, composer: BatchComposer) -> None:
        self.loader = loader
        self.composer = composer

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        """The job's config: from the composer for this sweep, from Hydra for any other."""
        if master_config is not self.composer.master:
            return self.loader.load_sweep_config(master_config, sweep_overrides)
        return self.composer.compose(sweep_overrides)

    def load_configuration(self, *args: Any, **kwargs: Any) -> DictConfig:
        """Hydra's composition."""
        return self.loader.load_configuration(*args, **kwargs)

    def get_search_path(self) -> Any:
        """Hydra's config search path."""
        return self.loader.get_search_path()

    def get_sources(self) -> Any:
        """Hydra's config sources."""
        return self.loader.get_sources()

    def list_groups(self, parent_name: str) -> Any:
        """Hydra's config groups under ``parent_name``."""
        return self.loader.list_groups(parent_name)

    def get_group_options(self, *args: Any, **kwargs: Any) -> Any:
        """Hydra's options of a config group (``glob(*)`` sweeps read them)."""
        return self.loader.get_group_options(*args, **kwargs)

    def compute_defaults_list(self, *args: Any, **kwargs: Any) -> Any:
        """Hydra's defaults list."""
        return self.loader.compute_defaults_list(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else ConfigLoaderImpl offers (callers reach into it) comes from it.
        return getattr(self.loader, name)


def _bad_option(field: str, message: str) -> PagelabError:
    return PagelabError(f"hydra.launcher.{field}: {message}")


def check_options(options: dict[str, Any]) -> None:
    """Raise :class:`PagelabError` naming the first launcher option that is wrong."""
    if options["backend"] not in BACKENDS:
        raise _bad_option("backend", f"unknown {options['backend']!r}; choose one of {', '.join(BACKENDS)}")
    n_jobs = options["n_jobs"]
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise _bad_option("n_jobs", f"must be a number of workers (-1: one per core), got {n_jobs!r}")
    chunk = options["chunk_size"]
    if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
        raise _bad_option("chunk_size", f"must be at least 1 (or null: automatic), got {chunk!r}")


def setup(launcher: Any, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
    """Set ``launcher`` up for a sweep; from now on the sweep's context composes through its composer."""
    try:
        check_options(launcher.options)
    except PagelabError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        # Hydra would print a traceback for an exception here; bad input is one line, exit 2.
        print(f"pagelab: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    freeze_long_lived()  # validation composes a copy per job: its collections need not scan the imports
    launcher.config = config
    launcher.task_function = task_function
    launcher.hydra_context = hydra_context
    launcher.composer = BatchComposer(hydra_context.config_loader, config)
    launcher.jobs_of_base = {}
    hydra_context.config_loader = BatchConfigLoader(hydra_context.config_loader, launcher.composer)
    launcher.warming = None
    n = workers(launcher.options) if launcher.options["backend"] == "joblib" else 1
    if n > 1:  # start the workers now: they import pagelab while this process validates the batch
        launcher.warming = start_workers(n, _warm, task_function.__module__, name="pagelab-batch-warm")


def _warm(task_module: str) -> None:
    """What every job imports: the task function's module (pagelab's app: Hydra, polars, the
    models), the worker, and the plugins."""
    import importlib

    import pagelab.sweep.worker  # noqa: F401
    from pagelab.strategies.registry import installed_strategies

    importlib.import_module(task_module)
    installed_strategies()


def workers(options: dict[str, Any]) -> int:
    """How many jobs run at once: joblib's workers, or the SLURM array's parallelism."""
    if options["backend"] == "submitit":
        return int(options["submitit"]["parameters"].get("slurm_array_parallelism", 256))
    from joblib import effective_n_jobs

    return effective_n_jobs(options["n_jobs"])


def chunk_size(options: dict[str, Any], jobs: int) -> int:
    """Jobs per chunk: ``chunk_size``, or enough chunks to keep every worker busy to the end."""
    if options["chunk_size"] is not None:
        return int(options["chunk_size"])
    if options["backend"] == "submitit":
        return max(math.ceil(jobs / workers(options)), MIN_SUBMITIT_CHUNK)
    return max(math.ceil(jobs / (CHUNKS_PER_WORKER * workers(options))), 1)


def _record_bases(sweep_dir: Path, composer: BatchComposer, jobs_of_base: dict[int, list[int]]) -> None:
    """Write ``composed.yaml``: each base's overrides, jobs and composed config (unresolved)."""
    import cloudpickle
    import yaml

    from pagelab.atomic import atomic_write

    entries = [
        {
            "overrides": list(base.overrides),
            "jobs": jobs_of_base.get(base.index, []),
            "config": OmegaConf.to_container(cloudpickle.loads(base.config), resolve=False, enum_to_str=True),
        }
        for base in composer.bases.values()
    ]
    header = (
        "# Configs the batch launcher composed with Hydra, once per distinct set of config-group\n"
        "# choices. Each job's config is its base with the job's value overrides applied\n"
        "# (its status.json lists them) and its own hydra.job and hydra.runtime fields.\n"
    )
    # libyaml's dumper: OmegaConf.to_yaml takes a tenth of a second for a dozen bases.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = header + yaml.dump({"bases": entries}, Dumper=dumper, sort_keys=False, allow_unicode=True)
    atomic_write(sweep_dir / COMPOSED, lambda tmp: Path(tmp).write_text(text))


def _chunks(launcher: Any, plans: list[JobPlan]) -> list[Chunk]:
    from hydra.core.utils import JobRuntime

    size = chunk_size(launcher.options, len(plans))
    groups = [plans[i : i + size] for i in range(0, len(plans), size)]
    return [
        Chunk(
            bases={b: launcher.composer.base(b) for b in sorted({p.base for p in group})},
            jobs=tuple(group),
            task_function=launcher.task_function,
            cache=launcher.composer.cache(),
            callbacks=launcher.hydra_context.callbacks,
            task_name=JobRuntime.instance().get("name"),
            save_job_configs=bool(launcher.options["save_job_configs"]),
            launcher_pid=os.getpid(),
        )
        for group in groups
    ]


def _run_joblib(chunks: list[Chunk], n_jobs: int, workers: int) -> list[list[JobReturn]]:
    from joblib import Parallel, delayed

    if workers == 1:  # n_jobs=1: in this process, as the basic launcher runs its jobs
        return [run_chunk(chunk) for chunk in chunks]
    # loky starts fresh interpreters (no fork: polars is multithreaded) and keeps them for every chunk.
    return Parallel(n_jobs=n_jobs, backend="loky", batch_size=1)(delayed(run_chunk)(c) for c in chunks)


def _run_submitit(chunks: list[Chunk], options: dict[str, Any]) -> list[list[JobReturn]]:
    import submitit

    settings = options["submitit"]
    executor = submitit.AutoExecutor(folder=settings["folder"], cluster=settings["cluster"])
    executor.update_parameters(**settings["parameters"])
    jobs = executor.map_array(run_chunk, chunks)
    log.info(f"Submitit: {len(jobs)} array jobs in {settings['folder']}")
    return [job.result() for job in jobs]


def launch(launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
    """Run a batch of jobs; return their JobReturns in job order."""
    setup_globals()
    config = launcher.config
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    plans = [launcher.composer.plan(list(o), initial_job_idx + i) for i, o in enumerate(job_overrides)]
    for plan in plans:
        launcher.jobs_of_base.setdefault(plan.base, []).append(plan.num)
    _record_bases(sweep_dir, launcher.composer, launcher.jobs_of_base)
    chunks = _chunks(launcher, plans)
    options = launcher.options
    n_jobs = min(workers(options), len(chunks))
    log.info(
        f"Batch launcher: {len(plans)} jobs from {len(launcher.composer.bases)} composed configs, "
        f"{len(chunks)} chunks on {n_jobs} {options['backend']} workers; sweep output dir: {sweep_dir}"
    )
    for plan, overrides in zip(plans, job_overrides, strict=True):
        log.info(f"\t#{plan.num} : {' '.join(filter_overrides(overrides))}")
    if launcher.warming is not None:
        launcher.warming.join()
    try:
        if options["backend"] == "submitit":
            results = _run_submitit(chunks, options)
        else:
            results = _run_joblib(chunks, n_jobs, workers(options))
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C: joblib has stopped the workers by now
        mark_interrupted([status.parent for status in sweep_dir.glob(f"*/{STATUS}")])
        raise
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)  # jobs in this process reconfigured it
    return [ret for chunk in results for ret in chunk]
