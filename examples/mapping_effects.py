"""What the mapping and metadata rules change, on seed 0 of the shipped workloads.

    python examples/mapping_effects.py

Prints the numbers docs/models.md quotes ("What the mapping rules change"): THP and
EPT on a base4k host, dmemfs's XArray at 4K and 2M dpages, whole page-table pages on
the laptop, clustering at orders 3 and 4, and HVO with a runtime or a boot-time pool.
"""

from __future__ import annotations

import pagelab

GiB, MiB = 1 << 30, 1 << 20


def row(*overrides: str) -> dict:
    """One run's results row as a dict."""
    return pagelab.run(list(overrides)).row(0, named=True)


def main() -> None:
    """Print one line per comparison."""
    for thp in ("never", "madvise"):
        r = row("strategy=base4k", "workload=hosting", f"workload.thp={thp}")
        print(f"base4k hosting thp={thp}: page tables {r['pagetable_bytes'] / MiB:.1f} MiB, "
              f"EPT {r['ept_bytes'] / MiB:.1f} MiB, {r['guests']} guests, {r['guest_bytes'] / GiB:.1f} GiB sold")
    for dpage in ("4K", "2M"):
        r = row("strategy=dmemfs", "workload=hosting", f"strategy.dpage_size={dpage}")
        print(f"dmemfs {dpage} dpages: descriptors {r['descriptor_bytes'] / MiB:.1f} MiB, "
              f"EPT {r['ept_bytes'] / MiB:.2f} MiB, {r['guest_bytes'] / GiB:.1f} GiB sold")
    r = row("strategy=base4k", "workload=laptop")
    print(f"base4k laptop: page tables {r['pagetable_bytes'] / MiB:.1f} MiB")
    for order in (3, 4):
        r = row("strategy=clustering", "workload=laptop", f"strategy.order={order}")
        print(f"clustering order {order} laptop: memmap {r['memmap_bytes'] / MiB:.0f} MiB, "
              f"stranded {r['stranded_bytes'] / GiB:.2f} GiB, {r['files_cached']:,} files cached")
    for strategy in ("hvo", "hvo_boot"):
        r = row(f"strategy={strategy}", "workload=hosting")
        print(f"{strategy} hosting: memmap {r['memmap_bytes'] / MiB:.0f} MiB, free {r['free_bytes'] / GiB:.2f} GiB, "
              f"{r['guest_bytes'] / GiB:.1f} GiB sold")


if __name__ == "__main__":
    main()
