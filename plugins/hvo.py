"""hvo: guests in HugeTLB pages whose vmemmap is mostly freed (HVO, Muchun Song, 5.14+).

A boot-time HugeTLB pool (``hugepagesz=`` and ``hugepages=``) takes each node's share
given by ``pool``, in ``dmem=`` syntax so that HVO and DMEMFS can be compared at the same
kernel share. Unlike DMEMFS the pool keeps its struct pages, but HugeTLB Vmemmap
Optimization frees the vmemmap of each huge page except ``vmemmap_kept`` pages: a 2 MiB
page's 512 struct pages fill 8 vmemmap pages, a 1 GiB page's 262,144 fill 4096
(Documentation/mm/vmemmap_dedup.rst). One page is kept since about 5.18, two in 5.14 for
2 MiB pages. The boot log of our machine agrees: "28 KiB vmemmap can be freed for a 2.00
MiB page", "16380 KiB vmemmap can be freed for a 1.00 GiB page". Guest memory is backed by
huge pages (rounded up, mapped at the huge page size); everything else uses 4 KiB pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab import (
    Allocation,
    Machine,
    PagelabError,
    StrategySpec,
    carveout_per_node,
    guests_in_carveout,
    hookimpl,
    memmap,
    parse_dmem,
)
from pagelab.units import GiB, MiB

HUGE_PAGE_SIZES = {"2M": 2 * MiB, "1G": GiB}


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
        usable = [r // self.huge * self.huge for r in reserved]  # whole huge pages only
        freed = sum(usable) // self.huge * (vmemmap_pages - self.kept) * page
        _, full_memmap = memmap(machine, page)
        memmap_bytes = full_memmap - freed
        allocated = guests_in_carveout(requests, machine, self.huge)
        return Allocation(
            allocated,
            # Struct pages still backed by memory of their own (tails share the kept pages).
            struct_pages=memmap_bytes // machine.struct_page_size,
            memmap_bytes=memmap_bytes,
            stranded_bytes=sum(reserved) - sum(usable),
            carveout_bytes=tuple(usable),
        )


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("hvo", HvoParams, Hvo, "HugeTLB pool for guests with vmemmap optimization")]
