"""The Hydra application behind ``python -m pagelab`` and ``pagelab``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
import polars as pl
from hydra import compose, initialize_config_module
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from pagelab.atomic import atomic_write_parquet
from pagelab.config import register_configs
from pagelab.errors import EXIT_BAD_INPUT, EXIT_DOES_NOT_FIT, PagelabError
from pagelab.placement import shortfall_message
from pagelab.report import print_summary
from pagelab.simulate import Outcome, simulate
from pagelab.sweep import RESULTS
from pagelab.sweep.job import Job
from pagelab.sweep.resolvers import register_resolvers
from pagelab.sweep.status import one_line

log = logging.getLogger(__name__)
register_resolvers()


def _exit_unless_fits(row: pl.DataFrame) -> None:
    """Exit with EXIT_DOES_NOT_FIT, naming each pool on each node that is short, unless the run fits."""
    if not row["fits"][0]:
        pools = row.select(pl.col("pools").explode()).unnest("pools")
        print(f"pagelab: does not fit: {shortfall_message(pools)}", file=sys.stderr)
        sys.exit(EXIT_DOES_NOT_FIT)


def run_job(cfg: DictConfig, output_dir: Path, *, show: bool = True) -> Outcome:
    """Simulate, write ``results.parquet`` into ``output_dir`` atomically, print the summary."""
    outcome = simulate(cfg)
    atomic_write_parquet(outcome.row, output_dir / RESULTS)
    if show:
        print_summary(outcome.row)
    return outcome


@hydra.main(version_base="1.3", config_path="pkg://pagelab.conf", config_name="config")
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
        if job.is_done():
            if in_sweep:
                log.info("job %s: done earlier with the same config, skipped", hydra_cfg.job.num)
            else:
                row = pl.read_parquet(output_dir / RESULTS)
                print_summary(row)
                print(f"pagelab: {output_dir} already holds this run's results; kept them", file=sys.stderr)
                _exit_unless_fits(row)
            return
        job.make_room(in_sweep=in_sweep)
        outcome = job.run(lambda: run_job(cfg, output_dir, show=not in_sweep))
        # In a sweep a run that does not fit is a result like any other (fits=false).
        if not in_sweep:
            _exit_unless_fits(outcome.row)
    except Exception as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not (in_sweep or isinstance(error, PagelabError)):
            raise
        if not in_sweep:
            print(f"pagelab: error: {error}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        # Returning (not raising) lets Hydra run the other jobs and end the sweep normally.
        if isinstance(error, PagelabError):
            print(f"pagelab: job {hydra_cfg.job.num} failed: {one_line(error)}", file=sys.stderr)
        else:  # a bug, not bad input: keep its traceback in the job's log
            log.exception("job %s failed", hydra_cfg.job.num)


def run(overrides: list[str] | None = None, *, output: str | Path | None = None) -> pl.DataFrame:
    """Compose a config from ``overrides`` and return the results row (notebook API).

    Nothing is written unless ``output`` names a Parquet file. A run that does not fit
    the machine returns its row with ``fits`` false (``pools`` says which pool is short).
    Raises :class:`~pagelab.errors.PagelabError` on bad input.
    """
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        cfg = compose(config_name="config", overrides=list(overrides or []))
    outcome = simulate(cfg)
    if output is not None:
        atomic_write_parquet(outcome.row, Path(output))
    return outcome.row
