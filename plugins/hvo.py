"""hvo: guests in HugeTLB pages whose vmemmap is mostly freed (HVO, Muchun Song, 5.14+).

HugeTLB Vmemmap Optimization frees the vmemmap of each huge page except ``vmemmap_kept``
pages: a 2 MiB page's 512 struct pages fill 8 vmemmap pages, a 1 GiB page's 262,144 fill
4096 (Documentation/mm/vmemmap_dedup.rst). One page is kept since about 5.18, two in 5.14
for 2 MiB pages. The boot log of our machine agrees: "28 KiB vmemmap can be freed for a
2.00 MiB page", "16380 KiB vmemmap can be freed for a 1.00 GiB page". To remap, HVO
splits the PMD that maps the vmemmap into PTEs, one 4 KiB table page per 2 MiB of vmemmap,
i.e. per 128 MiB of memory (vmemmap_split_pmd() in mm/hugetlb_vmemmap.c).

``pool: runtime`` (default): the pool is resized per node as guests arrive (nr_hugepages,
1 GiB pages through hugetlb_cma), so guests take huge pages out of the kernel's memory and
nothing is split at boot. ``pool: boot``: ``hugepagesz=``/``hugepages=`` reserve each node's
``boot_pool`` share (``dmem=`` syntax, so that HVO and DMEMFS can be compared at the same
kernel share) as the pool ``hugetlb``. Guests are backed by huge pages (rounded up, mapped
at the huge page size, one hugetlbfs XArray entry per huge page); everything else uses 4 KiB
pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab.plugin import (
    KERNEL,
    Allocation,
    GiB,
    Machine,
    MiB,
    PagelabError,
    Pool,
    StrategySpec,
    carveout_per_node,
    ceil_div,
    guests_in_pool,
    hookimpl,
    memmap,
    parse_dmem,
    xarray_bytes,
)

HUGE_PAGE_SIZES = {"2M": 2 * MiB, "1G": GiB}
POOL = "hugetlb"
POOL_MODES = ("runtime", "boot")


@dataclass
class HvoParams:
    """``pool``: runtime or boot; ``boot_pool``: per-node share (dmem= syntax); ``hugepagesz``; ``vmemmap_kept``."""

    pool: str = "runtime"
    boot_pool: str = "${workload.dmem}"
    hugepagesz: str = "2M"
    vmemmap_kept: int = 1


class Hvo:
    """A HugeTLB pool for guests, with the vmemmap of its tail struct pages freed."""

    def __init__(self, params: HvoParams) -> None:
        if params.hugepagesz not in HUGE_PAGE_SIZES:
            raise PagelabError(f"strategy.hugepagesz={params.hugepagesz}: x86-64 HugeTLB pages are 2M or 1G")
        if params.pool not in POOL_MODES:
            raise PagelabError(f"strategy.pool: must be runtime or boot, got {params.pool!r}")
        self.huge = HUGE_PAGE_SIZES[params.hugepagesz]
        self.params = params

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        vmemmap_pages = self.huge // page * machine.struct_page_size // page  # per huge page
        if not 1 <= self.params.vmemmap_kept <= vmemmap_pages:
            raise PagelabError(f"strategy.vmemmap_kept: must be within 1..{vmemmap_pages}, got {self.params.vmemmap_kept}")
        freed_per_page = (vmemmap_pages - self.params.vmemmap_kept) * page
        # Memory whose vmemmap one PMD maps: the table page HVO needs to split it covers this.
        split_span = page * (page // 8) // machine.struct_page_size * page
        struct_pages, full = memmap(machine, page)
        guest = pl.col("kind") == "guest"
        huge_pages = ceil_div(pl.col("bytes"), self.huge) * pl.col("count")
        xarray = xarray_bytes(ceil_div(pl.col("bytes"), self.huge)) * pl.col("count")
        if self.params.pool == "runtime":
            table = guests_in_pool(requests, machine, self.huge, KERNEL).with_columns(
                memmap_freed_bytes=pl.when(guest).then(huge_pages * freed_per_page).otherwise(0),
                descriptor_bytes=pl.when(guest).then(
                    xarray + ceil_div(pl.col("bytes"), split_span) * page * pl.col("count")).otherwise(0),
            )
            return Allocation(table, struct_pages, full)
        reserved = carveout_per_node(parse_dmem(self.params.boot_pool, machine.section_size), machine,
                                     for_guests=bool((requests["kind"] == "guest").any()))
        # hugepages= reserves whole huge pages; what is left of the share stays with the kernel.
        pool = [r // self.huge * self.huge for r in reserved]
        memmap_bytes = [m - p // self.huge * freed_per_page for m, p in zip(full, pool, strict=True)]
        table = guests_in_pool(requests, machine, self.huge, POOL).with_columns(
            descriptor_bytes=pl.when(guest).then(xarray).otherwise(0)
        )
        return Allocation(
            table,
            # Struct pages still backed by memory of their own (tails share the kept pages).
            struct_pages=sum(memmap_bytes) // machine.struct_page_size,
            memmap_bytes=tuple(memmap_bytes),
            descriptor_bytes=tuple(ceil_div(p, split_span) * page for p in pool),
            pools={POOL: Pool(tuple(pool))},
        )


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("hvo", HvoParams, Hvo, "HugeTLB pages for guests with vmemmap optimization",
                         guest_memory="pinned")]  # HugeTLB pages are never swapped or reclaimed
