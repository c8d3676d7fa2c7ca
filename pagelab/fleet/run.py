"""One fleet run: stream -> host model -> placement -> timeline, search -> results row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
from omegaconf import DictConfig

from pagelab import __version__
from pagelab.errors import PagelabError
from pagelab.fleet.capacity import host_model
from pagelab.fleet.search import hosts_needed, subset
from pagelab.fleet.simulation import admission, place_stream, ratio_fraction, timeline
from pagelab.fleet.stream import build_stream
from pagelab.pipeline.config import flatten
from pagelab.pipeline.metrics import results_row
from pagelab.units import parse_size

if TYPE_CHECKING:
    from pagelab.pipeline.simulate import Outcome

TIMELINE = "timeline"


def is_fleet(cfg: DictConfig) -> bool:
    """True when the workload is a fleet (``workload.fleet.hosts`` > 0)."""
    fleet = cfg.workload.get("fleet")
    return fleet is not None and fleet.hosts > 0


def _check(fleet: DictConfig) -> None:
    """One line naming the first bad field of ``workload.fleet``."""
    if fleet.hours < 1:
        raise PagelabError(f"workload.fleet.hours: must be at least 1, got {fleet.hours}")
    ratio_fraction(fleet.overcommit_ratio)
    for name in ("load", "lifetime_mean_hours"):
        if not fleet[name] > 0:
            raise PagelabError(f"workload.fleet.{name}: must be larger than 0, got {fleet[name]}")
    if fleet.lifetime_sigma < 0 or fleet.vms < 0:
        name = "lifetime_sigma" if fleet.lifetime_sigma < 0 else "vms"
        raise PagelabError(f"workload.fleet.{name}: must not be negative, got {fleet[name]}")


def simulate_fleet(cfg: DictConfig) -> Outcome:
    """Run the configured strategy over a fleet of ``workload.fleet.hosts`` hosts."""
    from pagelab.pipeline.simulate import (
        Outcome,  # deferred: simulate routes fleet runs here
    )

    fleet = cfg.workload.fleet
    _check(fleet)
    installed = parse_size(cfg.workload.installed, "workload.installed")
    stream = build_stream(fleet, seed=cfg.seed, fleet_bytes=fleet.hosts * installed)
    model = host_model(cfg, stream)
    spec_memory = "pinned" if model.pinned else "managed"
    adm = admission(model, fleet.overcommit_ratio)
    slot = place_stream(adm, stream, fleet.hosts, fleet.policy)
    hourly = timeline(model, adm, stream, slot, fleet.hosts)
    fits_host = model.fits_empty_host()
    needed = hosts_needed(*subset(adm, stream, fits_host), fleet.policy) if fleet.search else None
    rejected = int((slot < 0).sum())
    summary: dict[str, Any] = {
        "fleet_guest_memory": spec_memory,
        "fleet_hosts": fleet.hosts,
        "fleet_hosts_needed": needed,
        "fleet_host_room_bytes": int(model.room.sum()),
        "fleet_vms": stream.vms,
        "fleet_placed": stream.vms - rejected,
        "fleet_rejected": rejected,
        "fleet_rejection_rate": rejected / stream.vms if stream.vms else 0.0,
        "fleet_mean_sold_bytes": int(round(float(hourly["provisioned_bytes"].mean()))),
        "fleet_mean_used_bytes": int(round(float(hourly["used_bytes"].mean()))),
        "fleet_peak_violations": int(hourly["violations"].max()),
        "fleet_violation_host_hours": int(hourly["violations"].sum()),
        "fleet_unplaceable": int((~fits_host).sum()),
        "fleet_timeline": hourly.select(
            "hour", "hosts_in_use", "provisioned_bytes", "used_bytes",
            free_bytes=pl.sum_horizontal(pl.col(f"free_{p}_bytes") for p in model.pools), violations="violations",
        ).to_dicts(),
    }
    params = {**flatten("strategy", cfg.strategy), **flatten("workload", cfg.workload)}
    params.pop("strategy.name")
    params.pop("workload.name")
    row = results_row(
        strategy=cfg.strategy.name, workload=cfg.workload.name, seed=cfg.seed, version=__version__,
        machine=model.machine, allocation=model.allocation, placement=model.placement,
        has_files=cfg.workload.files.dataset is not None, has_guests=False, params=params, fleet=summary,
    )
    return Outcome(row, model.placement, {TIMELINE: hourly})

