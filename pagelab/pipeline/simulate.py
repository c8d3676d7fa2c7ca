"""One run: workload → strategy → placement → results row."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import polars as pl

from pagelab.allocator import REQUEST_SCHEMA
from pagelab.pipeline.config import RunConfig
from pagelab.pipeline.metrics import results_row
from pagelab.pipeline.placement import Placement, place
from pagelab.strategies.contract import checked_allocation
from pagelab.strategies.registry import installed_strategies
from pagelab.version import pagelab_version
from pagelab.workloads import build_workload


@dataclass(frozen=True)
class Outcome:
    """The results row, the placement behind it (which pools were short), and any further
    tables of the run by name (a fleet's hourly ``timeline``), each one Parquet file."""

    row: pl.DataFrame
    placement: Placement
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def simulate(run: RunConfig) -> Outcome:
    """Run the configured strategy on the configured workload (a fleet: :mod:`pagelab.fleet`)."""
    from pagelab.fleet import (  # deferred: the fleet imports Outcome
        is_fleet,
        simulate_fleet,
    )

    if is_fleet(run):
        return simulate_fleet(run)
    name = run.strategy
    registered = installed_strategies()[name]
    workload = build_workload(run.workload, run.seed)
    strategy = registered.spec.factory(run.params)
    given = workload.requests.select(list(REQUEST_SCHEMA))
    result = strategy(workload.machine, given)
    allocation = checked_allocation(f"{name} ({registered.source})", result, given, workload.machine)
    # The strategy saw the request columns only; put its columns beside the full requests.
    own = allocation.requests.drop(list(REQUEST_SCHEMA))
    allocation = dataclasses.replace(allocation, requests=workload.requests.with_columns(own))
    placement = place(workload.machine, allocation, policy=workload.policy, cache=workload.cache)
    row = results_row(
        strategy=name,
        workload=workload.name,
        seed=run.seed,
        version=pagelab_version(),
        machine=workload.machine,
        allocation=allocation,
        placement=placement,
        has_files=run.workload.files.dataset is not None,
        has_guests=run.workload.guests.dataset is not None,
        params=dict(run.columns),
    )
    return Outcome(row, placement)
