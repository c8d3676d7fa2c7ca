"""The allocator interface every strategy implements.

A strategy is a function ``allocate(machine, requests) -> Allocation``, built by a
factory from its params dataclass. It is batch-oriented: ``requests`` is a polars
table with one row per group of identical memory objects, and the strategy adds its
per-request columns with polars expressions (never a Python loop over rows).

Request columns (input)
    kind    Enum   file (page cache) | anon | guest (VM memory) | host (VMM, daemons)
    bytes   Int64  size of one object
    count   Int64  number of such objects
    node    Int64  NUMA node

Columns a strategy adds (totals over ``count`` objects)
    allocated_bytes  Int64  memory the objects occupy (>= bytes * count)
    objects          Int64  descriptors the kernel tracks (struct pages, folios, dpages)
    pagetable_bytes  Int64  page-table memory that maps them (0 when not mapped)
    granule          Int64  allocation unit: one object's waste is below it
    pool             Enum   optional: "kernel" (default) or "carveout" (outside the kernel)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from pagelab.errors import PagelabError
from pagelab.units import MiB

KINDS = ("file", "anon", "guest", "host")
POOLS = ("kernel", "carveout")
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


@dataclass(frozen=True)
class Machine:
    """The machine a strategy manages: installed memory split evenly over NUMA nodes."""

    installed_bytes: int
    nodes: int = 1
    mmu_page_size: int = 4096
    struct_page_size: int = 64
    memory_model: str = "sparsemem_vmemmap"
    section_size: int = 128 * MiB

    @property
    def node_bytes(self) -> int:
        """Memory installed on each node."""
        return self.installed_bytes // self.nodes


@dataclass(frozen=True)
class Allocation:
    """What a strategy returns: per-request columns plus machine-level costs.

    ``carveout_bytes`` is memory taken away from the kernel on each node (DMEMFS);
    requests in the ``carveout`` pool are placed there. ``stranded_bytes`` is memory
    the strategy holds but nobody can use (alignment waste, partly filled clusters);
    pagelab adds the carve-out left unused after placing the requests.
    """

    requests: pl.DataFrame
    struct_pages: int
    memmap_bytes: int
    descriptor_bytes: int = 0
    stranded_bytes: int = 0
    carveout_bytes: tuple[int, ...] = field(default_factory=tuple)


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


def guests_in_carveout(requests: pl.DataFrame, machine: Machine, granule: int) -> pl.DataFrame:
    """Guests in the carve-out pool in ``granule`` pages; everything else in the kernel's 4 KiB pages.

    The shape shared by strategies that set guest memory aside at boot (a DMEMFS carve-out,
    a HugeTLB pool): each guest is rounded up to whole granules and mapped at that size.
    """
    page = machine.mmu_page_size
    guest = pl.col("kind") == "guest"
    kernel = uniform_allocation(requests, page, page)
    in_pool = uniform_allocation(requests, granule, granule)
    return kernel.with_columns(
        *(pl.when(guest).then(in_pool[c]).otherwise(pl.col(c)).alias(c) for c in OUTPUT_COLUMNS),
        pool=pl.when(guest).then(pl.lit("carveout")).otherwise(pl.lit("kernel")),
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
    kernel_bytes_per_node: int | Sequence[int] | None = None,
    memory_model: str | None = None,
    section_size: int | None = None,
) -> tuple[int, int]:
    """Return ``(struct_pages, memmap_bytes)`` for one struct page per ``page_size``.

    ``sparsemem_vmemmap`` builds the memmap per present memory section, so a partly
    present section costs a whole section's struct pages (mm/sparse.c). ``flatmem``
    has one mem_map entry per present page. ``kernel_bytes_per_node`` (one value for
    every node, or one per node) limits the memmap to memory the kernel owns: DMEMFS
    removes its carve-out from memblock.
    """
    model = memory_model or machine.memory_model
    if kernel_bytes_per_node is None:
        kernel_bytes_per_node = machine.node_bytes
    if isinstance(kernel_bytes_per_node, int):
        kernel_bytes_per_node = [kernel_bytes_per_node] * machine.nodes
    if model == "flatmem":
        pages = sum(node // page_size for node in kernel_bytes_per_node)
    elif model == "sparsemem_vmemmap":
        section = section_size or machine.section_size
        sections = sum(-(-node // section) for node in kernel_bytes_per_node)
        pages = sections * (section // page_size)
    else:
        raise PagelabError(
            f"memory_model: unknown model {model!r}; choose one of {', '.join(MEMORY_MODELS)}"
        )
    return pages, pages * machine.struct_page_size
