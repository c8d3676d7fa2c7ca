"""Tests for pagelab.models.readahead: the ext4 oracle, invariants, and a per-file reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.models.readahead import _split, folio_census

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

# Source: /work/shared/reference/kernel-measurements.md, "ext4, cold sequential read"
# (x86-64 VM, Linux 6.18, read_ahead_kb=8192, max order 9). Columns: file size (bytes),
# read() size (bytes), resident 4 KiB pages, folios as {pages per folio: count}.
EXT4_TABLE = [
    (16_384, 4_096, 4, {1: 4}),
    (65_536, 4_096, 16, {1: 4, 4: 3}),
    (300_000, 4_096, 74, {1: 4, 2: 1, 4: 5, 8: 2, 16: 2}),
    (1_048_576, 4_096, 256, {1: 4, 4: 5, 8: 1, 16: 4, 32: 1, 64: 2}),
    (8_388_608, 4_096, 2048, {1: 4, 4: 5, 8: 1, 16: 4, 32: 1, 64: 4, 128: 1, 256: 2, 512: 2}),
    (33_554_432, 4_096, 8192, {1: 4, 4: 5, 8: 1, 16: 4, 32: 1, 64: 4, 128: 1, 256: 2, 512: 14}),
    (16_384, 65_536, 4, {1: 4}),
    (65_536, 65_536, 16, {1: 16}),
    (300_000, 65_536, 74, {1: 64, 2: 1, 4: 2}),
    (1_048_576, 65_536, 256, {1: 64, 4: 48}),
    (8_388_608, 65_536, 2048, {1: 64, 4: 64, 16: 32, 64: 17, 128: 1}),
    (33_554_432, 65_536, 8192, {1: 64, 4: 64, 16: 32, 64: 17, 128: 1, 256: 8, 512: 8}),
    (16_384, 1_048_576, 4, {1: 4}),
    (65_536, 1_048_576, 16, {1: 16}),
    (300_000, 1_048_576, 74, {1: 74}),
    (1_048_576, 1_048_576, 256, {1: 256}),
    (8_388_608, 1_048_576, 2048, {1: 512, 4: 256, 16: 32}),
    (33_554_432, 1_048_576, 8192, {1: 512, 4: 256, 16: 128, 64: 32, 256: 8, 512: 1}),
]


def census_of(row: dict, max_order: int) -> dict[int, int]:
    """{pages per folio: count} for the non-zero orders of one output row."""
    return {1 << k: row[f"o{k}"] for k in range(max_order + 1) if row[f"o{k}"]}


def ceil_pages(size: int) -> int:
    return -(-size // 4096)


# --- Reference: a literal, reader-driven simulation of one file (mm/filemap.c + mm/readahead.c).


def reference_census(size: int, read_size: int, read_ahead_kb: int, max_order: int) -> dict[int, int]:
    """Replay read() calls of one file and build its folios the way Linux 6.18 does."""
    if size == 0:
        return {}
    last = (size - 1) >> 12
    max_pages = read_ahead_kb // 4
    owner: dict[int, int] = {}  # page -> index of the folio holding it
    order_of: dict[int, int] = {}  # folio index -> order
    flagged: set[int] = set()
    ra = {"start": 0, "size": 0, "async": 0, "order": 0, "prev_pos": -1}

    def init_size(req: int) -> int:
        new = 1 << (req - 1).bit_length()
        if new <= max_pages // 32:
            return new * 4
        if new <= max_pages // 4:
            return new * 2
        return max_pages

    def next_size(cur: int) -> int:
        if cur < max_pages // 16:
            return 4 * cur
        if cur <= max_pages // 2:
            return 2 * cur
        return max_pages

    def ra_order() -> None:  # page_cache_ra_order()
        index = ra["start"]
        limit = min(last, index + ra["size"] - 1)
        mark = index + ra["size"] - ra["async"]
        new_order = min(max_order, ra["order"], ra["size"].bit_length() - 1)
        ra["order"] = new_order
        while index <= limit:
            order = new_order
            if index & ((1 << order) - 1):
                order = (index & -index).bit_length() - 1
            while index + (1 << order) - 1 > limit:
                order -= 1
            order_of[index] = order
            for p in range(index, index + (1 << order)):
                owner[p] = index
            if index == mark - mark % (1 << order):
                flagged.add(index)
            index += 1 << order

    def sync_ra(index: int, req: int) -> None:  # page_cache_sync_ra()
        prev_index = ra["prev_pos"] >> 12
        if index == 0 or req > max_pages or index - prev_index <= 1:
            ra["size"] = init_size(req)
            ra["async"] = ra["size"] - req if ra["size"] > req else ra["size"] >> 1
        else:  # only reachable with 1-page windows; mirrors the kernel's history branch
            contig = 0
            while index - contig - 1 >= 0 and (index - contig - 1) in owner and contig < max_pages:
                contig += 1
            if contig <= req:
                ra["size"], ra["async"] = req, 0
            else:
                ra["size"], ra["async"] = min(contig + req, max_pages), 1
        ra["start"] = index
        ra["order"] = 0
        ra_order()

    def async_ra(folio: int, req: int) -> None:  # page_cache_async_ra()
        expected = ra["start"] + ra["size"] - ra["async"]
        expected -= expected % (1 << order_of[folio])
        assert folio == expected, "a sequential read must hit the expected marker"
        ra["start"] += ra["size"]
        ra["size"] = max(ra["size"], next_size(ra["size"]))
        ra["order"] += 2
        align = 1 << min(ra["order"], (max_pages & -max_pages).bit_length() - 1)
        end = ra["start"] + ra["size"]
        aligned_end = end - end % align
        if aligned_end > ra["start"]:
            ra["size"] -= end - aligned_end
        ra["async"] = ra["size"]
        ra_order()

    pos = 0
    while pos < size:  # one iteration per read() call
        remaining = read_size
        while remaining and pos < size:  # filemap_read()
            index = pos >> 12
            last_index = -(-(pos + remaining) // 4096)
            if index not in owner:
                sync_ra(index, last_index - index)
            folio = owner[index]
            if folio in flagged:
                flagged.discard(folio)
                async_ra(folio, last_index - folio)
            folio_end = (folio + (1 << order_of[folio])) * 4096
            step = min(folio_end, pos + remaining, size) - pos
            pos += step
            remaining -= step
        ra["prev_pos"] = pos

    assert sorted(owner) == list(range(last + 1)), "every page up to EOF is cached, none past it"
    census: dict[int, int] = {}
    for order in order_of.values():
        census[1 << order] = census.get(1 << order, 0) + 1
    return census


# --- The golden oracle.


@pytest.mark.parametrize(("size", "read_size", "pages", "expected"), EXT4_TABLE)
def test_ext4_measurements(size: int, read_size: int, pages: int, expected: dict[int, int]) -> None:
    row = folio_census(pl.Series([size]), read_size=read_size, read_ahead_kb=8192).row(0, named=True)
    assert census_of(row, 9) == expected
    assert row["pages"] == pages
    assert row["folios"] == sum(expected.values())


def test_ext4_table_in_one_vectorised_call() -> None:
    for read_size in (4_096, 65_536, 1_048_576):
        rows = [r for r in EXT4_TABLE if r[1] == read_size]
        df = folio_census(pl.Series([r[0] for r in rows]), read_size=read_size, read_ahead_kb=8192)
        assert [census_of(row, 9) for row in df.iter_rows(named=True)] == [r[3] for r in rows]


def test_reference_simulation_reproduces_the_table() -> None:
    # The reference must itself agree with the measurements before it can judge the model.
    for size, read_size, _, expected in EXT4_TABLE:
        assert reference_census(size, read_size, 8192, 9) == expected


# --- Output shape and dtypes.


def test_columns_dtypes_and_row_order() -> None:
    sizes = [33_554_432, 0, 16_384, 300_000, 1]
    df = folio_census(pl.Series(sizes), read_size=4096, read_ahead_kb=8192, max_order=9)
    assert df.columns == ["pages", "folios"] + [f"o{k}" for k in range(10)]
    assert all(dtype == pl.Int64 for dtype in df.dtypes)
    singles = [folio_census(pl.Series([s]), read_size=4096, read_ahead_kb=8192).row(0) for s in sizes]
    assert df.rows() == singles


def test_empty_input_and_zero_size() -> None:
    empty = folio_census(pl.Series("size", [], dtype=pl.Int64), max_order=3)
    assert empty.height == 0 and empty.columns == ["pages", "folios", "o0", "o1", "o2", "o3"]
    for eof in ("trim", "round_up"):
        row = folio_census(pl.Series([0]), eof=eof).row(0, named=True)
        assert row["pages"] == 0 and row["folios"] == 0 and census_of(row, 9) == {}


# --- Invariants over random parameters, up to petabyte files.


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 2**50), min_size=1, max_size=30),
    read_size=st.integers(1, 64 * MiB),
    read_ahead_kb=st.integers(1, 1 << 18).map(lambda n: 4 * n),
    max_order=st.integers(0, 11),
)
def test_trim_invariants(sizes: list[int], read_size: int, read_ahead_kb: int, max_order: int) -> None:
    df = folio_census(pl.Series(sizes), read_size=read_size, read_ahead_kb=read_ahead_kb, max_order=max_order)
    counts = df.select([f"o{k}" for k in range(max_order + 1)]).to_numpy()
    assert (counts >= 0).all()
    assert df["pages"].to_list() == [ceil_pages(s) for s in sizes]
    weights = np.array([1 << k for k in range(max_order + 1)], dtype=np.int64)
    assert (counts @ weights).tolist() == df["pages"].to_list()
    assert counts.sum(axis=1).tolist() == df["folios"].to_list()
    # No folio is bigger than the largest readahead window (page_cache_ra_order caps at ilog2).
    cap = min(max_order, (read_ahead_kb // 4).bit_length() - 1)
    assert (counts[:, cap + 1 :] == 0).all()


def test_extreme_sizes_do_not_overflow() -> None:
    sizes = [2**63 - 1, 2**62 + 12345, 10**15, 2**50 + 1]
    df = folio_census(pl.Series(sizes), read_size=4096, read_ahead_kb=8192)
    assert df["pages"].to_list() == [ceil_pages(s) for s in sizes]
    counts = df.select([f"o{k}" for k in range(10)]).to_numpy()
    assert (counts >= 0).all()
    assert (counts @ np.array([1 << k for k in range(10)])).tolist() == df["pages"].to_list()


def test_steady_state_is_extended_analytically() -> None:
    # 1 TiB, 4 KiB reads: the first 4 MiB ramp as in the 8 MiB ext4 row (minus its last two
    # 2 MiB folios); every later page sits in a 2 MiB folio.
    row = folio_census(pl.Series([TiB]), read_size=4096, read_ahead_kb=8192).row(0, named=True)
    ramp = {1: 4, 4: 5, 8: 1, 16: 4, 32: 1, 64: 4, 128: 1, 256: 2}
    assert census_of(row, 9) == {**ramp, 512: (TiB // 4096 - 1024) // 512}


# --- round_up (tmpfs huge=always).


def test_round_up_small_files_take_a_huge_folio_each() -> None:
    df = folio_census(pl.Series([8] * 50), eof="round_up")
    assert df["pages"].sum() == 50 * 512
    assert df["o9"].to_list() == [1] * 50
    assert df.select([f"o{k}" for k in range(9)]).to_numpy().sum() == 0


def test_round_up_measured_files() -> None:
    df = folio_census(pl.Series([70_000, 2 * MiB + 1, 2 * MiB, 0]), eof="round_up")
    assert df["o9"].to_list() == [1, 2, 1, 0]
    assert df["folios"].to_list() == [1, 2, 1, 0]
    assert df["pages"].to_list() == [512, 1024, 512, 0]
    # Three 2 MiB folios for the 70,000-byte file and the 2 MiB + 1 file (measured: 6,144 KiB).
    assert df["pages"][:2].sum() * 4 == 6144


def test_round_up_follows_max_order() -> None:
    row = folio_census(pl.Series([70_000]), eof="round_up", max_order=4).row(0, named=True)
    assert row["o4"] == 2 and row["pages"] == 32


# --- Default parameters.


def test_default_read_ahead_tops_out_at_order_5() -> None:
    df = folio_census(pl.Series([1 * GiB, 100 * MiB, 2**45]))
    assert (df["o5"] > 0).all()
    assert df.select([f"o{k}" for k in range(6, 10)]).to_numpy().sum() == 0
    assert df["pages"].to_list() == [GiB // 4096, 100 * MiB // 4096, 2**45 // 4096]


# --- Vectorised model against the per-file reference.

REFERENCE_CASES = [
    # read_size, read_ahead_kb, max_order, sizes
    (4096, 8192, 9, [1, 4096, 4097, 123_456, 5 * MiB + 17, 12 * MiB]),
    (65_536, 8192, 9, [70_000, 3 * MiB, 9 * MiB + 4095]),
    (1_048_576, 8192, 9, [1_000_000, 2 * MiB + 1, 20 * MiB - 1]),
    (4096, 128, 9, [1, 200_000, 3 * MiB + 5]),
    (1_048_576, 128, 9, [5 * MiB + 1, 700_000]),  # read() bigger than the window
    (1000, 128, 3, [9_999, 1_234_567]),  # read size not a multiple of the page
    (4096, 8, 9, [20_000, 1 * MiB + 3]),  # 2-page window: order-1 folios only
    (4096, 12, 9, [40_000, 2 * MiB + 1]),  # 3-page window: odd max, long period
    (4096, 4, 9, [5, 300_000]),  # 1-page window: no flag, every read misses
    (8192, 3072, 11, [6 * MiB + 1, 30 * MiB]),  # 768-page window, order capped by ilog2
    (4096, 8196, 11, [40 * MiB + 1]),  # odd 2049-page window
    (4096, 8192, 0, [3 * MiB]),  # no large folios at all
    (65_536, 1024, 2, [9 * MiB - 1]),
]


@pytest.mark.parametrize(("read_size", "read_ahead_kb", "max_order", "sizes"), REFERENCE_CASES)
def test_matches_reference(read_size: int, read_ahead_kb: int, max_order: int, sizes: list[int]) -> None:
    df = folio_census(pl.Series(sizes), read_size=read_size, read_ahead_kb=read_ahead_kb, max_order=max_order)
    got = [census_of(row, max_order) for row in df.iter_rows(named=True)]
    assert got == [reference_census(s, read_size, read_ahead_kb, max_order) for s in sizes]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 6 * MiB), min_size=1, max_size=4),
    read_size=st.integers(1024, 2 * MiB),
    read_ahead_kb=st.sampled_from([4, 8, 12, 16, 64, 128, 132, 512, 1020, 2048, 8192]),
    max_order=st.integers(0, 11),
)
def test_matches_reference_random(sizes: list[int], read_size: int, read_ahead_kb: int, max_order: int) -> None:
    df = folio_census(pl.Series(sizes), read_size=read_size, read_ahead_kb=read_ahead_kb, max_order=max_order)
    got = [census_of(row, max_order) for row in df.iter_rows(named=True)]
    assert got == [reference_census(s, read_size, read_ahead_kb, max_order) for s in sizes]


def test_window_split_equals_kernel_loop() -> None:
    # Every range [a, b) with b <= 80 and every cap: the bit arithmetic must equal the loop
    # of page_cache_ra_order() (order = cap; __ffs(index) if misaligned; shrink to fit).
    cases = [(a, b, cap) for cap in range(8) for a in range(80) for b in range(a + 1, 81)]
    a, b, cap = (np.array(col, dtype=np.int64) for col in zip(*cases))
    got = _split(a, b, cap, 7).T  # rows are orders; one column per range
    for row, (lo, hi, c) in zip(got, cases):
        want = [0] * 8
        index = lo
        while index < hi:
            order = c
            if index & ((1 << order) - 1):
                order = (index & -index).bit_length() - 1
            while index + (1 << order) > hi:
                order -= 1
            want[order] += 1
            index += 1 << order
        assert row.tolist() == want, (lo, hi, c)


# --- Parameter validation.


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"read_size": 0}, "read_size"),
        ({"read_size": -4096}, "read_size"),
        ({"read_ahead_kb": 0}, "read_ahead_kb"),
        ({"read_ahead_kb": 2}, "read_ahead_kb"),
        ({"read_ahead_kb": 130}, "read_ahead_kb"),
        ({"max_order": -1}, "max_order"),
        ({"max_order": 12}, "max_order"),
        ({"eof": "ceil"}, "eof"),
    ],
)
def test_invalid_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        folio_census(pl.Series([4096]), **kwargs)


@pytest.mark.parametrize(
    "sizes",
    [pl.Series([4096, -1]), pl.Series([4096, None]), pl.Series([1.5]), pl.Series([2**64 - 1], dtype=pl.UInt64)],
)
def test_invalid_sizes(sizes: pl.Series) -> None:
    with pytest.raises(ValueError):
        folio_census(sizes)


def test_io_pages_widens_the_window_for_reads_larger_than_it():
    """ractl_max_pages(): a read() beyond the window may read min(read pages, io_pages)."""
    sizes = pl.Series([300_000, 1 << 20, 8 << 20, 33_554_432])
    widened = folio_census(sizes, read_size=1 << 20, read_ahead_kb=128, io_pages=1024)
    # 1 MiB reads = 256 pages, within io_pages: as if the window were 256 pages (1024 KiB).
    assert widened.equals(folio_census(sizes, read_size=1 << 20, read_ahead_kb=1024))
    assert not widened.equals(folio_census(sizes, read_size=1 << 20, read_ahead_kb=128))
    # Reads within the window, or io_pages no larger than it, change nothing.
    assert folio_census(sizes, read_size=4096, read_ahead_kb=128, io_pages=1024).equals(
        folio_census(sizes, read_size=4096, read_ahead_kb=128)
    )
    assert folio_census(sizes, read_size=1 << 20, read_ahead_kb=128, io_pages=16).equals(
        folio_census(sizes, read_size=1 << 20, read_ahead_kb=128)
    )
