"""The fleet over time: VMs placed in arrival order, departures freeing room, hourly accounts.

Admission works in exact integers. With an overcommit ratio ``r = num / den`` (1 for pinned
guest memory), a node's pool admits a VM while its guest memory ``G`` stays within
``r x (room - O)``, ``O`` being the overheads (never overcommitted):
``num x (room - O) - den x G >= 0``. Each node keeps that quantity per pool; a VM needs
``num x overhead + den x guest`` of it. Placement is sequential (each choice changes the
room left) and vectorised over hosts; departures, which never interact, are applied
together at the start of each hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from pagelab.errors import PagelabError
from pagelab.fleet.capacity import HostModel
from pagelab.fleet.stream import Stream

POLICIES = ("first_fit", "best_fit", "most_free")
MAX_DENOMINATOR = 1000


def ratio_fraction(ratio: float) -> Fraction:
    """The overcommit ratio as an exact fraction (at most 1/1000 apart); at least 1."""
    if not ratio >= 1.0:
        raise PagelabError(f"workload.fleet.overcommit_ratio: must be at least 1.0 (no overcommit), got {ratio}")
    return Fraction(str(ratio)).limit_denominator(MAX_DENOMINATOR)


@dataclass(frozen=True)
class Admission:
    """One host's admission room per node and pool, and what each VM takes of it (scaled)."""

    room: np.ndarray  # Int64 (nodes, pools)
    need: np.ndarray  # Int64 (vms, pools)
    ratio: Fraction

    def fits_empty_node(self) -> np.ndarray:
        """True for each VM some node of an empty host admits (the others are never placed)."""
        return np.any(np.all(self.need[:, None, :] <= self.room[None, :, :], axis=2), axis=1)


def admission(model: HostModel, ratio: float) -> Admission:
    """Scaled room and needs for ``ratio`` (pinned guest memory is never overcommitted)."""
    r = Fraction(1) if model.pinned else ratio_fraction(ratio)
    guest = np.zeros_like(model.overhead)
    guest[np.arange(len(model.guest)), model.guest_pool] = model.guest
    return Admission(r.numerator * model.room, r.numerator * model.overhead + r.denominator * guest, r)


def place_stream(adm: Admission, stream: Stream, hosts: int, policy: str, *,
                 stop_at_rejection: bool = False) -> np.ndarray:
    """The slot (host x nodes + node) of each VM, -1 if rejected, in arrival order.

    ``first_fit``: the first host and node with room; ``best_fit``: the node left with the
    least room; ``most_free``: a node of the host with the most room (ties: the lowest
    index). Hosts never used yet are identical, so only the first of them is searched.
    ``stop_at_rejection`` ends at the first rejection (the rest stay -1).
    """
    if policy not in POLICIES:
        raise PagelabError(f"workload.fleet.policy: unknown {policy!r}; choose one of {', '.join(POLICIES)}")
    if hosts < 1:
        raise PagelabError(f"workload.fleet.hosts: must be at least 1, got {hosts}")
    nodes, pools = adm.room.shape
    room = [np.tile(adm.room[:, p], hosts) for p in range(pools)]  # one contiguous array per pool
    # What best_fit ranks by (room left per slot, every pool) or most_free (per slot: its host's).
    rank = np.tile(adm.room.sum(axis=1), hosts)
    if policy == "most_free":
        rank = np.repeat(rank.reshape(hosts, nodes).sum(axis=1), nodes)
    need = adm.need
    columns = [np.ascontiguousarray(need[:, p]) for p in range(pools)]
    taken = need.sum(axis=1)
    # Per-VM scalars as flat lists of Python ints: indexing numpy one element at a time is slower
    # (and a list per VM would cost the garbage collector).
    wants, sizes = [column.tolist() for column in columns], taken.tolist()
    slot = np.full(stream.vms, -1, dtype=np.int64)
    arrive = np.searchsorted(stream.arrival, np.arange(stream.hours + 1), side="left").tolist()
    by_departure = np.argsort(stream.departure, kind="stable")
    depart = np.searchsorted(stream.departure[by_departure], np.arange(stream.hours + 1), side="left").tolist()
    touched = 0  # hosts used so far: the ones after them are still empty
    for hour in range(stream.hours):
        gone = by_departure[depart[hour]:depart[hour + 1]]
        gone = gone[slot[gone] >= 0]
        if gone.size:
            where = slot[gone]
            for p in range(pools):
                np.add.at(room[p], where, columns[p][gone])
            if policy == "best_fit":
                np.add.at(rank, where, taken[gone])
            elif policy == "most_free":  # every node of the host gets its room back
                for node in range(nodes):
                    np.add.at(rank, where - where % nodes + node, taken[gone])
        for vm in range(arrive[hour], arrive[hour + 1]):
            limit = min(hosts, touched + 1) * nodes
            ok = room[0][:limit] >= wants[0][vm]
            for p in range(1, pools):
                ok &= room[p][:limit] >= wants[p][vm]
            if policy == "first_fit":
                chosen = int(ok.argmax())
            elif policy == "best_fit":
                chosen = int(np.where(ok, rank[:limit], np.iinfo(np.int64).max).argmin())
            else:
                chosen = int(np.where(ok, rank[:limit], -1).argmax())
            if not ok[chosen]:
                if stop_at_rejection:
                    return slot
                continue
            slot[vm] = chosen
            for p in range(pools):
                room[p][chosen] -= wants[p][vm]
            host = chosen // nodes
            if policy == "best_fit":
                rank[chosen] -= sizes[vm]
            elif policy == "most_free":
                rank[host * nodes:(host + 1) * nodes] -= sizes[vm]
            touched = max(touched, host + 1)
    return slot


def timeline(model: HostModel, adm: Admission, stream: Stream, slot: np.ndarray, hosts: int) -> pl.DataFrame:
    """One row per hour: hosts in use, VMs, guest memory provisioned and used, free memory per
    pool, and the hosts in violation.

    A host is in violation in an hour when, on one of its nodes, a pool's backed memory (the
    overheads, plus guest memory: all of it if pinned, its hourly peak usage if managed)
    exceeds the pool's room. ``min_headroom_bytes`` is the least ``r x (room - O) - G`` over
    every node and pool: negative would mean provisioned memory above its limit.

    What a VM holds while resident (guest memory, overheads, its count, its size) is summed
    per cell from arrivals and departures: the work is proportional to the VMs. Only usage
    changes hour by hour: every (VM, hour it is resident) pair is one element of it, summed
    by one bincount over (hour, slot, pool) cells.
    """
    nodes, pools = model.room.shape
    slots, hours = hosts * nodes, stream.hours
    placed = np.flatnonzero(slot >= 0)
    start, end, where = stream.arrival[placed], stream.departure[placed], slot[placed]
    guest = _resident(start, end, where * pools + model.guest_pool[placed], model.guest[placed], slots * pools, hours)
    guest = guest.reshape(hours, slots, pools)
    every_pool = (where[:, None] * pools + np.arange(pools)).ravel()  # each VM's (slot, pool) cells
    over = _resident(np.repeat(start, pools), np.repeat(end, pools), every_pool, model.overhead[placed].ravel(),
                     slots * pools, hours).reshape(hours, slots, pools)
    resident_host = _resident(start, end, where // nodes, np.ones(placed.size), hosts, hours)
    provisioned = _resident(start, end, np.zeros_like(where), stream.memory_bytes[placed], 1, hours)[:, 0]
    stay = end - start
    vm = np.repeat(placed, stay)  # one element per (VM, hour it is resident)
    hour = np.arange(vm.size) - np.repeat(np.cumsum(stay) - stay - start, stay)
    share = stream.ratio.ravel()[stream.source[vm] * stream.ratio.shape[1] + hour % stream.ratio.shape[1]]
    used = np.floor(stream.memory_bytes[vm] * share)
    room = np.tile(model.room, (hosts, 1))[None]  # (1, slots, pools)
    if model.pinned:
        backed = over + guest
    else:
        cell = (hour * slots + slot[vm]) * pools + model.guest_pool[vm]  # its (hour, slot, pool) cell of guest memory
        backed = over + _sum(cell, used.astype(np.int64), hours * slots * pools).reshape(hours, slots, pools)
    bad_host = (backed > room).any(axis=2).reshape(hours, hosts, nodes).any(axis=2)
    num, den = adm.ratio.numerator, adm.ratio.denominator
    arrived = np.bincount(stream.arrival, minlength=hours)[:hours]
    taken = np.bincount(stream.arrival[placed], minlength=hours)[:hours]
    free = np.clip(room - over - guest, 0, None).sum(axis=1)  # (hours, pools)
    return pl.DataFrame({
        "hour": np.arange(hours, dtype=np.int64),
        "hosts_in_use": (resident_host > 0).sum(axis=1).astype(np.int64),
        "vms_resident": resident_host.sum(axis=1),
        "vms_arrived": arrived.astype(np.int64),
        "vms_placed": taken.astype(np.int64),
        "vms_rejected": (arrived - taken).astype(np.int64),
        "provisioned_bytes": provisioned,  # as sold, before rounding
        "used_bytes": _sum(hour, used, hours),
        **{f"free_{name}_bytes": free[:, p].astype(np.int64) for p, name in enumerate(model.pools)},
        "violations": bad_host.sum(axis=1).astype(np.int64),
        "min_headroom_bytes": ((num * (room - over) - den * guest) // den).min(axis=(1, 2)).astype(np.int64),
    })


def _sum(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Int64 sums of ``values`` by ``index`` (exact: every partial sum is far below 2**53)."""
    return np.bincount(index, weights=values, minlength=size).astype(np.int64)


def _resident(start: np.ndarray, end: np.ndarray, cell: np.ndarray, values: np.ndarray, cells: int,
              hours: int) -> np.ndarray:
    """Int64 (hours, cells): per hour and cell, the sum of ``values`` over the VMs resident then
    (each is added at its arrival hour and taken off at its departure)."""
    size = (hours + 1) * cells  # departures run to ``hours``
    change = _sum(start * cells + cell, values, size) - _sum(end * cells + cell, values, size)
    return np.cumsum(change.reshape(hours + 1, cells), axis=0)[:hours]
