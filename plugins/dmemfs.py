"""dmemfs: carve guest memory out of the kernel at boot (DMEMFS RFC v2, Tencent 2020).

``dmem=[!]size[KMG][:align][@addr]`` (parsed by :mod:`pagelab.models.reservation`) removes
memory from memblock on each NUMA node, so no struct page exists for it (mm/dmem_reserve.c). dmemfs hands it to guests in
dpages of 4K, 2M or 1G (fs/dmemfs/inode.c check_dpage_size()), tracked by an
allocation bitmap (1 bit per dpage), an error bitmap (1 bit per 4 KiB page) and a
4-byte refcount per dpage (struct dmempage, patch 35). Each guest's dmemfs file keeps
one XArray value entry per dpage in its mapping (radix_get_create_entry()), in 576-byte
xa_nodes of 64 slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab.plugin import (
    Allocation,
    GiB,
    KiB,
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

DPAGE_SIZES = {"4K": 4 * KiB, "2M": 2 * MiB, "1G": GiB}
POOL = "dmem"


@dataclass
class DmemfsParams:
    """``dmem``: the boot parameter (default: the workload's pick); ``dpage_size``: 4K, 2M or 1G."""

    dmem: str = "${workload.dmem}"
    dpage_size: str = "2M"


def _bitmap_bytes(bits: int) -> int:
    """BITS_TO_LONGS(bits) * sizeof(long)."""
    return ceil_div(bits, 64) * 8


class Dmemfs:
    """Guests live in the carve-out (pool ``dmem``); everything else in the kernel's share."""

    def __init__(self, params: DmemfsParams) -> None:
        if params.dpage_size not in DPAGE_SIZES:
            raise PagelabError(
                f"strategy.dpage_size={params.dpage_size}: dmemfs pagesize= must be 4K, 2M or 1G "
                "(PAGE_SIZE, PMD_SIZE or PUD_SIZE)"
            )
        self.dmem_text = params.dmem
        self.dpage = DPAGE_SIZES[params.dpage_size]

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        param = parse_dmem(self.dmem_text, machine.section_size)
        carve = carveout_per_node(param, machine, for_guests=bool((requests["kind"] == "guest").any()))
        kernel = [node - c for node, c in zip(machine.node_bytes, carve, strict=True)]
        struct_pages, memmap_bytes = memmap(machine, machine.mmu_page_size, kernel_bytes_per_node=kernel)
        # The region ends at the top of its node; an unaligned head is wasted.
        usable = [(c // self.dpage) * self.dpage for c in carve]
        descriptors = [
            _bitmap_bytes(u // self.dpage) + _bitmap_bytes(u // machine.mmu_page_size) + 4 * (u // self.dpage)
            if u else 0
            for u in usable
        ]
        guests = guests_in_pool(requests, machine, self.dpage, POOL)
        xarray = xarray_bytes(ceil_div(pl.col("bytes"), self.dpage)) * pl.col("count")
        return Allocation(
            guests.with_columns(descriptor_bytes=pl.when(pl.col("kind") == "guest").then(xarray).otherwise(0)),
            struct_pages=struct_pages,
            memmap_bytes=memmap_bytes,
            descriptor_bytes=descriptors,
            pools={POOL: Pool(tuple(carve), tuple(c - u for c, u in zip(carve, usable, strict=True)))},
        )


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("dmemfs", DmemfsParams, Dmemfs, "DMEMFS carve-out for guest memory",
                         guest_memory="pinned")]
