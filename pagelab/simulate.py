"""One run: workload → strategy → placement → results row."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl
from omegaconf import DictConfig

from pagelab import __version__
from pagelab.allocator import OUTPUT_COLUMNS, Allocation
from pagelab.config import flatten, strategy_params
from pagelab.errors import PagelabError
from pagelab.metrics import results_row
from pagelab.placement import place
from pagelab.registry import installed_strategies
from pagelab.workloads import build_workload


@dataclass(frozen=True)
class Outcome:
    """The results row, and whether a carve-out left the host short of memory."""

    row: pl.DataFrame
    carves_out: bool

    @property
    def shortfall_bytes(self) -> int:
        """Host needs that did not fit the kernel's share (0 when all fit)."""
        return int(self.row["shortfall_bytes"][0])


def _check(name: str, allocation: Allocation, height: int) -> None:
    """Reject a strategy result that breaks the interface contract."""
    missing = [c for c in OUTPUT_COLUMNS if c not in allocation.requests.columns]
    if missing:
        raise PagelabError(f"strategy {name}: result lacks column(s) {', '.join(missing)}")
    if allocation.requests.height != height:
        raise PagelabError(f"strategy {name}: returned {allocation.requests.height} rows for {height} requests")


def simulate(cfg: DictConfig) -> Outcome:
    """Run the configured strategy on the configured workload."""
    name = cfg.strategy.name
    spec = installed_strategies()[name].spec
    workload = build_workload(cfg.workload, cfg.seed)
    strategy = spec.factory(strategy_params(cfg))
    allocation = strategy(workload.machine, workload.requests)
    _check(name, allocation, workload.requests.height)
    typed = allocation.requests.with_columns(pl.col(c).cast(pl.Int64) for c in OUTPUT_COLUMNS)
    allocation = dataclasses.replace(allocation, requests=typed)
    placement = place(workload.machine, allocation)
    params = {**flatten("strategy", cfg.strategy), **flatten("workload", cfg.workload)}
    params.pop("strategy.name")
    params.pop("workload.name")
    row = results_row(
        strategy=name,
        workload=workload.name,
        seed=cfg.seed,
        version=__version__,
        machine=workload.machine,
        allocation=allocation,
        placement=placement,
        has_guests=cfg.workload.guests.dataset is not None,
        params=params,
    )
    return Outcome(row, carves_out=any(allocation.carveout_bytes))
