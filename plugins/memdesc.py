"""memdesc: Matthew Wilcox's memory descriptors, a smaller struct page plus a descriptor per folio.

The plan (kernelnewbies.org/MatthewWilcox/Memdescs, LWN 974937) shrinks ``struct page`` to
one 8-byte ``memdesc`` word per 4 KiB page (``variant: final``): a type in the low bits and
a pointer to a separately allocated descriptor, one per folio, per slab and per page-table
page. The interim step (kernelnewbies MatthewWilcox/Memdescs/Path, ``variant: interim``)
keeps a 32-byte struct page (flags, memdesc/refcount, private/mapcount) and allocates only
the folio separately. ``struct folio`` is about 80 bytes by the listed fields (flags, lru,
mapping, index, private, refcount, mapcount, pincount, order, pfn, memcg); from kmalloc it
takes the kmalloc-96 class, the smallest size class that holds 80 bytes (the classes are the
powers of two from 8 plus 96 and 192: mm/slab_common.c kmalloc_info[]). A dedicated cache
with 16-byte alignment would pack them at 80: ``folio_descriptor: 80``.

Metadata thus scales with the number of folios, not pages: page cache is allocated in
readahead folios (the folio census of :mod:`pagelab.models.readahead`, as the ``folio`` strategy),
mapped memory in 4 KiB folios except the whole PMDs ``workload.thp`` gives THPs to (one
2 MiB folio each). Free memory needs no descriptor (a buddy page's memdesc is its type).
Not modelled: the slab descriptors of the slabs holding these descriptors (one per 42
descriptors of 96 bytes in a 4 KiB slab), and kernel slab memory of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from pagelab.plugin import (
    THP_KINDS,
    Allocation,
    Machine,
    PagelabError,
    StrategySpec,
    ceil_div,
    folio_census,
    hookimpl,
    memmap,
    parse_size,
    uniform_allocation,
)

STRUCT_PAGE_BYTES = {"final": 8, "interim": 32}
PMD_ORDER = 9  # 512 pages of 4 KiB: one 2 MiB THP folio


@dataclass
class MemdescParams:
    """``variant``: final (8-byte struct page) or interim (32-byte); ``folio_descriptor``: bytes per
    descriptor (96: kmalloc-96); readahead as ``folio``: ``read_size``, ``read_ahead_kb``, ``max_order``."""

    variant: str = "final"
    folio_descriptor: int = 96
    read_size: str = "64K"
    read_ahead_kb: int = 128
    max_order: int = 9


class Memdesc:
    """A smaller memmap plus one slab-allocated descriptor per folio (and, final, per page-table page)."""

    def __init__(self, params: MemdescParams) -> None:
        if params.variant not in STRUCT_PAGE_BYTES:
            raise PagelabError(f"strategy.variant: must be final or interim, got {params.variant!r}")
        if params.folio_descriptor < 1:
            raise PagelabError(f"strategy.folio_descriptor: must be at least 1 byte, got {params.folio_descriptor}")
        self.params = params
        self.read_size = parse_size(params.read_size, "strategy.read_size")

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        small = replace(machine, struct_page_size=STRUCT_PAGE_BYTES[self.params.variant])
        struct_pages, memmap_bytes = memmap(small, page)
        try:
            census = folio_census(requests["bytes"], read_size=self.read_size,
                                  read_ahead_kb=self.params.read_ahead_kb, max_order=self.params.max_order)
        except ValueError as error:
            raise PagelabError(f"strategy: {error}") from None
        table = uniform_allocation(requests, machine, page)
        size = pl.col("bytes")
        huge = page << PMD_ORDER
        thp = pl.col("kind").cast(pl.String).is_in(THP_KINDS[machine.thp])
        # A THP kind's whole PMDs are one folio each, its rest 4 KiB folios (as mapping_tables maps it).
        mapped_folios = pl.when(thp).then(size // huge + ceil_div(size % huge, page)).otherwise(ceil_div(size, page))
        folios = pl.when(pl.col("kind") == "file").then(census["folios"]).otherwise(mapped_folios) * pl.col("count")
        desc = self.params.folio_descriptor
        table_pages = (pl.col("pagetable_bytes") + pl.col("ept_bytes")) // page
        descriptors = folios * desc
        if self.params.variant == "final":
            descriptors = descriptors + table_pages * desc  # a ptdesc per page-table page
        table = table.with_columns(objects=folios, descriptor_bytes=descriptors)
        return Allocation(table, struct_pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("memdesc", MemdescParams, Memdesc, "memdescs: 8- or 32-byte struct page plus a descriptor per folio")]
