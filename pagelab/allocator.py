"""The allocator interface every strategy implements.

A strategy is a function ``allocate(machine, requests) -> Allocation``, built by a
factory from its params dataclass. It is batch-oriented: ``requests`` is a polars
table with one row per group of identical memory objects, and the strategy adds its
per-request columns with polars expressions (never a Python loop over rows).

Request columns (input)
    kind    Enum   file (page cache) | anon | guest (VM memory) | host (VMM, daemons)
    bytes   Int64  size of one object
    count   Int64  number of such objects (at least 1)
    node    Int64  NUMA node (-1: a guest not placed yet)

Columns a strategy adds (totals over ``count`` objects, so each is a multiple of ``count``)
    allocated_bytes  Int64   memory the objects occupy (>= bytes * count)
    objects          Int64   descriptors the kernel tracks (struct pages, folios, dpages)
    pagetable_bytes  Int64   the host's page tables that map them (0 when not mapped)
    granule          Int64   allocation unit: one object's waste is below it
    pool             String  optional: the pool the objects live in, ``kernel`` by default
    stranded_bytes   Int64   optional: memory the objects hold beyond ``allocated_bytes``
                             that nobody can use (partly filled clusters); 0 by default
    ept_bytes        Int64   optional: second-level page tables (EPT/NPT) of guest memory
    descriptor_bytes Int64   optional: kernel metadata the objects need once placed (an
                             XArray, split vmemmap tables)
    memmap_freed_bytes Int64 optional: memmap the kernel frees once they are placed (HVO)

A strategy may return only its own columns: pagelab keeps the request columns.

Memory is a set of named pools on each node. The kernel's pool is what is left of a node
after the strategy's own pools (a DMEMFS carve-out, a HugeTLB pool, device-DAX, any name a
plugin invents); the memmap, descriptors and every page table live in the kernel's pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl
from polars._typing import PolarsDataType

from pagelab.errors import PagelabError
from pagelab.units import MiB

KINDS = ("file", "anon", "guest", "host")
GUEST_MEMORY = ("managed", "pinned")  # StrategySpec.guest_memory
KERNEL = "kernel"
MAPPED_KINDS = ("anon", "guest", "host")
MEMORY_MODELS = ("sparsemem_vmemmap", "flatmem")
THP_MODES = ("never", "madvise", "always")

REQUEST_SCHEMA = pl.Schema({
    "kind": pl.Enum(KINDS),
    "bytes": pl.Int64(),
    "count": pl.Int64(),
    "node": pl.Int64(),
})
OUTPUT_COLUMNS = ("allocated_bytes", "objects", "pagetable_bytes", "granule")
OPTIONAL_COLUMNS: dict[str, PolarsDataType] = {
    "pool": pl.String,
    "stranded_bytes": pl.Int64,
    "ept_bytes": pl.Int64,
    "descriptor_bytes": pl.Int64,
    "memmap_freed_bytes": pl.Int64,
}

PerNode = int | Sequence[int]


@dataclass(frozen=True)
class Machine:
    """The machine a strategy manages: the memory of each NUMA node.

    Nodes may differ in size. ``cpu_nodes`` says which nodes have CPUs (empty: all of
    them); a memory-only node, such as a CXL expander, has none. ``thp`` is the kernel's
    transparent huge page mode. ``boot_reserved`` is memory memblock has already taken on
    node 0 when boot-time reservations such as ``dmem=`` run (kernel image, initrd,
    firmware tables, crashkernel); it is part of the host's reserve.
    """

    node_bytes: tuple[int, ...]
    cpu_nodes: tuple[bool, ...] = ()
    mmu_page_size: int = 4096
    struct_page_size: int = 64
    memory_model: str = "sparsemem_vmemmap"
    section_size: int = 128 * MiB
    thp: str = "madvise"
    boot_reserved: int = 0

    def __post_init__(self) -> None:
        if not self.node_bytes:
            raise PagelabError("machine: needs at least one node")
        if self.cpu_nodes and len(self.cpu_nodes) != len(self.node_bytes):
            raise PagelabError(f"machine: {len(self.cpu_nodes)} CPU flags for {len(self.node_bytes)} nodes")
        if self.thp not in THP_MODES:
            raise PagelabError(f"workload.thp: unknown {self.thp!r}; choose one of {', '.join(THP_MODES)}")

    def free_at_boot(self) -> tuple[int, ...]:
        """Memory memblock still has free on each node when boot-time reservations run."""
        return tuple(size - (self.boot_reserved if n == 0 else 0) for n, size in enumerate(self.node_bytes))

    @classmethod
    def even(cls, installed_bytes: int, nodes: int = 1, **kwargs: Any) -> Machine:
        """``installed_bytes`` split evenly over ``nodes`` (any remainder on node 0)."""
        share, rest = divmod(installed_bytes, nodes)
        return cls((share + rest, *[share] * (nodes - 1)), **kwargs)

    @property
    def installed_bytes(self) -> int:
        """Memory installed on all nodes together."""
        return sum(self.node_bytes)

    @property
    def nodes(self) -> int:
        """Number of NUMA nodes."""
        return len(self.node_bytes)

    @property
    def cpu_node_ids(self) -> tuple[int, ...]:
        """The nodes that have CPUs, where processes and their page cache live."""
        return tuple(n for n in range(self.nodes) if not self.cpu_nodes or self.cpu_nodes[n])


@dataclass(frozen=True)
class Pool:
    """Memory a strategy sets aside on each node, outside the kernel's page allocator.

    ``stranded`` is the part of it that no request can use (an unaligned head, a
    remainder below the pool's page size), per node.
    """

    bytes: tuple[int, ...]
    stranded: tuple[int, ...] = ()


@dataclass(frozen=True)
class Allocation:
    """What a strategy returns: per-request columns plus machine-level costs.

    ``memmap_bytes`` and ``descriptor_bytes`` are kernel memory per node (a single int is
    spread over the nodes in proportion to their memory). ``pools`` names the strategy's
    own pools; requests whose ``pool`` column names one are placed there.
    """

    requests: pl.DataFrame
    struct_pages: int
    memmap_bytes: PerNode
    descriptor_bytes: PerNode = 0
    pools: Mapping[str, Pool] = field(default_factory=dict)


class Strategy(Protocol):
    """A configured strategy: allocates a table of requests on a machine."""

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation: ...


@dataclass(frozen=True)
class StrategySpec:
    """A strategy as a plugin registers it.

    ``params`` is a dataclass; it becomes the Hydra config node ``strategy/<name>``.
    ``factory(params)`` returns the :class:`Strategy`. ``guest_memory`` says who backs
    guest memory: ``managed`` (the kernel's page allocator, so a fleet may overcommit it)
    or ``pinned`` (a carve-out or HugeTLB pages, backed whole from the start). ``colour``
    fixes the strategy's colour in every figure; by default it follows from the name alone.
    """

    name: str
    params: type
    factory: Callable[[Any], Strategy]
    description: str = ""
    guest_memory: str = "managed"
    colour: str | None = None  # the figures' colour (any matplotlib colour); None: one from its name


def per_node(value: PerNode, machine: Machine) -> tuple[int, ...]:
    """``value`` as one int per node: a sequence as given, an int split by node memory."""
    if isinstance(value, int):
        shares = [value * size // machine.installed_bytes for size in machine.node_bytes]
        shares[0] += value - sum(shares)
        return tuple(shares)
    return tuple(int(v) for v in value)
