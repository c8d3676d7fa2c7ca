"""The strategies of issue 13: memdesc, thp, tailpack and devdax, with golden numbers
written out from their sources (kernel-facts.md §3, §5.6, §7; docs/models.md)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pagelab_plugins.devdax import Devdax, DevdaxParams
from pagelab_plugins.hvo import Hvo, HvoParams
from pagelab_plugins.memdesc import Memdesc, MemdescParams
from pagelab_plugins.tailpack import Tailpack, TailpackParams, kmalloc_class
from pagelab_plugins.thp import Thp, ThpParams, enabled_sizes

from pagelab.allocator import REQUEST_SCHEMA
from pagelab.plugin import GiB, KiB, Machine, MiB, PagelabError, TiB, folio_census

from .conftest import pagelab_cli


def requests(*rows: tuple[str, int, int]) -> pl.DataFrame:
    """Request rows (kind, bytes, count) on node 0."""
    return pl.DataFrame(
        {"kind": [r[0] for r in rows], "bytes": [r[1] for r in rows], "count": [r[2] for r in rows],
         "node": [0] * len(rows)},
        schema=REQUEST_SCHEMA,
    )


def one(allocation, column: str) -> list[int]:
    return allocation.requests[column].to_list()


# --- memdesc --------------------------------------------------------------------------

LAPTOP = Machine.even(16 * GiB, thp="never")


@pytest.mark.parametrize(("variant", "struct_page"), [("final", 8), ("interim", 32)])
def test_memdesc_memmap_is_the_smaller_struct_page_per_4k(variant, struct_page):
    # kernelnewbies Memdescs: an 8-byte memdesc per page; the interim step 32 bytes.
    allocation = Memdesc(MemdescParams(variant=variant))(LAPTOP, requests())
    assert sum(allocation.memmap_bytes) == 16 * GiB // 4096 * struct_page
    assert allocation.struct_pages == 16 * GiB // 4096


def test_memdesc_final_pays_a_descriptor_per_folio_and_per_page_table_page():
    # One 4 GiB anonymous mapping, no THP: 1,048,576 order-0 folios, each a kmalloc-96
    # descriptor; its page tables are 2,048 PTE tables, 4 PMD tables and 1 PUD table
    # (each 1 GiB needs one PMD table; 4 GiB > 1 GiB, so the PUD table is its own).
    final = Memdesc(MemdescParams())(LAPTOP, requests(("anon", 4 * GiB, 3)))
    table_pages = 2048 + 4 + 1
    assert one(final, "pagetable_bytes") == [3 * table_pages * 4096]
    assert one(final, "objects") == [3 * 4 * GiB // 4096]
    assert one(final, "descriptor_bytes") == [3 * (4 * GiB // 4096 + table_pages) * 96]
    interim = Memdesc(MemdescParams(variant="interim"))(LAPTOP, requests(("anon", 4 * GiB, 3)))
    assert one(interim, "descriptor_bytes") == [3 * 4 * GiB // 4096 * 96]  # page tables keep their struct page


def test_memdesc_thp_guest_ram_is_one_folio_per_2m():
    # workload.thp=madvise gives QEMU's guest RAM PMD THPs: a 64 GiB guest is 32,768 folios.
    machine = Machine.even(320 * GiB, 2)
    allocation = Memdesc(MemdescParams(variant="interim"))(machine, requests(("guest", 64 * GiB, 1)))
    assert one(allocation, "objects") == [64 * GiB // (2 * MiB)]
    assert one(allocation, "descriptor_bytes") == [32768 * 96]


def test_memdesc_page_cache_descriptors_follow_the_folio_census_and_reward_large_folios():
    sizes = [4096, 70_000, 1 << 20, 1 << 30]
    files = requests(*(("file", s, 2) for s in sizes))
    small = Memdesc(MemdescParams(read_size="4K", read_ahead_kb=4))(LAPTOP, files)
    large = Memdesc(MemdescParams(read_size="1M", read_ahead_kb=2048))(LAPTOP, files)
    census = folio_census(pl.Series(sizes), read_size=1 << 20, read_ahead_kb=2048)
    assert one(large, "descriptor_bytes") == (census["folios"] * 2 * 96).to_list()
    # read_ahead_kb=4 reads one page per read(): every 4 KiB page is a folio of its own.
    assert one(small, "descriptor_bytes") == [2 * -(-s // 4096) * 96 for s in sizes]
    assert sum(one(large, "descriptor_bytes")) < sum(one(small, "descriptor_bytes")) // 10
    # Folios never change what page cache occupies (no folio passes EOF's page).
    assert one(large, "allocated_bytes") == one(small, "allocated_bytes") == [2 * -(-s // 4096) * 4096 for s in sizes]


def test_memdesc_bad_variant_is_named():
    with pytest.raises(PagelabError, match="strategy.variant"):
        Memdesc(MemdescParams(variant="half"))


# --- thp ------------------------------------------------------------------------------


def test_thp_rounds_each_mapping_up_to_2m_and_drops_its_pte_tables():
    machine = Machine.even(16 * GiB)
    allocation = Thp(ThpParams())(machine, requests(("anon", 100 * KiB, 5), ("anon", 4 * GiB, 1), ("file", 100 * KiB, 1)))
    # Ingens' bloat: 100 KiB touched in a 2 MiB-aligned region takes the whole THP.
    assert one(allocation, "allocated_bytes") == [5 * 2 * MiB, 4 * GiB, 100 * KiB]
    assert one(allocation, "objects") == [5, 4 * GiB // (2 * MiB), 25]
    # PMD-mapped: 4 GiB needs its 4 PMD tables and its PUD table, no PTE table; one
    # 2 MiB THP needs one PMD table; page cache is not mapped.
    assert one(allocation, "pagetable_bytes") == [5 * 4096, (4 + 1) * 4096, 0]


def test_mthp_below_2m_is_still_pte_mapped():
    machine = Machine.even(16 * GiB)
    mthp = Thp(ThpParams(sizes="64K"))(machine, requests(("anon", 4 * GiB, 1), ("anon", 100 * KiB, 1)))
    assert one(mthp, "allocated_bytes") == [4 * GiB, 128 * KiB]
    assert one(mthp, "objects") == [4 * GiB // (64 * KiB), 2]
    # set_ptes(): one PTE per 4 KiB page, so the tables are those of 4 KiB pages without THP.
    assert one(mthp, "pagetable_bytes") == [(2048 + 4 + 1) * 4096, 4096]


def test_thp_fills_a_resident_vma_largest_enabled_size_first_then_4k_pages():
    machine = Machine.even(16 * GiB)
    sizes = "16K+64K+2M"
    # A VMA ending at 100 KiB: no 2 MiB range fits, one 64 KiB, two 16 KiB, one 4 KiB page.
    # 2 MiB + 20 KiB: one PMD-mapped 2 MiB folio, one 16 KiB, one 4 KiB.
    resident = Thp(ThpParams(sizes=sizes, vma="resident"))(machine, requests(("anon", 100 * KiB, 1),
                                                                             ("anon", 2 * MiB + 20 * KiB, 1)))
    assert one(resident, "allocated_bytes") == [100 * KiB, 2 * MiB + 20 * KiB]  # no folio passes the VMA
    assert one(resident, "objects") == [1 + 2 + 1, 1 + 1 + 1]
    # 100 KiB owns one PTE table (its PMD table is shared: one PTE table covers it); past
    # 2 MiB a mapping owns its PMD table too, and the 20 KiB after the PMD-mapped folio a PTE table.
    assert one(resident, "pagetable_bytes") == [4096, 2 * 4096]
    # Extended: the VMA reaches the next 2 MiB boundary, so every fault gets 2 MiB.
    extended = Thp(ThpParams(sizes=sizes))(machine, requests(("anon", 100 * KiB, 1)))
    assert one(extended, "allocated_bytes") == [2 * MiB]


def test_thp_all_enables_the_eight_anonymous_orders():
    # THP_ORDERS_ALL_ANON on x86-64: orders 2..9, 16 KiB to 2 MiB.
    assert enabled_sizes("all") == tuple(4096 << order for order in range(9, 1, -1))
    assert enabled_sizes("2M+16K") == (2 * MiB, 16 * KiB)


@pytest.mark.parametrize("sizes", ["8K", "4M", "", "16K+1G"])
def test_thp_sizes_outside_the_anonymous_orders_are_rejected(sizes):
    with pytest.raises(PagelabError, match="strategy.sizes"):
        Thp(ThpParams(sizes=sizes))


# --- tailpack -------------------------------------------------------------------------


def test_kmalloc_classes():
    # mm/slab_common.c kmalloc_info[]: 8, 16, 32, 64, 96, 128, 192, 256, ... powers of two.
    sizes = np.array([1, 8, 9, 64, 65, 96, 97, 129, 192, 193, 4464, 32768])
    assert kmalloc_class(sizes).tolist() == [8, 8, 16, 64, 96, 96, 128, 192, 192, 256, 8192, 32768]


def test_tailpack_packs_small_tails_and_charges_a_descriptor_each():
    machine = Machine.even(16 * GiB)
    allocation = Tailpack(TailpackParams())(machine, requests(
        ("file", 70_000, 2), ("file", 100, 1), ("file", 65536 + 40_000, 1), ("file", 65536, 1), ("anon", 100, 1)))
    # 70,000 = one 64 KiB page + a 4,464-byte tail in kmalloc-8192; 100 bytes in kmalloc-128;
    # a 40,000-byte tail is above half a page and takes a page; a whole page has no tail.
    assert one(allocation, "allocated_bytes") == [2 * (65536 + 8192), 128, 2 * 65536, 65536, 65536]
    assert one(allocation, "descriptor_bytes") == [2 * 16, 16, 0, 0, 0]
    # page64k's memmap: one 64-byte struct page per 64 KiB.
    assert sum(allocation.memmap_bytes) == 16 * GiB // 65536 * 64


def test_tailpack_recovers_most_of_64k_page_cache_bloat_on_real_files():
    from pagelab import datasets

    sizes = datasets.sample_files(datasets.resolve("irlam_ufs93", "files", "x"), 20_000, np.random.default_rng(0))
    files = requests(*(("file", int(s), 1) for s in np.unique(sizes)))
    machine = Machine.even(16 * GiB)
    packed = sum(one(Tailpack(TailpackParams())(machine, files), "allocated_bytes"))
    page64k = int((-(-files["bytes"] // 65536) * 65536).sum())
    exact = int(files["bytes"].sum())
    assert exact <= packed < page64k
    # Packing returns more than half of what 64 KiB pages waste over the files' bytes.
    assert page64k - packed > (page64k - exact) / 2


def test_tailpack_page_size_must_be_16k_or_64k():
    with pytest.raises(PagelabError, match="strategy.page_size"):
        Tailpack(TailpackParams(page_size="4K"))


# --- devdax ---------------------------------------------------------------------------


def test_devdax_keeps_two_vmemmap_pages_per_compound_page():
    # 64 GiB node, kernel keeps 16 GiB: 48 GiB of device-DAX in 2 MiB compound pages.
    machine = Machine.even(64 * GiB)
    allocation = Devdax(DevdaxParams(dmem="!16G"))(machine, requests())
    kernel = 16 * GiB // 4096 * 64
    # vmemmap_populate_compound_pages(): the head's vmemmap page and one tail page, reused.
    dax = 48 * GiB // (2 * MiB) * 2 * 4096
    assert sum(allocation.memmap_bytes) == kernel + dax
    assert dax == 48 * GiB // 4096 * 64 // 4  # a quarter of a full memmap: 6 of 8 pages saved
    # PTE-mapped vmemmap: one 4 KiB table per 128 MiB of device memory.
    assert sum(allocation.descriptor_bytes) == 48 * GiB // (128 * MiB) * 4096
    assert allocation.pools["devdax"].bytes == (48 * GiB,)
    gig = Devdax(DevdaxParams(dmem="!16G", align="1G"))(machine, requests())
    assert sum(gig.memmap_bytes) == kernel + 48 * 2 * 4096  # 2 of 4096 vmemmap pages per 1 GiB


def test_devdax_guests_are_in_its_pool_rounded_to_the_alignment_without_an_xarray():
    machine = Machine.even(64 * GiB)
    allocation = Devdax(DevdaxParams(dmem="!16G"))(machine, requests(("guest", GiB + 1, 1), ("host", 218 * MiB, 1)))
    assert one(allocation, "pool") == ["devdax", "kernel"]
    assert one(allocation, "allocated_bytes") == [GiB + 2 * MiB, 218 * MiB]
    assert "descriptor_bytes" not in allocation.requests.columns


def test_hvo_kept_pages_gives_the_5_14_saving():
    # HVO cover letter v23: 1 TiB of 2 MiB pages saves ~12 GiB with 5.14's 2 kept pages
    # (6 of 8 freed), 14 GiB with today's one; 1 GiB pages save ~16 GiB (4095 of 4096).
    machine = Machine.even(2 * TiB)
    guest = requests(("guest", TiB, 1))
    freed = {kept: one(Hvo(HvoParams(vmemmap_kept=kept))(machine, guest), "memmap_freed_bytes")[0] for kept in (1, 2)}
    assert freed == {2: TiB // (2 * MiB) * 6 * 4096, 1: TiB // (2 * MiB) * 7 * 4096}
    assert (freed[2], freed[1]) == (12 * GiB, 14 * GiB)
    gig = one(Hvo(HvoParams(hugepagesz="1G"))(machine, guest), "memmap_freed_bytes")[0]
    assert gig == 1024 * 4095 * 4096 and round(gig / GiB) == 16


# --- every new strategy, end to end ---------------------------------------------------

NEW = ("memdesc", "thp", "tailpack", "devdax")


@pytest.mark.parametrize("strategy", NEW)
def test_new_strategies_count_every_byte_once_on_hosting(run, strategy):
    row = run(f"strategy={strategy}", "workload=hosting")
    assert row["fits"] and row["guests"] > 0
    assert (row["metadata_bytes"] + row["allocated_bytes"] + row["stranded_bytes"] + row["free_bytes"]
            == row["installed_bytes"])
    assert row == run(f"strategy={strategy}", "workload=hosting")  # deterministic


def test_memdesc_and_devdax_cut_base4ks_metadata_on_hosting(run):
    base = run("strategy=base4k", "workload=hosting")["metadata_bytes"]
    final = run("strategy=memdesc", "workload=hosting")["metadata_bytes"]
    interim = run("strategy=memdesc", "workload=hosting", "strategy.variant=interim")["metadata_bytes"]
    devdax = run("strategy=devdax", "workload=hosting")["metadata_bytes"]
    assert final < interim < base and devdax < base


def test_tailpack_caches_more_files_than_page64k_on_the_laptop(run):
    packed = run("strategy=tailpack", "workload=laptop")
    page64k = run("strategy=page64k", "workload=laptop")
    assert packed["files_cached"] > page64k["files_cached"] and packed["descriptor_bytes"] > 0


# --- the mechanisms figure ------------------------------------------------------------


def test_mechanisms_figure_draws_each_mechanism_with_its_seed_interval():
    import pagelab
    from pagelab.figures import FIGURES, mechanisms
    from pagelab.sweep.manifest import sweep_manifest

    runs = [[f"strategy={s}", "workload=hosting", f"seed={seed}"]
            for s in ("base4k", "memdesc", "memdesc_interim", "devdax", "devdax_1g", "dmemfs")
            for seed in (0, 1)]
    summary = pl.concat([pagelab.run(r) for r in runs], how="diagonal_relaxed")
    frame = mechanisms.data(summary, sweep_manifest(summary))
    # devdax_1g is not a mechanism of the figure; the others come in MECHANISMS' order.
    assert frame["mechanism"].unique(maintain_order=True).to_list() == [
        "base4k", "devdax (2M)", "dmemfs (2M dpages)", "memdesc final (8 B)", "memdesc interim (32 B)"]
    sold = frame.filter(pl.col("quantity") == "memory sold")
    assert (sold["seeds"] == 2).all() and (sold["lo"] <= sold["mean"]).all() and (sold["mean"] <= sold["hi"]).all()
    # The mean is the mean of the two seeds' rows.
    base = summary.filter(pl.col("strategy") == "base4k")["metadata_bytes"].mean()
    assert frame.filter((pl.col("mechanism") == "base4k") & (pl.col("quantity") == "metadata"))["mean"][0] == base
    fig = mechanisms.render(frame)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == frame["mechanism"].unique(maintain_order=True).to_list()
    assert [ax.get_xlabel().split("\n")[0] for ax in fig.axes] == [
        "page metadata (GiB)", "free after packing (GiB)", "memory sold (GiB)"]
    assert FIGURES["mechanisms"].experiments == ("hosting_density",)


def test_memdesc_figure_shows_that_memdescs_reward_large_folios():
    from pagelab.commands.figure_models import memdesc_model
    from pagelab.figures import memdesc_folios

    frame = memdesc_folios.data(pl.DataFrame(), memdesc_model(pl.DataFrame()))

    def at(size: int, variant: str | None, read_size: int | None = 65536) -> float:
        rows = frame.filter((pl.col("size_bytes") == size) & (pl.col("variant").eq_missing(variant))
                            & (pl.col("read_size").eq_missing(None if variant is None else read_size)))
        [value] = rows["bytes_per_page"].to_list()
        return value

    # One page, one folio: 8 + 96 and 32 + 96 bytes against base4k's 64.
    assert (at(4096, None), at(4096, "final"), at(4096, "interim")) == (64, 8 + 96, 32 + 96)
    # 1 GiB read with 64 KiB read()s: 262,144 pages in the readahead model's folios.
    folios = folio_census(pl.Series([1 << 30]), read_size=65536)["folios"][0]
    assert at(1 << 30, "final") == pytest.approx(8 + 96 * folios / 262144)
    assert at(1 << 30, "final") < 64 / 4 and at(1 << 30, "interim") < 64


@pytest.mark.parametrize(("override", "message"), [
    ("strategy=thp strategy.sizes=8K", "strategy.sizes=8K: anonymous THP sizes are 16K"),
    ("strategy=devdax strategy.align=3M", "strategy.align=3M: device-DAX aligns to 4K, 2M or 1G"),
])
def test_bad_parameters_are_one_line_on_stderr_and_exit_2(tmp_path, override, message):
    result = pagelab_cli(*override.split(), f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "run" / "results.parquet").exists()
