"""folio: large page-cache folios from readahead (Matthew Wilcox; Linux 5.18+).

The memmap is exactly base4k's: folios do not remove struct pages (the article's
point). Page cache is allocated in folios that follow the kernel's readahead ramp
(mm/readahead.c), so allocated bytes equal base4k's while the number of objects the
kernel tracks (folios) is smaller. ``eof: round_up`` models tmpfs ``huge=always``,
where every folio has ``max_order`` and the last one extends past EOF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import polars as pl

from pagelab.plugin import (
    Allocation,
    Machine,
    PagelabError,
    StrategySpec,
    folio_census,
    hookimpl,
    memmap,
    parse_size,
    uniform_allocation,
)


@dataclass
class FolioParams:
    """Readahead: the application's ``read_size``; the device's ``read_ahead_kb`` and ``io_pages``."""

    read_size: str = "64K"  # also `pagelab measure`'s default read() size
    read_ahead_kb: int = 128  # the kernel's default window (VM_READAHEAD_PAGES)
    max_order: int = 9  # MAX_PAGECACHE_ORDER on x86-64: 2 MiB
    eof: str = "trim"  # trim (readahead) | round_up (tmpfs huge=always)
    io_pages: Optional[int] = None  # the device's max_sectors_kb / 4: widens large reads' window


class Folio:
    """Page cache in readahead folios, everything else in 4 KiB pages."""

    def __init__(self, params: FolioParams) -> None:
        if params.eof not in ("trim", "round_up"):
            raise PagelabError(f"strategy.eof: must be trim or round_up, got {params.eof!r}")
        self.params = params
        self.read_size = parse_size(params.read_size, "strategy.read_size")

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        pages, memmap_bytes = memmap(machine, page)
        try:
            census = folio_census(
                requests["bytes"],
                read_size=self.read_size,
                read_ahead_kb=self.params.read_ahead_kb,
                max_order=self.params.max_order,
                eof=self.params.eof,
                io_pages=self.params.io_pages,
            )
        except ValueError as error:
            raise PagelabError(f"strategy: {error}") from None
        base = uniform_allocation(requests, machine, page)
        file = pl.col("kind") == "file"
        folio_granule = page << self.params.max_order if self.params.eof == "round_up" else page
        allocated = base.with_columns(
            allocated_bytes=pl.when(file).then(census["pages"] * page * pl.col("count")).otherwise(pl.col("allocated_bytes")),
            objects=pl.when(file).then(census["folios"] * pl.col("count")).otherwise(pl.col("objects")),
            granule=pl.when(file).then(pl.lit(folio_granule, pl.Int64)).otherwise(pl.col("granule")),
        )
        return Allocation(allocated, pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("folio", FolioParams, Folio, "large page-cache folios (readahead ramp)")]
