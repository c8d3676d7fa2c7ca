"""DMEMFS: dmem= syntax and errors (mm/dmem_reserve.c check_dmem_param), dpage sizes,
guest rounding, and the shortfall when the kernel's share is too small."""

from __future__ import annotations

import polars as pl
import pytest
from pagelab_plugins.dmemfs import Dmemfs, DmemfsParams

from pagelab.allocator import REQUEST_SCHEMA
from pagelab.plugin import Machine, PagelabError, carveout_per_node, parse_dmem
from pagelab.units import GiB, MiB

NO_REQUESTS = pl.DataFrame(schema=REQUEST_SCHEMA)

HOST = Machine.even(320 * GiB, nodes=2)


@pytest.mark.parametrize(
    ("text", "per_node"),
    [
        ("4G", 4 * GiB),  # the kernel doc's example: 4G on each node
        ("!8G", 152 * GiB),  # the kernel keeps 8G, dmem takes the rest
        ("1G:1G", GiB),
        ("512M", 512 * MiB),
        ("400G", 160 * GiB),  # min(size, node memory)
        ("!200G", 0),
    ],
)
def test_dmem_sizes_apply_per_node(text, per_node):
    assert carveout_per_node(parse_dmem(text), HOST) == [per_node, per_node]


def test_dmem_at_address_reserves_one_range_on_its_node():
    assert carveout_per_node(parse_dmem("1G@165G"), HOST) == [0, GiB]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3000M", "'size' is unaligned to 'align'"),
        ("100M", "'size' is unaligned to 'align'"),
        ("0x40200000:1G", "'size' is unaligned to 'align'"),  # the kernel doc's bad example
        ("1G:64M", "'align' should be 0x8000000 at least"),
        ("1G:384M", "'align' should be power of 2"),
        ("!1G@5G", "take a certain base address for kernel is illegal"),
        ("1G@0x4000000", "'addr' is unaligned"),
        ("lots", "expected a size"),
    ],
)
def test_bad_dmem_values_are_rejected_with_the_kernels_words(text, message):
    with pytest.raises(PagelabError, match=message):
        parse_dmem(text)


def test_dpage_size_must_be_4k_2m_or_1g(run):
    with pytest.raises(PagelabError, match="must be 4K, 2M or 1G"):
        run("strategy=dmemfs", "workload=hosting", "strategy.dpage_size=64K")


def test_unaligned_dmem_fails_the_run(run):
    with pytest.raises(PagelabError, match="unaligned"):
        run("strategy=dmemfs", "workload=hosting", "strategy.dmem=1000M")


def test_carveout_has_no_struct_pages(run):
    row = run("strategy=dmemfs", "workload=hosting", "strategy.dmem='!12G'")
    # Only the kernel's 12 GiB per node keeps a memmap: 24 GiB * 64/4096.
    assert row["memmap_bytes"] == 24 * GiB // 64
    assert row["memmap_bytes"] < run("strategy=base4k", "workload=hosting")["memmap_bytes"]


def test_tracking_costs_bitmaps_and_refcounts():
    allocation = Dmemfs(DmemfsParams(dmem="!12G", dpage_size="4K"))(HOST, NO_REQUESTS)
    carved = 148 * GiB  # per node
    dpages = carved // 4096
    # alloc bitmap (1 bit/dpage) + error bitmap (1 bit/4K) + 4-byte refcount per dpage
    assert allocation.descriptor_bytes == [dpages // 8 + carved // 4096 // 8 + 4 * dpages] * 2


def test_each_guest_file_pays_its_xarray():
    guest = pl.DataFrame({"kind": ["guest"], "bytes": [64 * GiB], "count": [1], "node": [0]}).cast(REQUEST_SCHEMA)
    xarray = {size: Dmemfs(DmemfsParams(dmem="!12G", dpage_size=size))(HOST, guest).requests["descriptor_bytes"][0]
              for size in ("4K", "2M")}
    # 16,777,216 entries of 4 KiB dpages fill 262,144 leaf nodes of 64 slots, 576 bytes each: 144 MiB,
    # plus 4,096 + 64 + 1 nodes above them. 32,768 entries of 2 MiB fill 512 + 8 + 1 nodes.
    assert xarray["4K"] == (262_144 + 4_096 + 64 + 1) * 576
    assert xarray["2M"] == (512 + 8 + 1) * 576
    assert xarray["4K"] - xarray["2M"] >= 144 * MiB


def test_a_size_of_zero_reserves_nothing_as_the_kernel_rejects_it():
    # mm/dmem_reserve.c: "dmem: 'size' of 0 defined in dmem=, or {invalid} param", -EINVAL.
    for text in ("0", "!0"):
        assert carveout_per_node(parse_dmem(text), HOST) == [0, 0]


def test_sizes_count_from_what_memblock_has_free_at_boot():
    machine = Machine.even(320 * GiB, nodes=2, boot_reserved=101 * MiB)
    # Without "!", each node gives at most its free memory: node 0 lacks the boot reservation.
    assert carveout_per_node(parse_dmem("200G"), machine) == [160 * GiB - 101 * MiB, 160 * GiB]
    # With "!", ALIGN(free, 128M) - size: node 0's 101 MiB short of 160 GiB round back up to it.
    assert carveout_per_node(parse_dmem("!12G"), machine) == [148 * GiB, 148 * GiB]


def test_guests_are_rounded_to_whole_1g_dpages(run, tmp_path):
    # Azure's 1.75 GB guests each take two 1 GiB dpages: 0.25 GiB of waste apiece.
    mix = tmp_path / "vms.parquet"
    pl.DataFrame({"memory_bytes": [int(1.75 * GiB)], "vcpus": [1]}).write_parquet(mix)
    small = f"workload.guests.dataset={mix}"
    row = run("strategy=dmemfs", "workload=hosting", "strategy.dpage_size=1G", small)
    assert row["guests"] > 0
    assert row["internal_frag_bytes"] >= row["guests"] * GiB // 4
    assert row["guest_bytes"] == row["guests"] * int(1.75 * GiB)


def test_a_kernel_share_below_the_host_reserve_does_not_fit(run):
    # Keeping 128 MiB per node for the kernel cannot hold the 2 GiB host reserve.
    row = run("strategy=dmemfs", "workload=hosting", "strategy.dmem='!128M'")
    kernel = [p for p in row["pools"] if p["pool"] == "kernel"]
    assert not row["fits"]
    # The reserve (2 GiB, mapped in 4 KiB pages: 1,024 PTE tables, 2 PMD tables, 1 PUD table)
    # lacks what the memmap and dmemfs's bitmaps leave of each node's 128 MiB.
    need = 2 * GiB + (1024 + 2 + 1) * 4096
    assert all(p["shortfall_bytes"] == need - (128 * MiB - p["metadata_bytes"]) for p in kernel)


def test_carve_out_nobody_rents_is_free_memory_not_overhead(run):
    row = run("strategy=dmemfs", "workload=hosting")
    dmem = [p for p in row["pools"] if p["pool"] == "dmem"]
    assert row["stranded_bytes"] == 0  # 2 MiB dpages tile the aligned carve-out exactly
    assert row["free_bytes"] >= sum(p["free_bytes"] for p in dmem) > 0
    assert row["overhead_bytes"] == row["metadata_bytes"] + row["internal_frag_bytes"]


def test_an_unaligned_carve_out_head_is_stranded(run):
    # dmem=!12G on 160 GiB nodes leaves 148 GiB: 148 whole 1 GiB dpages. !12.5G (12800M) leaves
    # 147.5 GiB, whose half-GiB head no 1 GiB dpage can use.
    row = run("strategy=dmemfs", "workload=hosting", "strategy.dpage_size=1G", "strategy.dmem='!12800M'")
    assert row["stranded_bytes"] == 2 * (GiB // 2)


