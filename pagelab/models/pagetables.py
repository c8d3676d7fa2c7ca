"""Page tables: the host's, and a guest's second level (EPT/NPT), in whole pages at every level."""

from __future__ import annotations

import polars as pl

from pagelab.allocator import MAPPED_KINDS, Machine
from pagelab.errors import PagelabError
from pagelab.units import ceil_div

PTE_BYTES = 8
VA_BITS = 48  # x86-64 and arm64 with 4-level (48-bit) translation
# /sys/kernel/mm/transparent_hugepage/enabled: which kinds get PMD mappings. QEMU asks for
# them on guest RAM with MADV_HUGEPAGE; "always" gives them to every anonymous mapping.
THP_KINDS = {"never": (), "madvise": ("guest",), "always": ("guest", "anon", "host")}


def is_mapped() -> pl.Expr:
    """True for requests that user space maps (anon, guest, host), so they need PTEs."""
    return pl.col("kind").cast(pl.String).is_in(MAPPED_KINDS)


def table_levels(page_size: int) -> int:
    """Levels of a page-table tree whose tables are one ``page_size`` page of 8-byte entries
    and that translates VA_BITS: 4 for 4 KiB and 16 KiB pages, 3 for 64 KiB (arm64)."""
    bits_per_level = (page_size // PTE_BYTES).bit_length() - 1
    return ceil_div(VA_BITS - (page_size.bit_length() - 1), bits_per_level)


def table_bytes(size: pl.Expr, page_size: int, leaf_size: int, leaf_part: pl.Expr, *, own_root: bool) -> pl.Expr:
    """Page-table memory, every level, in whole ``page_size`` pages, for one mapping of ``size`` bytes.

    ``leaf_part`` of it is mapped by ``leaf_size`` leaves (a PMD or PUD), the rest by
    base-page PTEs. A mapping is laid out from an aligned start. It owns every table up
    to the lowest level at which one table covers it; the tables above are shared with
    the other mappings of its address space and are not charged, unless ``own_root``
    (a guest's EPT/NPT tree, one per guest, root included).
    """
    entries = page_size // PTE_BYTES
    leaf_level = 0
    while page_size * entries**leaf_level < leaf_size:
        leaf_level += 1
    if page_size * entries**leaf_level != leaf_size:
        raise PagelabError(f"mapping size {leaf_size}: not a page-table level of {page_size}-byte pages")
    rest = size - leaf_part
    lowest = pl.when(rest > 0).then(0).otherwise(leaf_level)  # the lowest level holding its entries
    total: pl.Expr = pl.lit(0, pl.Int64)
    for level in range(table_levels(page_size)):
        tables = ceil_div(size if level >= leaf_level else rest, page_size * entries ** (level + 1))
        if not own_root:
            owned = (pl.lit(level) <= lowest) | (size > page_size * entries**level)
            tables = pl.when(owned).then(tables).otherwise(0)
        total = total + tables
    return total * page_size


def mapping_tables(machine: Machine, page_size: int, leaf_size: int | None = None, *,
                   thp: bool = True) -> dict[str, pl.Expr]:
    """``pagetable_bytes`` and ``ept_bytes`` of each request (totals over count).

    Mapped kinds (anon, guest, host) need the host's page tables; guest memory also needs
    its second-level tables (EPT/NPT), one tree per guest, at the same mapping size: KVM
    maps a guest page no larger than the host maps it. With ``leaf_size`` every object
    is mapped by leaves of that size (a dpage, a HugeTLB page); without, by base pages,
    and with ``thp`` the whole PMDs of the kinds ``machine.thp`` gives THPs to.
    """
    size = pl.col("bytes")
    if leaf_size is None:
        pmd = page_size * (page_size // PTE_BYTES)
        kinds = THP_KINDS[machine.thp] if thp else ()
        huge = pl.col("kind").cast(pl.String).is_in(kinds)
        leaf_size, leaf_part = pmd, pl.when(huge).then(size // pmd * pmd).otherwise(0)
    else:
        leaf_part = size
    host = table_bytes(size, page_size, leaf_size, leaf_part, own_root=False)
    ept = table_bytes(size, page_size, leaf_size, leaf_part, own_root=True)
    return {
        "pagetable_bytes": pl.when(is_mapped()).then(host * pl.col("count")).otherwise(0).cast(pl.Int64),
        "ept_bytes": pl.when(pl.col("kind") == "guest").then(ept * pl.col("count")).otherwise(0).cast(pl.Int64),
    }
