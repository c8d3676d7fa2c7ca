"""One run: workload → strategy → placement → results row."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import polars as pl
from omegaconf import DictConfig

from pagelab import __version__
from pagelab.allocator import REQUEST_SCHEMA
from pagelab.pipeline.config import flatten, strategy_params
from pagelab.pipeline.metrics import results_row
from pagelab.pipeline.placement import Placement, place
from pagelab.strategies.contract import checked_allocation
from pagelab.strategies.registry import installed_strategies
from pagelab.workloads import build_workload


@dataclass(frozen=True)
class Outcome:
    """The results row, the placement behind it (which pools were short), and any further
    tables of the run by name (a fleet's hourly ``timeline``), each one Parquet file."""

    row: pl.DataFrame
    placement: Placement
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def simulate(cfg: DictConfig) -> Outcome:
    """Run the configured strategy on the configured workload (a fleet: :mod:`pagelab.fleet`)."""
    from pagelab.fleet import (  # deferred: the fleet imports Outcome
        is_fleet,
        simulate_fleet,
    )

    if is_fleet(cfg):
        return simulate_fleet(cfg)
    name = cfg.strategy.name
    registered = installed_strategies()[name]
    workload = build_workload(cfg.workload, cfg.seed)
    strategy = registered.spec.factory(strategy_params(cfg))
    given = workload.requests.select(list(REQUEST_SCHEMA))
    result = strategy(workload.machine, given)
    allocation = checked_allocation(f"{name} ({registered.source})", result, given, workload.machine)
    # The strategy saw the request columns only; put its columns beside the full requests.
    own = allocation.requests.drop(list(REQUEST_SCHEMA))
    allocation = dataclasses.replace(allocation, requests=workload.requests.with_columns(own))
    placement = place(workload.machine, allocation, policy=workload.policy, cache=workload.cache)
    params = {**flatten("strategy", cfg.strategy), **flatten("workload", cfg.workload)}
    params.pop("strategy.name")
    params.pop("workload.name")
    params.pop("workload.fleet", None)  # null for one host: no column, as before fleets
    row = results_row(
        strategy=name,
        workload=workload.name,
        seed=cfg.seed,
        version=__version__,
        machine=workload.machine,
        allocation=allocation,
        placement=placement,
        has_files=cfg.workload.files.dataset is not None,
        has_guests=cfg.workload.guests.dataset is not None,
        params=params,
    )
    return Outcome(row, placement)
