"""page16k and page64k: a larger base page (arm64 granules, Android 16K, ppc64 64K).

One struct page per base page; every allocation, page cache included, is rounded up
to the base page; page tables are base pages of 8-byte entries (a 64 KiB table holds
8,192), and THPs are the base page's PMD (2 MiB for 4K, 32 MiB for 16K, 512 MiB for 64K).
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
    default_section_size,
    hookimpl,
    memmap,
    parse_size,
    uniform_allocation,
)


@dataclass
class PageSizeParams:
    """``page_size``: the base page; ``section_size``: null picks the architecture's."""

    page_size: str = "16K"
    section_size: Optional[str] = None


@dataclass
class Page64kParams(PageSizeParams):
    page_size: str = "64K"


class PageSize:
    """A kernel whose PAGE_SIZE is larger than 4 KiB."""

    def __init__(self, params: PageSizeParams) -> None:
        self.page = parse_size(params.page_size, "strategy.page_size")
        if self.page < 4096 or self.page & (self.page - 1):
            raise PagelabError(f"strategy.page_size: must be a power of two >= 4K, got {params.page_size}")
        section = params.section_size
        self.section = parse_size(section, "strategy.section_size") if section else default_section_size(self.page)

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        pages, memmap_bytes = memmap(machine, self.page, section_size=self.section)
        return Allocation(uniform_allocation(requests, machine, self.page), pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [
        StrategySpec("page16k", PageSizeParams, PageSize, "16 KiB base pages"),
        StrategySpec("page64k", Page64kParams, PageSize, "64 KiB base pages"),
    ]
