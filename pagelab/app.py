"""The Hydra application behind ``python -m pagelab`` and ``pagelab``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
import polars as pl
from hydra import compose, initialize_config_module
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from pagelab.atomic import atomic_write_parquet
from pagelab.config import register_configs
from pagelab.errors import PagelabError, ShortfallError
from pagelab.report import print_summary
from pagelab.simulate import Outcome, simulate
from pagelab.units import format_bytes

RESULTS = "results.parquet"


def _shortfall(outcome: Outcome) -> ShortfallError:
    return ShortfallError(
        f"the host needs {format_bytes(outcome.shortfall_bytes)} more than the kernel's share; "
        "give the kernel more memory (a smaller dmem= or dmem=!<more>)"
    )


def run_job(cfg: DictConfig, output_dir: Path) -> Outcome:
    """Simulate, write ``results.parquet`` into ``output_dir`` atomically, print the summary."""
    outcome = simulate(cfg)
    atomic_write_parquet(outcome.row, output_dir / RESULTS)
    print_summary(outcome.row)
    if outcome.carves_out and outcome.shortfall_bytes:
        raise _shortfall(outcome)
    return outcome


@hydra.main(version_base="1.3", config_path="pkg://pagelab.conf", config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    """Entry point Hydra calls once per job."""
    try:
        run_job(cfg, Path(HydraConfig.get().runtime.output_dir))
    except PagelabError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"pagelab: error: {error}", file=sys.stderr)
        sys.exit(2)


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
