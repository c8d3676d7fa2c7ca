"""clustering: 2^order MMU pages form one kernel page (Dickins 2001; Irwin's pgcl 2003).

One struct page per cluster. Page cache and anonymous memory are allocated in whole
clusters, while page tables stay in 4 KiB MMU pages (pgcl predates THP: no huge
mappings). pgcl measured that only about 3/8 of the PTEs in an 8-page cluster
(PAGE_MMUCOUNT == 8, order 3, the default here) were filled from one VMA (wli,
"pgcl-2.5.70-bk15-1", 2003-06-10): anonymous clusters, the host's VMM memory included,
are partly empty, and that unused part of each cluster is stranded: it takes memory but
holds nothing. Other orders keep the same filled share, an extrapolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab.plugin import (
    Allocation,
    Machine,
    PagelabError,
    StrategySpec,
    ceil_div,
    hookimpl,
    memmap,
    uniform_allocation,
)


@dataclass
class ClusteringParams:
    """``order``: cluster = 2^order MMU pages; ``anon_fill``: filled share of an anon cluster."""

    order: int = 3
    anon_fill: float = 0.375


class Clustering:
    """Allocate in clusters, map in MMU pages."""

    def __init__(self, params: ClusteringParams) -> None:
        if not 0 <= params.order <= 10:
            raise PagelabError(f"strategy.order: must be within 0..10, got {params.order}")
        if not 0 < params.anon_fill <= 1:
            raise PagelabError(f"strategy.anon_fill: must be in (0, 1], got {params.anon_fill}")
        self.params = params

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        mmu = machine.mmu_page_size
        cluster = mmu << self.params.order
        pages, memmap_bytes = memmap(machine, cluster)
        allocated = uniform_allocation(requests, machine, cluster, page_size=mmu, thp=False)
        # Clusters an anon request really occupies when each holds only anon_fill of its PTEs.
        filled = (ceil_div(pl.col("bytes"), mmu) / (self.params.anon_fill * (1 << self.params.order))).ceil()
        spare = ((filled.cast(pl.Int64) - ceil_div(pl.col("bytes"), cluster)) * cluster).clip(0) * pl.col("count")
        anonymous = pl.col("kind").cast(pl.String).is_in(("anon", "host"))
        stranded = pl.when(anonymous).then(spare).otherwise(0).cast(pl.Int64)
        return Allocation(allocated.with_columns(stranded_bytes=stranded), pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("clustering", ClusteringParams, Clustering, "page clustering (pgcl)")]
