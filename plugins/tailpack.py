"""tailpack: 16K or 64K base pages, with the tails of small files packed into shared pages.

The page cache of a large-page kernel wastes the part of each file's last page past EOF
(Kleikamp and Pulavarty, "Efficient Use of the Page Cache with 64 KB Pages", OLS 2006).
The answer of reiserfs (tails packed into shared blocks) and of the RFC "Tail Packing in
the Page Cache" (18 Jul 2006, ``CONFIG_FILE_TAILS``, for ``PPC_64K_PAGES``) is to keep a
short tail in a kmalloc'd buffer instead of a page, unpacking it on mmap or extend.

Each file's whole base pages stay pages; a tail of at most ``max_tail`` bytes (default half
a base page: a longer tail would save less than half a page) goes to the smallest kmalloc
size class that holds it (the powers of two from 8 plus 96 and 192, mm/slab_common.c
kmalloc_info[]), which packs it with other tails in shared slab pages (assumed full). A
packed tail costs a descriptor of ``tail_descriptor`` bytes (16: an 8-byte pointer to the
buffer and its length, which is below the page, kmalloc-16: our assumption, since the RFC's
structure was not available to us). Everything else is as ``page16k``/``page64k``: one
struct page, allocation unit and PTE per base page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
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

KMALLOC_MIN = 8  # KMALLOC_MIN_SIZE with SLUB
# kmalloc caches that are not powers of two (kmalloc-96, kmalloc-192).
ODD_CLASSES = ((64, 96), (128, 192))


def kmalloc_class(sizes: np.ndarray) -> np.ndarray:
    """The kmalloc size class of each size (bytes, >= 1): 1..8 -> 8, 65..96 -> 96, 97..128 -> 128."""
    sizes = np.maximum(sizes, KMALLOC_MIN)
    power = np.left_shift(np.int64(1), np.ceil(np.log2(sizes)).astype(np.int64))
    # log2 of a float can round a power of two up: never take more than twice the size.
    power = np.where(power // 2 >= sizes, power // 2, power)
    for below, odd in ODD_CLASSES:
        power = np.where((sizes > below) & (sizes <= odd), odd, power)
    return power


@dataclass
class TailpackParams:
    """``page_size``: 16K or 64K; ``max_tail``: largest packed tail (null: half a page); ``tail_descriptor``."""

    page_size: str = "64K"
    max_tail: Optional[str] = None
    tail_descriptor: int = 16


class Tailpack:
    """Large base pages; file tails up to ``max_tail`` in kmalloc buffers instead of pages."""

    def __init__(self, params: TailpackParams) -> None:
        self.page = parse_size(params.page_size, "strategy.page_size")
        if self.page not in (16 * 1024, 64 * 1024):
            raise PagelabError(f"strategy.page_size: tail packing is for 16K or 64K pages, got {params.page_size}")
        self.max_tail = self.page // 2 if params.max_tail is None else parse_size(params.max_tail, "strategy.max_tail")
        if not 0 <= self.max_tail < self.page:
            raise PagelabError(f"strategy.max_tail: must be below the page ({params.page_size}), got {params.max_tail}")
        if params.tail_descriptor < 0:
            raise PagelabError(f"strategy.tail_descriptor: must not be negative, got {params.tail_descriptor}")
        self.descriptor = params.tail_descriptor

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = self.page
        struct_pages, memmap_bytes = memmap(machine, page, section_size=default_section_size(page))
        table = uniform_allocation(requests, machine, page)
        tail_np = requests["bytes"].to_numpy() % page
        tail_class = pl.Series("tail_class", kmalloc_class(np.maximum(tail_np, 1)), dtype=pl.Int64)
        tail = pl.col("bytes") % page
        packed = (pl.col("kind") == "file") & (tail > 0) & (tail <= self.max_tail)
        whole = pl.col("bytes") // page * page
        table = table.with_columns(
            allocated_bytes=pl.when(packed).then((whole + tail_class) * pl.col("count"))
            .otherwise(pl.col("allocated_bytes")),
            descriptor_bytes=pl.when(packed).then(pl.lit(self.descriptor, pl.Int64) * pl.col("count"))
            .otherwise(pl.lit(0, pl.Int64)),
        )
        return Allocation(table, struct_pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("tailpack", TailpackParams, Tailpack, "16K/64K pages with small file tails packed")]
