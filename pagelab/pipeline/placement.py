"""Placing requests into the pools of each NUMA node, without ever going past a pool's size.

Each node has the kernel's pool (what the strategy's own pools leave) and the strategy's
pools. A request costs its allocated and stranded bytes in its pool, and its page tables
in the kernel's pool. The order follows how a host fills up:

1. the host's own needs (reserve, processes, every file with ``cache=all``) in request
   order; when one does not fit, that node stops there and the rest is a shortfall;
2. guests, one at a time in arrival order, by the packing policy;
3. the page cache, which is reclaimable, in draw order, while the next file still fits
   both the cache's budget and its node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pagelab.allocator import KERNEL, Allocation, Machine, per_node
from pagelab.errors import PagelabError
from pagelab.units import format_bytes
from pagelab.workloads.draw import CacheDraw

POLICIES = ("first_fit", "best_fit", "stop_at_first_misfit")
SCALED = ("allocated_bytes", "objects", "pagetable_bytes", "stranded_bytes", "ept_bytes", "descriptor_bytes",
          "memmap_freed_bytes")
POOL_SCHEMA = pl.Schema({
    "node": pl.Int64,
    "pool": pl.String,
    "size_bytes": pl.Int64,
    "metadata_bytes": pl.Int64,  # memmap and descriptors (kernel's pool only)
    "pagetable_bytes": pl.Int64,  # every page table, EPT/NPT included (kernel's pool only)
    "allocated_bytes": pl.Int64,
    "stranded_bytes": pl.Int64,
    "free_bytes": pl.Int64,
    "shortfall_bytes": pl.Int64,  # host needs that did not fit
})


@dataclass(frozen=True)
class Placement:
    """What was placed (``count`` objects of each request, on its node) and each pool's use."""

    requests: pl.DataFrame
    pools: pl.DataFrame
    guests: int
    files_cached: int

    @property
    def fits(self) -> bool:
        """True when every host need found room."""
        return int(self.pools["shortfall_bytes"].sum()) == 0


def shortfall_message(pools: pl.DataFrame) -> str:
    """One line naming each pool, on each node, that lacks memory, and by how much."""
    short = pools.filter(pl.col("shortfall_bytes") > 0)
    return "; ".join(f"node {n} pool {p} lacks {format_bytes(b)}" for n, p, b in
                     short.select("node", "pool", "shortfall_bytes").iter_rows())


def pool_names(allocation: Allocation) -> list[str]:
    """The kernel's pool first, then the strategy's pools in the order it named them."""
    return [KERNEL, *(name for name in allocation.pools if name != KERNEL)]


def capacity(machine: Machine, allocation: Allocation) -> tuple[np.ndarray, np.ndarray]:
    """Size and fixed cost (memmap, descriptors, stranded) of every pool: rows nodes, columns pools."""
    names = pool_names(allocation)
    size = np.zeros((machine.nodes, len(names)), dtype=np.int64)
    fixed = np.zeros_like(size)
    for p, name in enumerate(names[1:], start=1):
        pool = allocation.pools[name]
        size[:, p] = pool.bytes
        fixed[:, p] = pool.stranded or 0
    size[:, 0] = np.array(machine.node_bytes, dtype=np.int64) - size[:, 1:].sum(axis=1)
    fixed[:, 0] = np.add(per_node(allocation.memmap_bytes, machine), per_node(allocation.descriptor_bytes, machine))
    return size, fixed


def object_costs(requests: pl.DataFrame, names: list[str]) -> np.ndarray:
    """Bytes one object of each request takes in each pool (rows requests, columns pools)."""
    count = requests["count"].to_numpy()
    own = (requests["allocated_bytes"] + requests["stranded_bytes"]).to_numpy() // count
    index = requests["pool"].replace_strict(names, list(range(len(names))), return_dtype=pl.Int64).to_numpy()
    cost = np.zeros((requests.height, len(names)), dtype=np.int64)
    cost[np.arange(requests.height), index] = own
    # Page tables and descriptors come from the kernel, which gets back the memmap HVO frees.
    kernel = requests.select(pl.col("pagetable_bytes") + pl.col("ept_bytes") + pl.col("descriptor_bytes")
                             - pl.col("memmap_freed_bytes")).to_series().to_numpy()
    cost[:, 0] += kernel // count
    return cost


def _place_host(rows: np.ndarray, nodes: np.ndarray, counts: np.ndarray, cost: np.ndarray,
                free: np.ndarray, placed: np.ndarray, short: np.ndarray) -> None:
    """Place host needs in order on each node; the first that does not fit stops its node."""
    for node in np.unique(nodes[rows]):
        mine = rows[nodes[rows] == node]
        demand = cost[mine] * counts[mine, None]
        used = np.cumsum(demand, axis=0)
        fits = (used <= free[node]).all(axis=1)
        first = len(mine) if fits.all() else int(np.argmin(fits))
        placed[mine[:first]] = counts[mine[:first]]
        if first < len(mine):
            room = free[node] - (used[first - 1] if first else 0)
            need = cost[mine[first]]
            whole = [room[p] // need[p] for p in np.flatnonzero(need)] or [counts[mine[first]]]
            placed[mine[first]] = int(np.clip(min(whole), 0, counts[mine[first]]))
        short[node] = np.clip(demand.sum(axis=0) - free[node], 0, None)
        free[node] -= (cost[mine] * placed[mine, None]).sum(axis=0)


def _pack(needs: np.ndarray, free: np.ndarray, policy: str) -> np.ndarray:
    """The node of each guest in arrival order (-1: not placed), by ``policy``.

    Packing is sequential by definition (each choice changes the room left), so this
    loops over guests and vectorises over nodes.
    """
    nodes = np.full(len(needs), -1, dtype=np.int64)
    for guest, need in enumerate(needs):
        fits = np.flatnonzero((free >= need).all(axis=1))
        if fits.size == 0:
            if policy == "stop_at_first_misfit":
                break
            continue
        node = fits[np.argmin((free[fits] - need).sum(axis=1))] if policy == "best_fit" else fits[0]
        free[node] -= need
        nodes[guest] = node
    return nodes


def _cache(draw: CacheDraw, nodes: np.ndarray, cost: np.ndarray, free: np.ndarray) -> np.ndarray:
    """How many files of each request the page cache holds: the longest prefix of the draw
    whose memory stays within the budget and within every node's free memory."""
    per_file = cost[draw.order]
    stop = int(np.searchsorted(np.cumsum(per_file.sum(axis=1)), draw.budget, side="right"))
    file_nodes = nodes[draw.order]
    for node in np.unique(file_nodes):
        mine = np.flatnonzero(file_nodes == node)
        over = ~(np.cumsum(per_file[mine], axis=0) <= free[node]).all(axis=1)
        if over.any():
            stop = min(stop, int(mine[np.argmax(over)]))
    cached = np.bincount(draw.order[:stop], minlength=len(nodes))
    np.subtract.at(free, file_nodes[:stop], per_file[:stop])
    return cached


def place(machine: Machine, allocation: Allocation, *, policy: str = "first_fit",
          cache: CacheDraw | None = None) -> Placement:
    """Place the host's needs, pack the guests by ``policy``, then fill the page cache."""
    if policy not in POLICIES:
        raise PagelabError(f"workload.guests.policy: unknown {policy!r}; choose one of {', '.join(POLICIES)}")
    requests = allocation.requests
    names = pool_names(allocation)
    size, fixed = capacity(machine, allocation)
    free = size - fixed
    cost = object_costs(requests, names)
    counts = requests["count"].to_numpy()
    nodes = requests["node"].to_numpy().copy()
    placed = np.zeros(requests.height, dtype=np.int64)
    short = np.clip(-free, 0, None)  # metadata alone may overflow a pool

    is_guest = requests["guest"].is_not_null().to_numpy()
    is_cached = (requests["kind"] == "file").to_numpy() & (cache is not None)
    _place_host(np.flatnonzero(~is_guest & ~is_cached), nodes, counts, cost, free, placed, short)

    guest_rows = np.flatnonzero(is_guest)
    guest_ids, member = np.unique(requests["guest"].to_numpy()[guest_rows], return_inverse=True)
    needs = np.zeros((len(guest_ids), len(names)), dtype=np.int64)
    np.add.at(needs, member, cost[guest_rows] * counts[guest_rows, None])
    guest_node = _pack(needs, free, policy)
    nodes[guest_rows] = guest_node[member]
    placed[guest_rows] = np.where(guest_node[member] >= 0, counts[guest_rows], 0)

    if cache is not None:
        cached = _cache(cache, nodes, cost, free)
        placed[is_cached] = cached[is_cached]

    scaled = requests.with_columns(
        node=pl.Series(nodes), _placed=pl.Series(placed)
    ).filter(pl.col("_placed") > 0).with_columns(
        *(pl.col(c) // pl.col("count") * pl.col("_placed") for c in SCALED), count=pl.col("_placed")
    ).drop("_placed")
    return Placement(
        requests=scaled,
        pools=_pool_table(scaled, names, size, fixed, short, allocation, machine),
        guests=int((guest_node >= 0).sum()),
        files_cached=int(placed[(requests["kind"] == "file").to_numpy()].sum()),
    )


def _pool_table(placed: pl.DataFrame, names: list[str], size: np.ndarray, fixed: np.ndarray,
                short: np.ndarray, allocation: Allocation, machine: Machine) -> pl.DataFrame:
    """One row per node and pool: its size, what it holds, what is free and what was short."""
    nodes = machine.nodes
    grid = pl.DataFrame({
        "node": np.repeat(np.arange(nodes), len(names)),
        "pool": names * nodes,
        "size_bytes": size.ravel(),
        "_fixed": fixed.ravel(),
        "shortfall_bytes": short.ravel(),
    }).with_columns(pl.col("node").cast(pl.Int64))
    held = placed.group_by("node", "pool").agg(
        allocated_bytes=pl.col("allocated_bytes").sum(), _stranded=pl.col("stranded_bytes").sum()
    )
    tables = placed.group_by("node").agg(
        pagetable_bytes=(pl.col("pagetable_bytes") + pl.col("ept_bytes")).sum(),
        _descriptors=(pl.col("descriptor_bytes") - pl.col("memmap_freed_bytes")).sum(),
    ).with_columns(pool=pl.lit(KERNEL))
    kernel = pl.col("pool") == KERNEL
    return (
        grid.join(held, on=["node", "pool"], how="left")
        .join(tables, on=["node", "pool"], how="left")
        .with_columns(pl.col("allocated_bytes", "_stranded", "pagetable_bytes", "_descriptors").fill_null(0))
        .with_columns(
            metadata_bytes=pl.when(kernel).then(pl.col("_fixed") + pl.col("_descriptors")).otherwise(0),
            stranded_bytes=pl.col("_stranded") + pl.when(kernel).then(0).otherwise(pl.col("_fixed")),
        )
        .with_columns(
            free_bytes=(pl.col("size_bytes") - pl.col("metadata_bytes") - pl.col("pagetable_bytes")
                        - pl.col("allocated_bytes") - pl.col("stranded_bytes")).clip(0)
        )
        .select(list(POOL_SCHEMA))
        .cast(POOL_SCHEMA)
    )
