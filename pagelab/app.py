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
from pagelab.errors import PagelabError, ShortfallError
from pagelab.report import print_summary
from pagelab.simulate import Outcome, simulate
from pagelab.sweep import RESULTS
from pagelab.sweep.job import Job
from pagelab.sweep.resolvers import register_resolvers
from pagelab.sweep.status import one_line
from pagelab.units import format_bytes

log = logging.getLogger(__name__)
register_resolvers()


def _shortfall(outcome: Outcome) -> ShortfallError:
    return ShortfallError(
        f"the host needs {format_bytes(outcome.shortfall_bytes)} more than the kernel's share; "
        "give the kernel more memory (a smaller dmem= or dmem=!<more>)"
    )


def run_job(cfg: DictConfig, output_dir: Path, *, show: bool = True) -> Outcome:
    """Simulate, write ``results.parquet`` into ``output_dir`` atomically, print the summary."""
    outcome = simulate(cfg)
    atomic_write_parquet(outcome.row, output_dir / RESULTS)
    if show:
        print_summary(outcome.row)
    if outcome.carves_out and outcome.shortfall_bytes:
        raise _shortfall(outcome)
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
                print_summary(pl.read_parquet(output_dir / RESULTS))
                print(f"pagelab: {output_dir} already holds this run's results; kept them", file=sys.stderr)
            return
        job.make_room(in_sweep=in_sweep)
        job.run(lambda: run_job(cfg, output_dir, show=not in_sweep))
    except Exception as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not (in_sweep or isinstance(error, PagelabError)):
            raise
        if not in_sweep:
            print(f"pagelab: error: {error}", file=sys.stderr)
            sys.exit(2)
        # Returning (not raising) lets Hydra run the other jobs and end the sweep normally.
        if isinstance(error, PagelabError):
            print(f"pagelab: job {hydra_cfg.job.num} failed: {one_line(error)}", file=sys.stderr)
        else:  # a bug, not bad input: keep its traceback in the job's log
            log.exception("job %s failed", hydra_cfg.job.num)


def run(overrides: list[str] | None = None, *, output: str | Path | None = None) -> pl.DataFrame:
    """Compose a config from ``overrides`` and return the results row (notebook API).

    Nothing is written unless ``output`` names a Parquet file. Raises
    :class:`~pagelab.errors.PagelabError` on bad input, including a dmemfs shortfall.
    """
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        cfg = compose(config_name="config", overrides=list(overrides or []))
    outcome = simulate(cfg)
    if output is not None:
        atomic_write_parquet(outcome.row, Path(output))
    if outcome.carves_out and outcome.shortfall_bytes:
        raise _shortfall(outcome)
    return outcome.row
