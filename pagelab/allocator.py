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

from pagelab.errors import PagelabError
from pagelab.units import MiB

KINDS = ("file", "anon", "guest", "host")
GUEST_MEMORY = ("managed", "pinned")  # StrategySpec.guest_memory
KERNEL = "kernel"
MAPPED_KINDS = ("anon", "guest", "host")
MEMORY_MODELS = ("sparsemem_vmemmap", "flatmem")
THP_MODES = ("never", "madvise", "always")
PTE_BYTES = 8
VA_BITS = 48  # x86-64 and arm64 with 4-level (48-bit) translation
# /sys/kernel/mm/transparent_hugepage/enabled: which kinds get PMD mappings. QEMU asks for
# them on guest RAM with MADV_HUGEPAGE; "always" gives them to every anonymous mapping.
THP_KINDS = {"never": (), "madvise": ("guest",), "always": ("guest", "anon", "host")}

REQUEST_SCHEMA = {
    "kind": pl.Enum(KINDS),
    "bytes": pl.Int64,
    "count": pl.Int64,
    "node": pl.Int64,
}
OUTPUT_COLUMNS = ("allocated_bytes", "objects", "pagetable_bytes", "granule")
OPTIONAL_COLUMNS = {
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


def table_levels(page_size: int) -> int:
    """Levels of a page-table tree whose tables are one ``page_size`` page of 8-byte entries
    and that translates VA_BITS: 4 for 4 KiB and 16 KiB pages, 3 for 64 KiB (arm64)."""
    bits_per_level = (page_size // PTE_BYTES).bit_length() - 1
    return -(-(VA_BITS - (page_size.bit_length() - 1)) // bits_per_level)


def table_bytes(size: pl.Expr, page_size: int, leaf_size: int, leaf_part: pl.Expr, *, own_root: bool) -> pl.Expr:
    """Page-table memory, every level, in whole ``page_size`` pages, for one mapping of ``size`` bytes.

    ``leaf_part`` of it is mapped by ``leaf_size`` leaves (a PMD or PUD), the rest by
    base-page PTEs. A mapping is laid out from an aligned start. It owns every table up
    to the lowest level at which one table covers it; the tables above are shared with
    the other mappings of its address space and are not charged, unless ``own_root``
    (a guest's EPT/NPT tree, one per guest, root included).
    """
    entries = page_size // PTE_BYTES
    leaf_level = 0
    while page_size * entries**leaf_level < leaf_size:
        leaf_level += 1
    if page_size * entries**leaf_level != leaf_size:
        raise PagelabError(f"mapping size {leaf_size}: not a page-table level of {page_size}-byte pages")
    rest = size - leaf_part
    lowest = pl.when(rest > 0).then(0).otherwise(leaf_level)  # the lowest level holding its entries
    total: pl.Expr = pl.lit(0, pl.Int64)
    for level in range(table_levels(page_size)):
        tables = ceil_div(size if level >= leaf_level else rest, page_size * entries ** (level + 1))
        if not own_root:
            owned = (pl.lit(level) <= lowest) | (size > page_size * entries**level)
            tables = pl.when(owned).then(tables).otherwise(0)
        total = total + tables
    return total * page_size


def mapping_tables(machine: Machine, page_size: int, leaf_size: int | None = None, *,
                   thp: bool = True) -> dict[str, pl.Expr]:
    """``pagetable_bytes`` and ``ept_bytes`` of each request (totals over count).

    Mapped kinds (anon, guest, host) need the host's page tables; guest memory also needs
    its second-level tables (EPT/NPT), one tree per guest, at the same mapping size: KVM
    maps a guest page no larger than the host maps it. With ``leaf_size`` every object
    is mapped by leaves of that size (a dpage, a HugeTLB page); without, by base pages,
    and with ``thp`` the whole PMDs of the kinds ``machine.thp`` gives THPs to.
    """
    size = pl.col("bytes")
    if leaf_size is None:
        pmd = page_size * (page_size // PTE_BYTES)
        kinds = THP_KINDS[machine.thp] if thp else ()
        huge = pl.col("kind").cast(pl.String).is_in(kinds)
        leaf_size, leaf_part = pmd, pl.when(huge).then(size // pmd * pmd).otherwise(0)
    else:
        leaf_part = size
    host = table_bytes(size, page_size, leaf_size, leaf_part, own_root=False)
    ept = table_bytes(size, page_size, leaf_size, leaf_part, own_root=True)
    return {
        "pagetable_bytes": pl.when(is_mapped()).then(host * pl.col("count")).otherwise(0).cast(pl.Int64),
        "ept_bytes": pl.when(pl.col("kind") == "guest").then(ept * pl.col("count")).otherwise(0).cast(pl.Int64),
    }


def uniform_allocation(requests: pl.DataFrame, machine: Machine, granule: int, *, page_size: int | None = None,
                       leaf_size: int | None = None, thp: bool = True) -> pl.DataFrame:
    """Round every object up to ``granule``, one object tracked per granule, and map it.

    The common case for base-page strategies: a larger base page is the allocation unit,
    the tracking unit and the page-table page (``page_size`` defaults to ``granule``).
    ``leaf_size`` and ``thp`` are as in :func:`mapping_tables`.
    """
    return requests.with_columns(
        allocated_bytes=round_up(pl.col("bytes"), granule) * pl.col("count"),
        objects=ceil_div(pl.col("bytes"), granule) * pl.col("count"),
        granule=pl.lit(granule, pl.Int64),
        **mapping_tables(machine, page_size or granule, leaf_size, thp=thp),
    )


def guests_in_pool(requests: pl.DataFrame, machine: Machine, granule: int, pool: str) -> pl.DataFrame:
    """Guests in ``pool`` in ``granule`` pages; everything else in the kernel's 4 KiB pages.

    The shape shared by strategies that set guest memory aside (a DMEMFS carve-out, a
    HugeTLB pool): each guest is rounded up to whole granules and mapped at that size.
    """
    page = machine.mmu_page_size
    guest = pl.col("kind") == "guest"
    kernel = uniform_allocation(requests, machine, page)
    in_pool = uniform_allocation(requests, machine, granule, page_size=page, leaf_size=granule)
    return kernel.with_columns(
        *(pl.when(guest).then(in_pool[c]).otherwise(pl.col(c)).alias(c) for c in (*OUTPUT_COLUMNS, "ept_bytes")),
        pool=pl.when(guest).then(pl.lit(pool)).otherwise(pl.lit(KERNEL)),
    )


XA_SLOTS = 64  # XA_CHUNK_SIZE: 1 << XA_CHUNK_SHIFT (6), include/linux/xarray.h
XA_NODE_BYTES = 576  # sizeof(struct xa_node) on 64-bit


def xarray_bytes(entries: pl.Expr) -> pl.Expr:
    """Memory of the xa_nodes an XArray needs for ``entries`` entries at indices 0..entries-1.

    Each node holds 64 slots; every level up to one root node is counted. A single entry
    at index 0 lives in the XArray's head and needs no node (lib/xarray.c).
    """
    nodes: pl.Expr = pl.lit(0, pl.Int64)
    for level in range(1, 12):  # 64**11 > 2**63
        nodes = nodes + pl.when(entries > XA_SLOTS ** (level - 1)).then(ceil_div(entries, XA_SLOTS**level)).otherwise(0)
    return nodes * XA_NODE_BYTES


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
