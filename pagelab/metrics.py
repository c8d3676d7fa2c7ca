"""The results row: one line of metrics per run, with a fixed column order and types."""

from __future__ import annotations

from typing import Any

import polars as pl

from pagelab.allocator import Allocation, Machine
from pagelab.placement import Placement

# Fixed leading columns; strategy.* and workload.* parameter columns follow, sorted.
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String,
    "workload": pl.String,
    "seed": pl.Int64,
    "pagelab_version": pl.String,
    "installed_bytes": pl.Int64,
    "nodes": pl.Int64,
    "struct_pages": pl.Int64,
    "memmap_bytes": pl.Int64,
    "descriptor_bytes": pl.Int64,
    "pagetable_bytes": pl.Int64,
    "metadata_bytes": pl.Int64,
    "requested_bytes": pl.Int64,
    "allocated_bytes": pl.Int64,
    "internal_frag_bytes": pl.Int64,
    "stranded_bytes": pl.Int64,
    "overhead_bytes": pl.Int64,
    "overhead_pct": pl.Float64,
    "objects": pl.Int64,
    "guests": pl.Int64,
    "guest_bytes": pl.Int64,
    "shortfall_bytes": pl.Int64,
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
    has_guests: bool,
    params: dict[str, Any],
) -> pl.DataFrame:
    """Sum the placed requests and machine-level costs into one results row."""
    placed = placement.requests
    totals = placed.select(
        requested=(pl.col("bytes") * pl.col("count")).sum(),
        allocated=pl.col("allocated_bytes").sum(),
        objects=pl.col("objects").sum(),
        pagetables=pl.col("pagetable_bytes").sum(),
        guest_bytes=pl.col("bytes").filter(pl.col("kind") == "guest").sum(),
    ).row(0, named=True)
    metadata = allocation.memmap_bytes + allocation.descriptor_bytes + totals["pagetables"]
    internal = totals["allocated"] - totals["requested"]
    stranded = allocation.stranded_bytes + placement.unused_carveout_bytes
    overhead = metadata + internal + stranded
    row: dict[str, Any] = {
        "strategy": strategy,
        "workload": workload,
        "seed": seed,
        "pagelab_version": version,
        "installed_bytes": machine.installed_bytes,
        "nodes": machine.nodes,
        "struct_pages": allocation.struct_pages,
        "memmap_bytes": allocation.memmap_bytes,
        "descriptor_bytes": allocation.descriptor_bytes,
        "pagetable_bytes": totals["pagetables"],
        "metadata_bytes": metadata,
        "requested_bytes": totals["requested"],
        "allocated_bytes": totals["allocated"],
        "internal_frag_bytes": internal,
        "stranded_bytes": stranded,
        "overhead_bytes": overhead,
        "overhead_pct": 100.0 * overhead / machine.installed_bytes,
        "objects": totals["objects"],
        "guests": placement.guests if has_guests else None,
        "guest_bytes": totals["guest_bytes"] if has_guests else None,
        "shortfall_bytes": placement.shortfall_bytes,
    }
    fixed = pl.DataFrame([row], schema=RESULT_SCHEMA)
    extra = {key: params[key] for key in sorted(params)}
    return pl.concat([fixed, pl.DataFrame([extra])], how="horizontal") if extra else fixed
