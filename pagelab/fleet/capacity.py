"""One host of the fleet, by pagelab's capacity model: its room per pool and each VM's cost.

The strategy runs once on one host's requests (the host reserve, then each distinct VM as
in ``workload=hosting``: its guest row and its VMM ``host`` row). The room of each node and
pool is what :func:`pagelab.pipeline.placement.place` leaves after the host's own needs; a VM costs
:func:`pagelab.pipeline.placement.object_costs` of its two rows. Nothing of the model is re-derived.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from pagelab.allocator import GUEST_MEMORY, REQUEST_SCHEMA, Allocation, Machine
from pagelab.errors import PagelabError
from pagelab.fleet.stream import Stream
from pagelab.pipeline.config import RunConfig
from pagelab.pipeline.placement import (
    Placement,
    capacity,
    object_costs,
    place,
    pool_names,
)
from pagelab.strategies.contract import checked_allocation
from pagelab.strategies.registry import installed_strategies
from pagelab.units import parse_size
from pagelab.workloads import _rows, build_workload


@dataclass(frozen=True)
class HostModel:
    """What one host offers and what each VM of the stream takes from it.

    ``guest`` is the VM's guest memory (allocated in pool ``guest_pool``), the part a managed
    strategy may overcommit; ``overhead`` is the rest, per pool (VMM memory, page tables,
    EPT, descriptors, less any memmap HVO frees), which is never overcommitted.
    """

    pools: tuple[str, ...]
    room: np.ndarray  # Int64 (nodes, pools): free after the host's own needs
    guest: np.ndarray  # Int64 (vms,)
    guest_pool: np.ndarray  # Int64 (vms,)
    overhead: np.ndarray  # Int64 (vms, pools)
    pinned: bool
    machine: Machine
    allocation: Allocation  # the host's own requests only
    placement: Placement  # of the host's own requests

    @property
    def nodes(self) -> int:
        """NUMA nodes per host."""
        return self.room.shape[0]

    def fits_empty_host(self) -> np.ndarray:
        """True for each VM that fits some node of an empty host without overcommit."""
        need = self.overhead + np.eye(len(self.pools), dtype=np.int64)[self.guest_pool] * self.guest[:, None]
        return (need[:, None, :] <= self.room[None, :, :]).all(axis=2).any(axis=1)


def host_model(run: RunConfig, stream: Stream) -> HostModel:
    """Run the configured strategy on one host's requests and read its capacity and costs."""
    name = run.strategy
    registered = installed_strategies()[name]
    if registered.spec.guest_memory not in GUEST_MEMORY:
        raise PagelabError(f"strategy {name}: guest_memory {registered.spec.guest_memory!r} is not one of "
                           f"{', '.join(GUEST_MEMORY)}")
    workload = build_workload(run.workload, run.seed)  # the machine and the host's own needs
    machine, own = workload.machine, workload.requests
    # One guest and one VMM row per distinct (memory, vCPUs): costs are per object.
    kinds = pl.DataFrame({"memory": stream.memory_bytes, "vcpus": stream.vcpus}, schema={
        "memory": pl.Int64, "vcpus": pl.Int64})
    types = kinds.unique(maintain_order=True).sort("memory", "vcpus").with_row_index("type")
    member = kinds.join(types, on=["memory", "vcpus"], how="left", maintain_order="left")["type"].to_numpy()
    guests = run.workload.guests
    vmm = parse_size(guests.vmm_fixed, "workload.guests.vmm_fixed") + types["vcpus"] * parse_size(
        guests.vmm_per_vcpu, "workload.guests.vmm_per_vcpu")
    ids = types["type"].cast(pl.Int64)
    ones, unplaced = [1] * types.height, [-1] * types.height
    requests = pl.concat([own, _rows("guest", types["memory"], ones, unplaced, ids),
                          _rows("host", vmm, ones, unplaced, ids)])
    strategy = registered.spec.factory(run.params)
    given = requests.select(list(REQUEST_SCHEMA))
    allocation = checked_allocation(f"{name} ({registered.source})", strategy(machine, given), given, machine)
    allocation = dataclasses.replace(allocation, requests=requests.with_columns(allocation.requests.drop(
        list(REQUEST_SCHEMA))))
    names = pool_names(allocation)
    cost = object_costs(allocation.requests, names)
    is_own = np.arange(requests.height) < own.height
    host_only = dataclasses.replace(allocation, requests=allocation.requests.filter(pl.Series(is_own)))
    placement = place(machine, host_only, policy="first_fit", cache=workload.cache)
    free = placement.pools.select("node", "pool", "free_bytes").pivot(on="pool", index="node", values="free_bytes")
    room = free.sort("node").select(names).to_numpy().astype(np.int64)
    capacity(machine, allocation)  # the pools' sizes: raises on a strategy whose pools exceed a node
    guest_rows = allocation.requests.slice(own.height, types.height)
    g = (guest_rows["allocated_bytes"] + guest_rows["stranded_bytes"]).to_numpy()
    g_pool = guest_rows["pool"].replace_strict(names, list(range(len(names))), return_dtype=pl.Int64).to_numpy()
    rest = cost[own.height:own.height + types.height].copy()
    rest[np.arange(types.height), g_pool] -= g
    rest += cost[own.height + types.height:]
    return HostModel(
        pools=tuple(names), room=room, guest=g[member], guest_pool=g_pool[member], overhead=rest[member],
        pinned=registered.spec.guest_memory == "pinned", machine=machine, allocation=host_only,
        placement=placement,
    )
