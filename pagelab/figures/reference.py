"""Published numbers the figures mark for comparison, with their sources.

Copied from the project's reference notes (published_points.csv); every figure that draws
one lists it in the manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pagelab.units import GiB, MiB

LWN = "LWN, 'Sidestepping kernel memory management with DMEMFS', 2020-12-07"
HANSEN = "Dave Hansen, LKML reply to '64k (or 16k) base page size on x86', 2026-02-19"


@dataclass(frozen=True)
class ArticlePoint:
    """One of the article's struct page numbers: installed RAM and its memmap."""

    installed_bytes: int
    memmap_bytes: int
    label: str


# The 1991 PC's 1,024 pages are drawn at today's 64-byte struct page.
ARTICLE_POINTS = (
    ArticlePoint(4 * MiB, 1024 * 64, "4 MiB: 1,024 pages"),
    ArticlePoint(16 * GiB, 256 * MiB, "16 GiB: 256 MiB"),
    ArticlePoint(320 * GiB, 5 * GiB, "320 GiB: 5 GiB"),
)

# Hansen's kernel tree (KB as printed): file sizes on disk and the page cache at 4K/16K/64K.
HANSEN_TREE_KB = {"disk": 11_297_648, 4096: 11_297_712, 16384: 12_223_488, 65536: 16_623_296}
# Percent above the 4 KiB page cache: +8.2 % at 16K, +47.1 % at 64K.
HANSEN_OVER_4K_PCT = {
    page: round(100 * (HANSEN_TREE_KB[page] / HANSEN_TREE_KB[4096] - 1), 1) for page in (16384, 65536)
}
# Percent above the files' bytes on disk (the footprint figure's baseline): +8.2 % and +47.1 %.
HANSEN_OVER_DISK_PCT = {
    page: round(100 * (HANSEN_TREE_KB[page] / HANSEN_TREE_KB["disk"] - 1), 1) for page in (16384, 65536)
}
# He measured a Linux kernel tree: his marks belong beside the shipped Linux tree only.
HANSEN_DATASETS = ("linux_6_1",)
# "~300 GB" of RAM before 64K pages' struct page savings outweigh one tree's bloat (decimal GB).
HANSEN_CROSSOVER_BYTES = 300 * 10**9


def references(*names: str) -> list[dict[str, object]]:
    """The named reference marks as plain dicts, for the manifest."""
    table: dict[str, dict[str, object]] = {
        "article": {"source": LWN, "points": [asdict(p) for p in ARTICLE_POINTS]},
        "hansen_bloat": {"source": HANSEN, "percent_over_4k": {str(k): v for k, v in HANSEN_OVER_4K_PCT.items()},
                         "percent_over_disk": {str(k): v for k, v in HANSEN_OVER_DISK_PCT.items()},
                         "datasets": list(HANSEN_DATASETS)},
        "hansen_crossover": {"source": HANSEN, "bytes": HANSEN_CROSSOVER_BYTES},
    }
    return [{"name": n, **table[n]} for n in names]
