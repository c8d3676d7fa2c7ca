"""thp: anonymous memory and guest RAM in THP or multi-size THP (mTHP) folios (Linux 6.8+).

The sizes are the anonymous orders 2..9 of x86-64 (``THP_ORDERS_ALL_ANON``): 16K, 32K, 64K,
128K, 256K, 512K, 1M and 2M, one directory each under
``/sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/enabled``
(Documentation/admin-guide/mm/transhuge.rst). ``sizes`` is the enabled set, ``+``-separated
(``16K+64K+2M``; ``all`` for all eight), and applies to every anonymous mapping: the host's anon and VMM memory
and the guests' RAM (``always``; ``workload.thp`` is not used). Page cache stays in 4 KiB
pages.

At a fault, ``alloc_anon_folio()`` (mm/memory.c) takes the orders ``thp_vma_allowable_orders()``
allows, keeps those whose naturally aligned range lies inside the VMA
(``thp_vma_suitable_orders()``) and tries the highest first, falling back to order 0 (a
4 KiB page). A mapping laid out from an aligned start is therefore filled greedily, largest
enabled size first, then 4 KiB pages. Its resident bytes are the memory it touched; the
requests do not say how large its VMA is, so ``vma`` bounds it:

- ``extended`` (default, the upper bound): the VMA reaches past the resident bytes to the
  next boundary of the largest enabled size, so every fault gets the largest size and each
  mapping is rounded up to it. This is the bloat Ingens (Kwon et al., OSDI'16: up to 69 %
  with 2 MiB THP) and HawkEye (Panwar et al., ASPLOS'19) measure: a touch anywhere in an
  aligned region populates all of it. It overstates small VMAs: of ``ci_vm_mappings``'
  resident anonymous mappings, only 20 % have a VMA that holds their resident bytes rounded
  up to 2 MiB.
- ``resident`` (the lower bound): the VMA ends at the resident bytes, so no folio passes
  them: the enabled sizes that fit, largest first, then 4 KiB pages; no bloat, only fewer
  folios and, for 2 MiB, fewer page tables.

The rounding is internal fragmentation. Page tables follow the kernel's real rule: only a
2 MiB folio is PMD-mapped (no PTE table, ``do_huge_pmd_anonymous_page()``); an mTHP below
2 MiB is mapped by ``set_ptes()`` with one PTE per 4 KiB page, so it saves no page-table
memory, only faults and TLB misses (arm64's contpte bit and AMD's coalescing are hints in
the same PTEs). The memmap is base4k's; ``objects`` counts folios.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from pagelab.plugin import (
    Allocation,
    KiB,
    Machine,
    MiB,
    PagelabError,
    StrategySpec,
    hookimpl,
    is_mapped,
    mapping_tables,
    memmap,
    parse_size,
    round_up,
    uniform_allocation,
)

ANON_SIZES = tuple(16 * KiB << order for order in range(8))  # orders 2..9: 16K .. 2M
PMD_SIZE = 2 * MiB


def enabled_sizes(text: str) -> tuple[int, ...]:
    """The ``+``-separated enabled set (or ``all``) as bytes, largest first; a size outside 16K..2M is an error."""
    if str(text).strip() == "all":
        return tuple(reversed(ANON_SIZES))
    sizes = {parse_size(part.strip(), "strategy.sizes") for part in str(text).split("+") if part.strip()}
    bad = sorted(s for s in sizes if s not in ANON_SIZES)
    if not sizes or bad:
        raise PagelabError(f"strategy.sizes={text}: anonymous THP sizes are 16K, 32K, 64K, 128K, 256K, 512K, 1M "
                           "and 2M (hugepages-<size>kB), '+'-separated, or all")
    return tuple(sorted(sizes, reverse=True))


@dataclass
class ThpParams:
    """``sizes``: the enabled THP/mTHP sizes, ``+``-separated, or ``all``; ``vma``: extended or resident."""

    sizes: str = "2M"
    vma: str = "extended"


class Thp:
    """Anonymous and guest memory in the largest enabled folio that fits, page cache in 4 KiB pages."""

    def __init__(self, params: ThpParams) -> None:
        if params.vma not in ("extended", "resident"):
            raise PagelabError(f"strategy.vma: must be extended or resident, got {params.vma!r}")
        self.sizes = enabled_sizes(params.sizes)
        self.vma = params.vma

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        struct_pages, memmap_bytes = memmap(machine, page)
        base = uniform_allocation(requests, machine, page)
        mapped = is_mapped()
        unit = self.sizes[0] if self.vma == "extended" else page
        region = round_up(pl.col("bytes"), unit)  # the part of the VMA the faults fill
        # Greedy fill, largest size first, order 0 last: each size's folios and what is left.
        folios: pl.Expr = pl.lit(0, pl.Int64)
        rest = region
        for size in (*self.sizes, page):
            folios = folios + rest // size
            rest = rest % size
        pmd = PMD_SIZE in self.sizes
        # A PMD-mapped 2 MiB folio needs no PTE table; the rest is PTE-mapped as base4k maps it.
        tables = requests.with_columns(bytes=region).select(
            **mapping_tables(replace(machine, thp="always"), page, thp=pmd))
        table = base.with_columns(
            allocated_bytes=pl.when(mapped).then(region * pl.col("count")).otherwise(pl.col("allocated_bytes")),
            objects=pl.when(mapped).then(folios * pl.col("count")).otherwise(pl.col("objects")),
            granule=pl.when(mapped).then(pl.lit(unit, pl.Int64)).otherwise(pl.col("granule")),
            pagetable_bytes=tables["pagetable_bytes"],
            ept_bytes=tables["ept_bytes"],
        )
        return Allocation(table, struct_pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("thp", ThpParams, Thp, "anonymous memory and guest RAM in THP/mTHP sizes 16K..2M")]
