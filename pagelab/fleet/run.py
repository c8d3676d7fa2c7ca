"""One fleet run: stream -> host model -> placement -> timeline, search -> results row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from pagelab.errors import PagelabError
from pagelab.fleet.capacity import HostModel, host_model
from pagelab.fleet.search import place_and_search
from pagelab.fleet.simulation import Admission, admission, ratio_fraction, timeline
from pagelab.fleet.stream import Stream, build_stream
from pagelab.pipeline.config import RunConfig
from pagelab.pipeline.metrics import results_row
from pagelab.units import parse_size
from pagelab.version import pagelab_version
from pagelab.workloads.config import FleetConfig

if TYPE_CHECKING:
    from pagelab.pipeline.simulate import Outcome

TIMELINE = "timeline"


def is_fleet(run: RunConfig) -> bool:
    """True when the workload is a fleet (``workload.fleet.hosts`` > 0)."""
    fleet = run.workload.fleet
    return fleet is not None and fleet.hosts > 0


def _check(fleet: FleetConfig) -> None:
    """One line naming the first bad field of ``workload.fleet``."""
    if fleet.hours < 1:
        raise PagelabError(f"workload.fleet.hours: must be at least 1, got {fleet.hours}")
    ratio_fraction(fleet.overcommit_ratio)
    for name in ("load", "lifetime_mean_hours"):
        if not getattr(fleet, name) > 0:
            raise PagelabError(f"workload.fleet.{name}: must be larger than 0, got {getattr(fleet, name)}")
    if fleet.lifetime_sigma < 0 or fleet.vms < 0:
        name = "lifetime_sigma" if fleet.lifetime_sigma < 0 else "vms"
        raise PagelabError(f"workload.fleet.{name}: must not be negative, got {getattr(fleet, name)}")


def fleet_inputs(run: RunConfig) -> tuple[FleetConfig, Stream, HostModel, Admission]:
    """The checked ``workload.fleet``, its stream of VMs, the host model and its admission room."""
    fleet = run.workload.fleet
    assert fleet is not None  # is_fleet(run)
    _check(fleet)
    installed = parse_size(run.workload.installed, "workload.installed")
    stream = build_stream(fleet, seed=run.seed, fleet_bytes=fleet.hosts * installed)
    model = host_model(run, stream)
    return fleet, stream, model, admission(model, fleet.overcommit_ratio)


def simulate_fleet(run: RunConfig) -> Outcome:
    """Run the configured strategy over a fleet of ``workload.fleet.hosts`` hosts."""
    from pagelab.pipeline.simulate import (
        Outcome,  # deferred: simulate routes fleet runs here
    )

    fleet, stream, model, adm = fleet_inputs(run)
    spec_memory = "pinned" if model.pinned else "managed"
    fits_host = model.fits_empty_host()
    slot, needed = place_and_search(adm, stream, fleet.hosts, fleet.policy, fits_host, fleet.search)
    hourly = timeline(model, adm, stream, slot, fleet.hosts)
    rejected = int((slot < 0).sum())
    over_hours = hourly.select(sold=pl.mean("provisioned_bytes"), used=pl.mean("used_bytes"),
                               peak=pl.max("violations"), violations=pl.sum("violations")).row(0, named=True)
    summary: dict[str, Any] = {
        "fleet_guest_memory": spec_memory,
        "fleet_hosts": fleet.hosts,
        "fleet_hosts_needed": needed,
        "fleet_host_room_bytes": int(model.room.sum()),
        "fleet_vms": stream.vms,
        "fleet_placed": stream.vms - rejected,
        "fleet_rejected": rejected,
        "fleet_rejection_rate": rejected / stream.vms if stream.vms else 0.0,
        "fleet_mean_sold_bytes": int(round(over_hours["sold"])),
        "fleet_mean_used_bytes": int(round(over_hours["used"])),
        "fleet_peak_violations": int(over_hours["peak"]),
        "fleet_violation_host_hours": int(over_hours["violations"]),
        "fleet_unplaceable": int((~fits_host).sum()),
        "fleet_timeline": hourly.select(
            "hour", "hosts_in_use", "provisioned_bytes", "used_bytes",
            free_bytes=pl.sum_horizontal(pl.col(f"free_{p}_bytes") for p in model.pools), violations="violations",
        ).to_dicts(),
    }
    row = results_row(
        strategy=run.strategy, workload=run.workload.name, seed=run.seed, version=pagelab_version(),
        machine=model.machine, allocation=model.allocation, placement=model.placement,
        has_files=run.workload.files.dataset is not None, has_guests=False, params=dict(run.columns), fleet=summary,
    )
    return Outcome(row, model.placement, {TIMELINE: hourly})

