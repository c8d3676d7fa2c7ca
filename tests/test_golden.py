"""Golden numbers from the article (LWN, "Sidestepping kernel memory management with
DMEMFS", 2020-12-07) and shared/data/published_points.csv."""

from __future__ import annotations

MiB = 1 << 20


def test_laptop_base4k_has_the_articles_4194304_pages_and_256_mb(run):
    row = run("strategy=base4k", "workload=laptop")
    assert row["struct_pages"] == 4_194_304  # lwn2020_laptop_pages
    assert row["memmap_bytes"] == 268_435_456  # lwn2020_laptop_memmap (256 MB)


def test_hosting_base4k_loses_5_gb_to_struct_page(run):
    row = run("strategy=base4k", "workload=hosting")
    assert row["memmap_bytes"] == 5_368_709_120  # lwn2020_hosting_memmap (5 GB)


def test_pc1991_has_1024_struct_pages(run):
    row = run("strategy=base4k", "workload=pc1991")
    assert row["struct_pages"] == 1024  # lwn2020_pc1991_pages
    assert row["memmap_bytes"] == 1024 * 64


def test_folios_do_not_remove_struct_pages(run):
    base, folio = run("strategy=base4k", "workload=laptop"), run("strategy=folio", "workload=laptop")
    assert folio["memmap_bytes"] == base["memmap_bytes"] == 268_435_456
    assert folio["allocated_bytes"] == base["allocated_bytes"]
    assert folio["objects"] < base["objects"]


def test_64k_pages_and_clusters_of_64k_cut_the_laptop_memmap_to_16_mib(run):
    assert run("strategy=page64k", "workload=laptop")["memmap_bytes"] == 16 * MiB
    assert run("strategy=clustering", "workload=laptop", "strategy.order=4")["memmap_bytes"] == 16 * MiB
    # pgcl's measured order 3 (8 MMU pages, 32 KiB): 16 GiB / 32 KiB * 64 bytes.
    assert run("strategy=clustering", "workload=laptop")["memmap_bytes"] == 16 * 1024 * MiB // (32 * 1024) * 64


def test_16k_pages_cut_it_to_64_mib(run):
    assert run("strategy=page16k", "workload=laptop")["memmap_bytes"] == 64 * MiB


def test_sparsemem_rounds_a_partial_section_up_but_flatmem_does_not(run):
    # 4 MiB is 1/32 of a 128 MiB section: the vmemmap still covers the whole section.
    sparse = run("strategy=base4k", "workload=pc1991", "strategy.memory_model=sparsemem_vmemmap")
    assert sparse["struct_pages"] == 32_768
    assert sparse["memmap_bytes"] == 2 * MiB  # one PMD of vmemmap per section
