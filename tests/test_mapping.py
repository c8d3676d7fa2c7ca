"""Mapping and metadata costs: page tables in whole pages at every level, THP, EPT/NPT,
runtime HugeTLB pools with HVO. Golden numbers are derived in each test from the rule."""

from __future__ import annotations

import polars as pl
import pytest

import pagelab
from pagelab.allocator import REQUEST_SCHEMA
from pagelab.models.pagetables import table_levels
from pagelab.models.shapes import uniform_allocation
from pagelab.plugin import Machine
from pagelab.units import GiB, KiB, MiB

GUEST = pl.DataFrame({"kind": ["guest"], "bytes": [64 * GiB], "count": [1], "node": [0]}).cast(REQUEST_SCHEMA)


def tables(thp: str, requests: pl.DataFrame = GUEST, page: int = 4096) -> dict:
    machine = Machine.even(320 * GiB, 2, thp=thp)
    return uniform_allocation(requests, machine, page).row(0, named=True)


def test_translation_trees_have_the_architectures_levels():
    # x86-64 and arm64 with 48-bit VAs: 4 levels of 4 KiB and of 16 KiB tables, 3 of 64 KiB.
    assert [table_levels(p) for p in (4 * KiB, 16 * KiB, 64 * KiB)] == [4, 4, 3]


def test_a_64_gib_guest_in_4k_pages_has_128_mib_of_ept_plus_its_upper_levels():
    row = tables("never")
    # 64 GiB / 2 MiB = 32,768 PTE tables; / 1 GiB = 64 PD tables; one PDPT and one PML4 table.
    assert row["ept_bytes"] == 128 * MiB + 64 * 4 * KiB + 2 * 4 * KiB
    # QEMU's own mapping of the guest: the same tables but the root, shared with QEMU's other mappings.
    assert row["pagetable_bytes"] == 128 * MiB + 64 * 4 * KiB + 4 * KiB


def test_with_thp_the_same_guest_has_256_kib_of_ept_plus_its_upper_levels():
    row = tables("madvise")  # QEMU madvises guest RAM: 2 MiB leaves in 64 PD tables
    assert row["ept_bytes"] == 256 * KiB + 2 * 4 * KiB
    assert row["pagetable_bytes"] == 256 * KiB + 4 * KiB


def test_thp_maps_whole_pmds_and_the_unaligned_rest_in_base_pages():
    anon = pl.DataFrame({"kind": ["anon"], "bytes": [5 * MiB], "count": [3], "node": [0]}).cast(REQUEST_SCHEMA)
    # 5 MiB: two PMD leaves and 1 MiB of PTEs (one PTE table), in one PMD table, 3 mappings.
    assert tables("always", anon)["pagetable_bytes"] == 3 * (4 * KiB + 4 * KiB)
    # Without THP: three PTE tables (5 MiB / 2 MiB, rounded up) and the PMD table.
    assert tables("madvise", anon)["pagetable_bytes"] == 3 * (3 * 4 * KiB + 4 * KiB)
    assert tables("always", anon)["ept_bytes"] == 0  # not guest memory


def test_page64k_page_tables_are_whole_64k_pages():
    anon = pl.DataFrame({"kind": ["anon", "anon"], "bytes": [100 * KiB, GiB], "count": [1, 1], "node": [0, 0]})
    row = tables("never", anon.cast(REQUEST_SCHEMA), page=64 * KiB)
    # A 64 KiB table holds 8,192 entries of 8 bytes and maps 512 MiB: 100 KiB need one table.
    assert row["pagetable_bytes"] == 64 * KiB
    big = uniform_allocation(anon.cast(REQUEST_SCHEMA), Machine.even(GiB << 4, thp="never"), 64 * KiB)
    # 1 GiB: two PTE tables and the level-1 table above them (one covers 4 TiB).
    assert big["pagetable_bytes"][1] == 3 * 64 * KiB


def test_dpages_map_guests_at_their_size():
    machine = Machine.even(320 * GiB, 2)
    from pagelab_plugins.dmemfs import Dmemfs, DmemfsParams

    row = Dmemfs(DmemfsParams(dmem="!12G", dpage_size="1G"))(machine, GUEST).requests.row(0, named=True)
    # 1 GiB leaves: 64 entries in one PDPT table, plus the PML4 root for the EPT.
    assert row["ept_bytes"] == 2 * 4 * KiB and row["pagetable_bytes"] == 4 * KiB


@pytest.mark.parametrize("seed", range(20))
def test_a_runtime_hugetlb_pool_sells_at_least_what_a_boot_time_split_sells(seed):
    runtime, boot = (pagelab.run([f"strategy={s}", "workload=hosting", f"seed={seed}"]).row(0, named=True)
                     for s in ("hvo", "hvo_boot"))
    assert runtime["fits"] and boot["fits"] and runtime["guest_bytes"] >= boot["guest_bytes"]


def test_a_runtime_pool_frees_the_vmemmap_of_the_huge_pages_guests_use():
    row = pagelab.run(["strategy=hvo", "workload=hosting"]).row(0, named=True)
    base = pagelab.run(["strategy=base4k", "workload=hosting"]).row(0, named=True)
    assert {p["pool"] for p in row["pools"]} == {"kernel"}  # nothing split at boot
    # Every placed guest's 2 MiB pages give back 7 of their 8 vmemmap pages (28 KiB each); the
    # host's other memory is in whole 4 KiB pages, so all internal fragmentation is guests'.
    huge_pages = (row["guest_bytes"] + row["internal_frag_bytes"]) // (2 * MiB)
    assert row["memmap_bytes"] == base["memmap_bytes"] - huge_pages * 28 * KiB
