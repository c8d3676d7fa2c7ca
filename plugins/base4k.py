"""base4k: Linux today. One 64-byte struct page per 4 KiB page of installed memory; mappings
in 4 KiB pages, and in 2 MiB THPs where ``workload.thp`` gives them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import polars as pl

from pagelab.plugin import (
    Allocation,
    Machine,
    StrategySpec,
    hookimpl,
    memmap,
    uniform_allocation,
)


@dataclass
class Base4kParams:
    """``memory_model``: sparsemem_vmemmap or flatmem; null keeps the workload's machine's."""

    memory_model: Optional[str] = None


class Base4k:
    """Every allocation rounded up to 4 KiB; page tables in 4 KiB pages."""

    def __init__(self, params: Base4kParams) -> None:
        self.params = params

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        pages, memmap_bytes = memmap(machine, page, memory_model=self.params.memory_model)
        return Allocation(uniform_allocation(requests, machine, page), pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("base4k", Base4kParams, Base4k, "4 KiB pages, one struct page each")]
