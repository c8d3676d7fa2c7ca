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
    pagetable_bytes  Int64   page-table memory that maps them (0 when not mapped)
    granule          Int64   allocation unit: one object's waste is below it
    pool             String  optional: the pool the objects live in, ``kernel`` by default
    stranded_bytes   Int64   optional: memory the objects hold beyond ``allocated_bytes``
                             that nobody can use (partly filled clusters); 0 by default

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

from pagelab.errors import PagelabError
from pagelab.units import MiB

KINDS = ("file", "anon", "guest", "host")
KERNEL = "kernel"
MAPPED_KINDS = ("anon", "guest", "host")
MEMORY_MODELS = ("sparsemem_vmemmap", "flatmem")
PTE_BYTES = 8

REQUEST_SCHEMA = {
    "kind": pl.Enum(KINDS),
    "bytes": pl.Int64,
    "count": pl.Int64,
    "node": pl.Int64,
}
OUTPUT_COLUMNS = ("allocated_bytes", "objects", "pagetable_bytes", "granule")
OPTIONAL_COLUMNS = {"pool": pl.String, "stranded_bytes": pl.Int64}

PerNode = int | Sequence[int]


@dataclass(frozen=True)
class Machine:
    """The machine a strategy manages: the memory of each NUMA node.

    Nodes may differ in size. ``cpu_nodes`` says which nodes have CPUs (empty: all of
    them); a memory-only node, such as a CXL expander, has none.
    """

    node_bytes: tuple[int, ...]
    cpu_nodes: tuple[bool, ...] = ()
    mmu_page_size: int = 4096
    struct_page_size: int = 64
    memory_model: str = "sparsemem_vmemmap"
    section_size: int = 128 * MiB

    def __post_init__(self) -> None:
        if not self.node_bytes:
            raise PagelabError("machine: needs at least one node")
        if self.cpu_nodes and len(self.cpu_nodes) != len(self.node_bytes):
            raise PagelabError(f"machine: {len(self.cpu_nodes)} CPU flags for {len(self.node_bytes)} nodes")

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
    ``factory(params)`` returns the :class:`Strategy`.
    """

    name: str
    params: type
    factory: Callable[[Any], Strategy]
    description: str = ""


def per_node(value: PerNode, machine: Machine) -> tuple[int, ...]:
    """``value`` as one int per node: a sequence as given, an int split by node memory."""
    if isinstance(value, int):
        shares = [value * size // machine.installed_bytes for size in machine.node_bytes]
        shares[0] += value - sum(shares)
        return tuple(shares)
    return tuple(int(v) for v in value)


# --- helpers for writing strategies as expressions --------------------------------


def ceil_div(expr: pl.Expr, divisor: int | pl.Expr) -> pl.Expr:
    """Integer ceiling division that stays in Int64."""
    return -((-expr) // divisor)


def round_up(expr: pl.Expr, granule: int | pl.Expr) -> pl.Expr:
    """Round each value up to a multiple of ``granule`` (Int64-safe)."""
    return ceil_div(expr, granule) * granule


def is_mapped() -> pl.Expr:
    """True for requests that user space maps (anon, guest, host), so they need PTEs."""
    return pl.col("kind").cast(pl.String).is_in(MAPPED_KINDS)


def pagetable_bytes(mapping_size: int | pl.Expr) -> pl.Expr:
    """One 8-byte entry per ``mapping_size`` of each mapped object; 0 for page cache."""
    entries = ceil_div(pl.col("bytes"), mapping_size) * pl.col("count")
    return pl.when(is_mapped()).then(entries * PTE_BYTES).otherwise(0).cast(pl.Int64)


def uniform_allocation(requests: pl.DataFrame, granule: int, mapping_size: int) -> pl.DataFrame:
    """Round every object up to ``granule``, one object tracked per granule.

    The common case for base-page strategies: a larger base page is both the
    allocation unit and the tracking unit.
    """
    return requests.with_columns(
        allocated_bytes=round_up(pl.col("bytes"), granule) * pl.col("count"),
        objects=ceil_div(pl.col("bytes"), granule) * pl.col("count"),
        pagetable_bytes=pagetable_bytes(mapping_size),
        granule=pl.lit(granule, pl.Int64),
    )


def guests_in_pool(requests: pl.DataFrame, machine: Machine, granule: int, pool: str) -> pl.DataFrame:
    """Guests in ``pool`` in ``granule`` pages; everything else in the kernel's 4 KiB pages.

    The shape shared by strategies that set guest memory aside at boot (a DMEMFS carve-out,
    a HugeTLB pool): each guest is rounded up to whole granules and mapped at that size.
    """
    page = machine.mmu_page_size
    guest = pl.col("kind") == "guest"
    kernel = uniform_allocation(requests, page, page)
    in_pool = uniform_allocation(requests, granule, granule)
    return kernel.with_columns(
        *(pl.when(guest).then(in_pool[c]).otherwise(pl.col(c)).alias(c) for c in OUTPUT_COLUMNS),
        pool=pl.when(guest).then(pl.lit(pool)).otherwise(pl.lit(KERNEL)),
    )


def default_section_size(page_size: int) -> int:
    """Memory section size of the architecture that runs ``page_size`` base pages.

    x86-64 and arm64 with 4K/16K pages use 128 MiB (SECTION_SIZE_BITS 27); arm64 with
    64K pages uses 512 MiB (SECTION_SIZE_BITS 29), per arch/*/include/asm/sparsemem.h.
    """
    return 512 * MiB if page_size >= 64 * 1024 else 128 * MiB


def memmap(
    machine: Machine,
    page_size: int,
    *,
    kernel_bytes_per_node: Sequence[int] | None = None,
    memory_model: str | None = None,
    section_size: int | None = None,
) -> tuple[int, tuple[int, ...]]:
    """Return ``(struct_pages, memmap_bytes per node)`` for one struct page per ``page_size``.

    ``sparsemem_vmemmap`` builds the memmap per present memory section, so a partly
    present section costs a whole section's struct pages (mm/sparse.c). ``flatmem``
    has one mem_map entry per present page. ``kernel_bytes_per_node`` limits the memmap
    to memory the kernel owns: DMEMFS removes its carve-out from memblock. Each node's
    memmap is allocated on that node (vmemmap_populate() asks for node-local memory).
    """
    model = memory_model or machine.memory_model
    owned = machine.node_bytes if kernel_bytes_per_node is None else tuple(kernel_bytes_per_node)
    if model == "flatmem":
        pages = [node // page_size for node in owned]
    elif model == "sparsemem_vmemmap":
        section = section_size or machine.section_size
        pages = [-(-node // section) * (section // page_size) for node in owned]
    else:
        raise PagelabError(
            f"memory_model: unknown model {model!r}; choose one of {', '.join(MEMORY_MODELS)}"
        )
    return sum(pages), tuple(p * machine.struct_page_size for p in pages)
