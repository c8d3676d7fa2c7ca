"""The Hydra application behind ``python -m pagelab`` and ``pagelab``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, cast

import hydra
import polars as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from pagelab.errors import EXIT_BAD_INPUT, EXIT_DOES_NOT_FIT, PagelabError
from pagelab.outputs import RESULTS
from pagelab.pipeline.compose import CONFIG_MODULE, CONFIG_NAME, compose
from pagelab.pipeline.job import Job, run_job
from pagelab.pipeline.placement import shortfall_message
from pagelab.pipeline.resolvers import register_resolvers
from pagelab.pipeline.simulate import simulate
from pagelab.pipeline.status import one_line

CONFIG_PATH = f"pkg://{CONFIG_MODULE}"
# "quiet" (-q) or "verbose" (-v), set by the command line; read by jobs in any process.
VERBOSITY = "PAGELAB_VERBOSITY"
log = logging.getLogger(__name__)
register_resolvers()


def _exit_unless_fits(row: pl.DataFrame) -> None:
    """Exit with EXIT_DOES_NOT_FIT, naming each pool on each node that is short, unless the run fits."""
    if not row["fits"][0]:
        pools = row.select(pl.col("pools").explode()).unnest("pools")
        print(f"pagelab: does not fit: {shortfall_message(pools)}", file=sys.stderr)
        sys.exit(EXIT_DOES_NOT_FIT)


def quiet() -> bool:
    """``pagelab -q``: no summary table, only the line saying where the results are."""
    return os.environ.get(VERBOSITY) == "quiet"


def report_error(message: str) -> None:
    """Print ``message`` on stderr and write it to the run's log files (``pagelab.log``).

    Only file handlers get the record: the console already has the printed line.
    """
    print(message, file=sys.stderr)
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _say_where(path: Path) -> None:
    print(f"pagelab: results in {path}", flush=True)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=CONFIG_NAME)
def hydra_main(cfg: DictConfig) -> None:
    """Entry point Hydra calls once per job.

    Every job records itself in ``status.json`` and is skipped when its directory holds
    a finished run of the same config. In a sweep a failed job is recorded and the
    others go on; the sweep's callback reports every failure at the end.
    """
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        number = hydra_cfg.job.num if in_sweep else None
        job = Job(output_dir, cfg, job=number, overrides=list(hydra_cfg.overrides.task))
        with job.claim():  # another process running this job: refused, never run twice
            if job.is_done():
                if in_sweep:
                    log.info("job %s: done earlier with the same config, skipped", hydra_cfg.job.num)
                else:
                    from pagelab.pipeline.terminal import print_summary

                    row = pl.read_parquet(output_dir / RESULTS)
                    if not quiet():
                        print_summary(row)
                    print(f"pagelab: {output_dir} already holds this run's results; kept them", file=sys.stderr)
                    _say_where(output_dir / RESULTS)
                    _exit_unless_fits(row)
                return
            job.make_room(in_sweep=in_sweep)
            outcome = job.run(lambda: run_job(cfg, output_dir, show=not (in_sweep or quiet())))
        # In a sweep a run that does not fit is a result like any other (fits=false).
        if not in_sweep:
            _say_where(output_dir / RESULTS)
            _exit_unless_fits(outcome.row)
    except Exception as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not (in_sweep or isinstance(error, PagelabError)):
            raise
        if not in_sweep:
            report_error(f"pagelab: error: {error}")
            sys.exit(EXIT_BAD_INPUT)
        # Returning (not raising) lets Hydra run the other jobs and end the sweep normally.
        if isinstance(error, PagelabError):
            report_error(f"pagelab: job {hydra_cfg.job.num} failed: {one_line(error)}")
        else:  # a bug, not bad input: keep its traceback in the job's log
            log.exception("job %s failed", hydra_cfg.job.num)


def run(overrides: list[str] | None = None, *, output: str | Path | None = None) -> pl.DataFrame:
    """Compose a config from ``overrides`` and return the results row (notebook API).

    ``overrides`` is a list of strings as typed on the command line (``strategy.dmem=!16G``
    needs no quotes). Nothing is written unless ``output`` names a Parquet file. A run that
    does not fit the machine returns its row with ``fits`` false (``pools`` says which pool
    is short). Raises :class:`~pagelab.errors.PagelabError`, with a one-line message, on bad
    input: an unknown name, a value of the wrong type, a bad value.
    """
    if isinstance(overrides, (str, bytes)) or not all(isinstance(o, str) for o in (overrides or [])):
        raise PagelabError(f"pagelab.run: overrides must be a list of strings such as ['strategy=base4k'], "
                           f"got {overrides!r}")
    outcome = simulate(compose(overrides or []))
    if output is not None:
        from pagelab.atomic import atomic_write_parquet

        atomic_write_parquet(outcome.row, Path(output))
    return outcome.row


_MULTIRUN_FLAGS = {"-m", "--multirun"}


def _asks_for(args: list[str]) -> str | None:
    """What the command line asks for by its looks: "run", "multirun" (-m), "sweep" (sweep
    overrides without -m: a preset's sweep, or Hydra's error) or None (other flags: Hydra's path)."""
    flags = {arg for arg in args if arg.startswith("-")}
    if flags - _MULTIRUN_FLAGS:  # --cfg, --info, --help, -r, ...
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides([a for a in args if not a.startswith("-")])
    except Exception:  # Hydra's own path reports a malformed override
        return None
    if flags:
        return "multirun"
    return "sweep" if any(o.is_sweep_override() for o in parsed) else "run"


def _hydra_path(args: list[str]) -> None:
    sys.argv = [sys.argv[0], *args]
    hydra_main()


def main(args: list[str]) -> None:
    """Run the app with command-line ``args`` as ``@hydra.main`` would, composing the config once.

    Hydra composes twice: once to learn the mode (a preset may switch to MULTIRUN), once
    to run or sweep. Here one composition tells the mode and is then run, by Hydra's own
    ``run_job`` or sweeper, as ``Hydra.run`` and ``Hydra.multirun`` run theirs. Anything
    else (flags but -m, a composition error) takes ``@hydra.main``'s path unchanged.
    """
    asks = _asks_for(args)
    if asks is None:
        _hydra_path(args)
        return
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import (
        create_automatic_config_search_path,
        detect_calling_file_or_module_from_task_function,
        detect_task_name,
        run_and_report,
    )
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    task = hydra_main.__wrapped__
    overrides = [a for a in args if not a.startswith("-")]
    calling_file, calling_module = detect_calling_file_or_module_from_task_function(task)
    search_path = create_automatic_config_search_path(calling_file, calling_module, CONFIG_PATH)
    app = run_and_report(
        lambda: Hydra.create_main_hydra2(task_name=detect_task_name(calling_file, calling_module),
                                         config_search_path=search_path)
    )
    mode = RunMode.RUN if asks == "run" else RunMode.MULTIRUN
    try:
        try:
            cfg = app.compose_config(CONFIG_NAME, overrides, run_mode=mode, with_log_configuration=True)
        except (ConfigCompositionException, MissingConfigException, OverrideParseException) as error:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            # Bad input: one line naming the override (Hydra's own report takes five).
            from pagelab.pipeline.overrides import hydra_error_line

            print(f"pagelab: error: {hydra_error_line(error)}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except Exception:  # reported (or run) by Hydra's own path
            cfg = None
        if cfg is None or (asks == "sweep" and cfg.hydra.mode != RunMode.MULTIRUN):
            GlobalHydra.instance().clear()
            _hydra_path(args)
            return
        if asks == "run" and cfg.hydra.mode == RunMode.MULTIRUN:  # a preset's sweep
            run_and_report(lambda: _writes_into(cfg.hydra.sweep.dir, lambda: _one_line(
                lambda: app.multirun(config_name=CONFIG_NAME, task_function=task, overrides=overrides))))
            return
        # What Hydra's _run_app adds when the config names another mode or none.
        if asks == "multirun" and cfg.hydra.mode == RunMode.RUN:
            import warnings

            warnings.warn(message="\n\tRunning Hydra app with --multirun, overriding with `hydra.mode=MULTIRUN`.",
                          category=UserWarning)
        if cfg.hydra.mode != mode:
            cfg.hydra.mode = mode
            cfg.hydra.overrides.hydra.append(f"hydra.mode={mode.name}")
        out = cfg.hydra.run.dir if mode == RunMode.RUN else cfg.hydra.sweep.dir
        run_and_report(lambda: _writes_into(out, lambda: _one_line(
            lambda: (_run if mode == RunMode.RUN else _multirun)(app, cfg, task))))
    finally:
        GlobalHydra.instance().clear()


def _writes_into(directory: str, call: Any) -> None:
    """Run ``call``; an OSError of Hydra's own writes (``.hydra/``, ``multirun.yaml``, logs) on a
    full disk or a read-only folder is one line naming the path and exit 2, not a traceback.

    Hydra's ``run_and_report`` would print a traceback; with ``HYDRA_FULL_ERROR=1`` it still does.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        call()
        return
    try:
        call()
    except OSError as error:
        print(f"pagelab: error: {error.filename or directory}: cannot write: {error.strerror or error}",
              file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _one_line(work: Any) -> None:
    """Run ``work``; a job's config that does not compose (a sweep's bad value) is one line, exit 2."""
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    try:
        work()
    except (ConfigCompositionException, MissingConfigException, OverrideParseException) as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        from pagelab.pipeline.overrides import hydra_error_line

        print(f"pagelab: error: {hydra_error_line(error)}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _run(app: Any, cfg: DictConfig, task: Any) -> None:
    """``Hydra.run`` from its composition on."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.utils import run_job as hydra_run_job
    from hydra.types import HydraContext

    callbacks = Callbacks(cfg)
    callbacks.on_run_start(config=cfg, config_name=CONFIG_NAME)
    ret = hydra_run_job(
        hydra_context=HydraContext(config_loader=app.config_loader, callbacks=callbacks),
        task_function=task, config=cfg, job_dir_key="hydra.run.dir", job_subdir_key=None,
    )
    callbacks.on_run_end(config=cfg, config_name=CONFIG_NAME, job_return=ret)
    _ = ret.return_value  # raises the task's exception, as Hydra.run does


def _multirun(app: Any, cfg: DictConfig, task: Any) -> None:
    """``Hydra.multirun`` from its composition on."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext
    from omegaconf import OmegaConf

    callbacks = Callbacks(cfg)
    callbacks.on_multirun_start(config=cfg, config_name=CONFIG_NAME)
    sweeper = Plugins.instance().instantiate_sweeper(
        config=cfg, hydra_context=HydraContext(config_loader=app.config_loader, callbacks=callbacks), task_function=task,
    )
    sweeper.sweep(arguments=cast(list[str], OmegaConf.to_container(cfg.hydra.overrides.task, resolve=False)))
    callbacks.on_multirun_end(config=cfg, config_name=CONFIG_NAME)
