"""Placing requests on NUMA nodes: the host's own memory first, then guests first-fit.

Each node has two pools: what the kernel owns (installed memory minus carve-out and
the kernel's share of the memmap and descriptors) and the strategy's carve-out.
A request costs its allocated bytes plus its page tables; page tables always come
from the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pagelab.allocator import POOLS, Allocation, Machine


@dataclass(frozen=True)
class Placement:
    """Requests that found room (nodes assigned), and what could not be placed."""

    requests: pl.DataFrame
    guests: int
    shortfall_bytes: int  # host needs beyond the kernel's share, summed over nodes
    unused_carveout_bytes: int


def _cost_by_pool(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Kernel and carve-out bytes needed per group of ``by`` columns."""
    pool = pl.col("pool").cast(pl.String)
    return frame.group_by(by, maintain_order=True).agg(
        kernel=(pl.when(pool == "kernel").then(pl.col("allocated_bytes")).otherwise(0) + pl.col("pagetable_bytes")).sum(),
        carveout=pl.when(pool == "carveout").then(pl.col("allocated_bytes")).otherwise(0).sum(),
    )


def capacity(machine: Machine, allocation: Allocation) -> np.ndarray:
    """Bytes per node and pool (rows: nodes; columns: kernel, carve-out)."""
    carve = np.array(allocation.carveout_bytes or [0] * machine.nodes, dtype=np.int64)
    overhead = (allocation.memmap_bytes + allocation.descriptor_bytes) // machine.nodes
    kernel = machine.node_bytes - carve - overhead
    return np.stack([kernel, carve], axis=1)


def place(machine: Machine, allocation: Allocation) -> Placement:
    """Place the host's requests, then pack guests first-fit until one fits no node."""
    requests = allocation.requests
    if "pool" not in requests.columns:
        requests = requests.with_columns(pool=pl.lit("kernel"))
    requests = requests.with_columns(pl.col("pool").cast(pl.Enum(POOLS)))
    free = capacity(machine, allocation)

    host = requests.filter(pl.col("guest").is_null())
    fixed = _cost_by_pool(host, ["node"])
    np.subtract.at(free, fixed["node"].to_numpy(), fixed.select("kernel", "carveout").to_numpy())
    shortfall = int(np.clip(-free[:, 0], 0, None).sum())

    guests = requests.filter(pl.col("guest").is_not_null())
    needs = _cost_by_pool(guests, ["guest"]).sort("guest")
    node_of = _first_fit(free, needs.select("kernel", "carveout").to_numpy())
    placed = needs["guest"].head(len(node_of))
    guest_rows = guests.filter(pl.col("guest").is_in(placed.implode())).with_columns(
        node=pl.col("guest").replace_strict(placed, pl.Series(node_of, dtype=pl.Int64), return_dtype=pl.Int64)
    )
    carve_total = sum(allocation.carveout_bytes)
    carve_used = int(pl.concat([host, guest_rows]).filter(pl.col("pool") == "carveout")["allocated_bytes"].sum())
    return Placement(
        requests=pl.concat([host, guest_rows]),
        guests=len(node_of),
        shortfall_bytes=shortfall,
        unused_carveout_bytes=max(carve_total - carve_used, 0),
    )


def _first_fit(free: np.ndarray, needs: np.ndarray) -> list[int]:
    """Node of each guest in arrival order; stops at the first guest that fits nowhere.

    First-fit is sequential by definition (each choice changes the room left), so this
    loops over guests, at most a few thousand, and vectorises over nodes.
    """
    nodes: list[int] = []
    for need in needs:
        fits = np.flatnonzero((free >= need).all(axis=1))
        if fits.size == 0:
            break
        free[fits[0]] -= need
        nodes.append(int(fits[0]))
    return nodes
