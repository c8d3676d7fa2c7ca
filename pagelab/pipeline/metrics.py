"""The results row: one line of metrics per run, with a fixed column order and types.

Every byte of installed memory is counted once, the same way for every strategy. When a
run fits, ``metadata + allocated + stranded + free == installed``. Overhead is what the
strategy costs by its own rules (metadata, internal fragmentation, stranded memory);
memory left after placement is ``free_bytes``, never overhead.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from polars._typing import PolarsDataType

from pagelab.allocator import Allocation, Machine, per_node
from pagelab.pipeline.placement import POOL_SCHEMA, Placement

# Fleet columns (workload=fleet, docs/fleet.md), null for a single host. In a fleet run the
# columns before them describe one host of the fleet with its own needs placed and no guests.
FLEET_SCHEMA: dict[str, PolarsDataType] = {
    "fleet_guest_memory": pl.String,  # managed (overcommittable) or pinned
    "fleet_hosts": pl.Int64,  # H, the fleet simulated
    "fleet_hosts_needed": pl.Int64,  # smallest fleet with no rejection (null: not searched)
    "fleet_host_room_bytes": pl.Int64,  # one host's free memory after its own needs, every pool
    "fleet_vms": pl.Int64,  # VMs in the stream
    "fleet_placed": pl.Int64,
    "fleet_rejected": pl.Int64,
    "fleet_rejection_rate": pl.Float64,  # rejected / VMs
    "fleet_mean_sold_bytes": pl.Int64,  # provisioned guest memory placed, mean over hours
    "fleet_mean_used_bytes": pl.Int64,  # its hourly peak usage, mean over hours
    "fleet_peak_violations": pl.Int64,  # most hosts whose backed memory exceeds a pool in one hour
    "fleet_violation_host_hours": pl.Int64,
    "fleet_unplaceable": pl.Int64,  # VMs too large for an empty host: always rejected
    # Per hour: hosts in use, guest memory sold and used, memory left unsold, hosts in violation.
    "fleet_timeline": pl.List(pl.Struct({
        "hour": pl.Int64, "hosts_in_use": pl.Int64, "provisioned_bytes": pl.Int64, "used_bytes": pl.Int64,
        "free_bytes": pl.Int64, "violations": pl.Int64,
    })),
}

# Fixed leading columns; strategy.* and workload.* parameter columns follow, sorted.
RESULT_SCHEMA: dict[str, PolarsDataType] = {
    "strategy": pl.String,
    "workload": pl.String,
    "seed": pl.Int64,
    "pagelab_version": pl.String,
    "installed_bytes": pl.Int64,
    "nodes": pl.Int64,
    "fits": pl.Boolean,
    "struct_pages": pl.Int64,
    "memmap_bytes": pl.Int64,
    "descriptor_bytes": pl.Int64,
    "pagetable_bytes": pl.Int64,
    "ept_bytes": pl.Int64,
    "metadata_bytes": pl.Int64,
    "requested_bytes": pl.Int64,
    "allocated_bytes": pl.Int64,
    "internal_frag_bytes": pl.Int64,
    "stranded_bytes": pl.Int64,
    "overhead_bytes": pl.Int64,
    "overhead_pct": pl.Float64,
    "free_bytes": pl.Int64,
    "shortfall_bytes": pl.Int64,
    "objects": pl.Int64,
    "files_cached": pl.Int64,
    "file_bytes": pl.Int64,
    "guests": pl.Int64,
    "guest_bytes": pl.Int64,
    # One entry per node and pool (see pagelab.pipeline.placement.POOL_SCHEMA).
    "pools": pl.List(pl.Struct(POOL_SCHEMA)),
    # Fleet runs only (workload=fleet); null for a single host.
    **FLEET_SCHEMA,
}


def results_row(
    *,
    strategy: str,
    workload: str,
    seed: int,
    version: str,
    machine: Machine,
    allocation: Allocation,
    placement: Placement,
    has_files: bool,
    has_guests: bool,
    params: dict[str, Any],
    fleet: dict[str, Any] | None = None,
) -> pl.DataFrame:
    """Sum the placed requests and every pool into one results row; ``fleet`` fills the fleet columns."""
    placed = placement.requests
    file = pl.col("kind") == "file"
    totals = placed.select(
        requested=(pl.col("bytes") * pl.col("count")).sum(),
        allocated=pl.col("allocated_bytes").sum(),
        objects=pl.col("objects").sum(),
        pagetables=pl.col("pagetable_bytes").sum(),
        ept=pl.col("ept_bytes").sum(),
        descriptors=pl.col("descriptor_bytes").sum(),
        freed=pl.col("memmap_freed_bytes").sum(),
        file_bytes=(pl.col("bytes") * pl.col("count")).filter(file).sum(),
        guest_bytes=pl.col("bytes").filter(pl.col("kind") == "guest").sum(),
    ).row(0, named=True)
    pools = placement.pools.select(
        stranded=pl.col("stranded_bytes").sum(), free=pl.col("free_bytes").sum(), short=pl.col("shortfall_bytes").sum()
    ).row(0, named=True)
    memmap = sum(per_node(allocation.memmap_bytes, machine)) - totals["freed"]
    descriptors = sum(per_node(allocation.descriptor_bytes, machine)) + totals["descriptors"]
    metadata = memmap + descriptors + totals["pagetables"] + totals["ept"]
    internal = totals["allocated"] - totals["requested"]
    overhead = metadata + internal + pools["stranded"]
    row: dict[str, Any] = {
        "strategy": strategy,
        "workload": workload,
        "seed": seed,
        "pagelab_version": version,
        "installed_bytes": machine.installed_bytes,
        "nodes": machine.nodes,
        "fits": placement.fits,
        "struct_pages": allocation.struct_pages - totals["freed"] // machine.struct_page_size,
        "memmap_bytes": memmap,
        "descriptor_bytes": descriptors,
        "pagetable_bytes": totals["pagetables"],
        "ept_bytes": totals["ept"],
        "metadata_bytes": metadata,
        "requested_bytes": totals["requested"],
        "allocated_bytes": totals["allocated"],
        "internal_frag_bytes": internal,
        "stranded_bytes": pools["stranded"],
        "overhead_bytes": overhead,
        "overhead_pct": 100.0 * overhead / machine.installed_bytes,
        "free_bytes": pools["free"],
        "shortfall_bytes": pools["short"],
        "objects": totals["objects"],
        "files_cached": placement.files_cached if has_files else None,
        "file_bytes": totals["file_bytes"] if has_files else None,
        "guests": placement.guests if has_guests else None,
        "guest_bytes": totals["guest_bytes"] if has_guests else None,
        "pools": placement.pools.to_dicts(),
        **{key: (fleet or {}).get(key) for key in FLEET_SCHEMA},
    }
    fixed = pl.DataFrame([row], schema=RESULT_SCHEMA)
    extra = {key: params[key] for key in sorted(params)}
    return pl.concat([fixed, pl.DataFrame([extra])], how="horizontal") if extra else fixed
