"""devdax: guest memory from a device-DAX pool with a deduplicated memmap (mainline since 5.17).

The reviewers' alternative to DMEMFS (Joao Martins, Dan Williams, 2020): memory marked
soft-reserved at boot (``efi_fake_mem=<size>@<addr>:0x40000``, EFI_MEMORY_SP, or
``memmap=``) is kept out of the page allocator and handed to ``/dev/daxX.Y``, which QEMU
maps as guest RAM (``memory-backend-file,mem-path=/dev/dax0.0``). Each node's share is
given by ``dmem`` in ``dmem=`` syntax (default the workload's ``dmem``), so devdax and
dmemfs compare at the same kernel share. The pool is ``devdax``, next to the kernel's.

Unlike a carve-out, device-DAX memory has struct pages (``memremap_pages()``), but with
an ``align`` of 2M or 1G they are compound pages whose vmemmap is deduplicated
(``vmemmap_populate_compound_pages()`` in mm/sparse-vmemmap.c, Joao Martins, 5.17): per
compound page the vmemmap page holding the head struct page and the next one, holding the
first tail struct pages, are populated; every further vmemmap page of that compound page
is mapped to that tail page (and for 1 GiB pages, the sections after the first reuse it
too: ``compound_section_tail_page()``). That is 2 of 8 vmemmap pages per 2 MiB and 2 of
4096 per 1 GiB (Documentation/mm/vmemmap_dedup.rst: device-DAX "reuses the tail vmemmap
page", "only half of the savings compared to HugeTLB" at 5.14's rule). The deduplicated
vmemmap is mapped with PTEs: one 4 KiB table page per 2 MiB of vmemmap, i.e. per 128 MiB
of pool (counted as descriptors). It lives in the kernel's memory of its node (no
``altmap``: with one, ``vmemmap_can_optimize()`` is false). ``align=4K`` keeps a full memmap.

Guests are rounded up to ``align`` and mapped at it (``dev_dax_huge_fault()``); device-DAX
translates a file offset to memory through its ranges, with no page-cache XArray.
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
)

ALIGNS = {"4K": 4 * KiB, "2M": 2 * MiB, "1G": GiB}  # daxctl reconfigure-device --align
POOL = "devdax"
KEPT_VMEMMAP_PAGES = 2  # the head's vmemmap page and the reused tail page


@dataclass
class DevdaxParams:
    """``dmem``: each node's soft-reserved share, in dmem= syntax; ``align``: 4K, 2M or 1G."""

    dmem: str = "${workload.dmem}"
    align: str = "2M"


class Devdax:
    """Guests in the device-DAX pool; the kernel keeps the rest with a full memmap."""

    def __init__(self, params: DevdaxParams) -> None:
        if params.align not in ALIGNS:
            raise PagelabError(f"strategy.align={params.align}: device-DAX aligns to 4K, 2M or 1G")
        self.pool_text = params.dmem
        self.align = ALIGNS[params.align]

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        carve = carveout_per_node(parse_dmem(self.pool_text, machine.section_size), machine,
                                  for_guests=bool((requests["kind"] == "guest").any()))
        kernel = [node - c for node, c in zip(machine.node_bytes, carve, strict=True)]
        kernel_pages, kernel_memmap = memmap(machine, page, kernel_bytes_per_node=kernel)
        usable = [c // self.align * self.align for c in carve]
        struct_page = machine.struct_page_size
        if self.align == page:
            dax_memmap = [u // page * struct_page for u in usable]
            tables = [0] * len(usable)
        else:
            dax_memmap = [u // self.align * KEPT_VMEMMAP_PAGES * page for u in usable]
            # One PTE table maps 512 vmemmap pages, the struct pages of 128 MiB of memory.
            span = page // 8 * page // struct_page * page
            tables = [ceil_div(u, span) * page for u in usable]
        guests = guests_in_pool(requests, machine, self.align, POOL)
        return Allocation(
            guests,
            struct_pages=kernel_pages + sum(dax_memmap) // struct_page,
            memmap_bytes=tuple(k + d for k, d in zip(kernel_memmap, dax_memmap, strict=True)),
            descriptor_bytes=tuple(tables),
            pools={POOL: Pool(tuple(carve), tuple(c - u for c, u in zip(carve, usable, strict=True)))},
        )


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("devdax", DevdaxParams, Devdax, "device-DAX pool for guests, deduplicated memmap",
                         guest_memory="pinned")]
