"""Allocation shapes that strategies share: uniform granules, guests in a pool of their own."""

from __future__ import annotations

import polars as pl

from pagelab.allocator import KERNEL, OUTPUT_COLUMNS, Machine
from pagelab.models.pagetables import mapping_tables
from pagelab.units import ceil_div, round_up


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
