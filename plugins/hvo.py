"""hvo: guests in HugeTLB pages whose vmemmap is mostly freed (HVO, Muchun Song, 5.14+).

A boot-time HugeTLB pool (``hugepagesz=`` and ``hugepages=``) takes each node's share
given by ``pool``, in ``dmem=`` syntax so that HVO and DMEMFS can be compared at the same
kernel share. Unlike DMEMFS the pool keeps its struct pages, but HugeTLB Vmemmap
Optimization frees the vmemmap of each huge page except ``vmemmap_kept`` pages: a 2 MiB
page's 512 struct pages fill 8 vmemmap pages, a 1 GiB page's 262,144 fill 4096
(Documentation/mm/vmemmap_dedup.rst). One page is kept since about 5.18, two in 5.14 for
2 MiB pages. The boot log of our machine agrees: "28 KiB vmemmap can be freed for a 2.00
MiB page", "16380 KiB vmemmap can be freed for a 1.00 GiB page". Guest memory is backed by
huge pages (pool ``hugetlb``; rounded up, mapped at the huge page size); everything else uses
4 KiB pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab import (
    Allocation,
    Machine,
    PagelabError,
    StrategySpec,
    Pool,
    carveout_per_node,
    guests_in_pool,
    hookimpl,
    memmap,
    parse_dmem,
)
from pagelab.units import GiB, MiB

HUGE_PAGE_SIZES = {"2M": 2 * MiB, "1G": GiB}
POOL = "hugetlb"


@dataclass
class HvoParams:
    """``pool``: per-node HugeTLB share (dmem= syntax); ``hugepagesz``; ``vmemmap_kept`` pages."""

    pool: str = "${workload.dmem}"
    hugepagesz: str = "2M"
    vmemmap_kept: int = 1


class Hvo:
    """A HugeTLB pool for guests, with the vmemmap of its tail struct pages freed."""

    def __init__(self, params: HvoParams) -> None:
        if params.hugepagesz not in HUGE_PAGE_SIZES:
            raise PagelabError(f"strategy.hugepagesz={params.hugepagesz}: x86-64 HugeTLB pages are 2M or 1G")
        self.huge = HUGE_PAGE_SIZES[params.hugepagesz]
        self.pool = params.pool
        self.kept = params.vmemmap_kept

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        vmemmap_pages = self.huge // page * machine.struct_page_size // page  # per huge page
        if not 1 <= self.kept <= vmemmap_pages:
            raise PagelabError(f"strategy.vmemmap_kept: must be within 1..{vmemmap_pages}, got {self.kept}")
        reserved = carveout_per_node(parse_dmem(self.pool, machine.section_size), machine)
        # hugepages= reserves whole huge pages; what is left of the share stays with the kernel.
        pool = [r // self.huge * self.huge for r in reserved]
        _, full_memmap = memmap(machine, page)
        memmap_bytes = [m - p // self.huge * (vmemmap_pages - self.kept) * page for m, p in zip(full_memmap, pool, strict=True)]
        return Allocation(
            guests_in_pool(requests, machine, self.huge, POOL),
            # Struct pages still backed by memory of their own (tails share the kept pages).
            struct_pages=sum(memmap_bytes) // machine.struct_page_size,
            memmap_bytes=tuple(memmap_bytes),
            pools={POOL: Pool(tuple(pool))},
        )


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("hvo", HvoParams, Hvo, "HugeTLB pool for guests with vmemmap optimization")]
