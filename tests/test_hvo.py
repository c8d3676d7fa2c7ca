"""HVO: vmemmap freed per huge page, as the kernel prints it at boot and as the HVO cover
letter claims it (kernel-facts.md §3, kernel-measurements.md "Kernel's own numbers")."""

from __future__ import annotations

import polars as pl
import pytest
from pagelab_plugins.hvo import Hvo, HvoParams

from pagelab.allocator import REQUEST_SCHEMA
from pagelab.plugin import Machine, PagelabError
from pagelab.units import GiB, KiB, TiB

NO_REQUESTS = pl.DataFrame(schema=REQUEST_SCHEMA)


def freed(hugepagesz: str, pool: str, installed: int, kept: int = 1) -> int:
    machine = Machine.even(installed)
    base = installed // 4096 * 64
    allocation = Hvo(HvoParams(pool="boot", boot_pool=pool, hugepagesz=hugepagesz, vmemmap_kept=kept))(machine, NO_REQUESTS)
    return base - sum(allocation.memmap_bytes)


@pytest.mark.parametrize(
    ("hugepagesz", "per_page"),
    [("2M", 28 * KiB), ("1G", 16380 * KiB)],  # "HugeTLB: 28 KiB / 16380 KiB vmemmap can be freed"
)
def test_vmemmap_freed_per_huge_page_matches_the_boot_log(hugepagesz, per_page):
    assert freed(hugepagesz, "8G", 16 * GiB) == 8 * GiB // (2 << 20 if hugepagesz == "2M" else GiB) * per_page


def test_one_tib_of_huge_pages_saves_what_the_cover_letter_says():
    # v23 cover letter: "~16GB (1G hugepage)/~12GB (2MB hugepage)" for 1024 GB, the latter
    # with 5.14's two kept vmemmap pages; today's one kept page saves 14 GiB.
    installed = TiB + 64 * GiB
    assert round(freed("1G", "1T", installed) / GiB) == 16
    assert freed("2M", "1T", installed, kept=2) == 12 * GiB
    assert freed("2M", "1T", installed) == 14 * GiB


def test_guests_live_in_huge_pages(run):
    row = run("strategy=hvo", "workload=hosting", "strategy.hugepagesz=1G")
    assert row["guests"] > 0
    assert row["memmap_bytes"] < run("strategy=base4k", "workload=hosting")["memmap_bytes"]
    # 1.75 GB guests take two 1 GiB pages: the rounding shows as internal fragmentation.
    assert row["internal_frag_bytes"] > 0


@pytest.mark.parametrize(("override", "message"), [("strategy.hugepagesz=4M", "2M or 1G"), ("strategy.vmemmap_kept=9", "1..8")])
def test_bad_parameters_are_one_line_errors(run, override, message):
    with pytest.raises(PagelabError, match=message):
        run("strategy=hvo", "workload=hosting", override)
