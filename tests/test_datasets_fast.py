"""The fast dataset path gives exactly what the string-casting path gave before it.

``REFERENCE_*`` below is the loader as it was before issue 11 (validation by casting every
value to text and back, every column read, an eager group-by on every call), kept here
as the reference. Every shipped dataset, every column type a file can bring and every
kind of bad value must give the same table, the same grouped files, and the same error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from pagelab import datasets
from pagelab.datasets.read import ROW_COLUMNS, default_vcpus, integer_column, read_raw
from pagelab.errors import PagelabError

# The kinds this loader builds tables for (the catalog may hold others, read elsewhere).
CATALOG = {name: card for name, card in datasets.catalog().items() if card["kind"] in datasets.KINDS}


# --- the reference: pagelab/datasets/read.py and sample.py before issue 11 -------------------


def reference_integer_column(frame: pl.DataFrame, column: str, path: Path, *, required: bool = True):
    if column not in frame.columns:
        if not required:
            return None
        raise PagelabError(f"{path}: missing column '{column}' (found {', '.join(frame.columns)})")
    raw = frame[column]
    if raw.dtype == pl.Boolean:
        raw = raw.cast(pl.String)
    text = raw.cast(pl.String).str.strip_chars()
    exact = text.cast(pl.Int64, strict=False)
    number = text.cast(pl.Float64, strict=False)
    finite = number.is_finite().fill_null(False)
    problems = (
        (raw.is_null(), "is empty (null)"),
        (number.is_null() | number.is_nan(), "is not a number"),
        (~finite, "is not a finite number"),
        (exact.is_null() & (number != number.floor()), "is not a whole number of bytes"),
        (number < 0, "is negative"),
        (exact.is_null() & (number >= 2.0**63), "is too large for a 64-bit size"),
    )
    first = None
    for bad, what in problems:
        bad = bad.fill_null(False)
        if bad.any():
            row = int(bad.arg_true()[0])
            if first is None or row < first[0]:
                first = (row, what)
    if first is not None:
        row, what = first
        raise PagelabError(f"{path}: row {row + 1}, column '{column}': value {raw[row]!r} {what}")
    return exact.fill_null(number.cast(pl.Int64, strict=False)).alias(column)


def reference_read_table(dataset) -> pl.DataFrame:
    frame = read_raw(dataset.path)  # every column
    if frame.height == 0:
        raise PagelabError(f"{dataset.path}: the dataset is empty (no rows)")
    if dataset.layout != "rows":
        return frame
    ones = pl.repeat(1, frame.height, eager=True, dtype=pl.Int64)
    if dataset.kind == "files":
        size = reference_integer_column(frame, "size", dataset.path)
        count = reference_integer_column(frame, "count", dataset.path, required=False)
        return pl.DataFrame({"size": size, "count": count if count is not None else ones})
    if dataset.kind == "vms":
        memory = reference_integer_column(frame, "memory_bytes", dataset.path)
        vcpus = reference_integer_column(frame, "vcpus", dataset.path, required=False)
        weight = reference_integer_column(frame, "count", dataset.path, required=False)
        return pl.DataFrame({"memory_bytes": memory, "vcpus": vcpus if vcpus is not None else default_vcpus(memory),
                             "weight": (weight if weight is not None else ones).cast(pl.Float64)})
    sizes = {c: reference_integer_column(frame, c, dataset.path) for c in ("size", "rss")}
    return pl.DataFrame({**sizes, "anon": datasets.boolean_column(frame, "anon", dataset.path)})


def reference_all_files(dataset, seed: int) -> pl.DataFrame:
    from pagelab.datasets.sample import _expand_histogram

    table = reference_read_table(dataset)
    if dataset.layout == "histogram":
        return _expand_histogram(table, np.random.default_rng(seed))
    return table.group_by("size").agg(pl.col("count").sum()).sort("size")


def outcome(call):
    """What a call gives: its value, or its error message."""
    try:
        return call()
    except PagelabError as error:
        return f"error: {error}"


def same(left, right) -> None:
    if isinstance(left, str) or isinstance(right, str):
        assert left == right
    elif isinstance(left, pl.Series):
        assert_series_equal(left, right, check_exact=True)
    else:
        assert_frame_equal(left, right, check_exact=True)


# --- every shipped dataset ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_shipped_dataset_reads_as_before(name):
    card = CATALOG[name]
    dataset = datasets.resolve(name, card["kind"])
    same(datasets.read_table(dataset), reference_read_table(dataset))
    if card["kind"] == "files":
        for seed in (0, 1, 7):
            grouped = datasets.all_files(dataset, seed)
            same(grouped, reference_all_files(dataset, seed))
            assert datasets.all_files(dataset, seed) is grouped  # computed once per process


# --- every column type and every kind of bad value --------------------------------------------

COLUMNS = {
    "int64": pl.Series([4096, 0, 12, 7], dtype=pl.Int64),
    "int8": pl.Series([1, 2, 3, 4], dtype=pl.Int8),
    "uint64": pl.Series([1, 2**63 - 1, 3, 4], dtype=pl.UInt64),
    "uint32": pl.Series([1, 2, 4_000_000_000, 4], dtype=pl.UInt32),
    "float64 whole": pl.Series([4096.0, 1.0, -0.0, 1e15], dtype=pl.Float64),
    "float32 whole": pl.Series([4096.0, 1.0, 16777216.0, 3.0], dtype=pl.Float32),
    "text": pl.Series(["4096", " 12 ", "+5", "0007"]),
    "text decimals": pl.Series(["4096.0", "1e3", "12", "5"]),
    # bad ones: each names a row and a problem
    "int negative": pl.Series([5, 3, -1, -2], dtype=pl.Int64),
    "int null": pl.Series([5, None, -1, 2], dtype=pl.Int64),
    "uint64 too large": pl.Series([5, 2**63, 2**64 - 1, 1], dtype=pl.UInt64),
    "float fractional": pl.Series([1.0, 2.5, -1.0, 4.0]),
    "float nan": pl.Series([1.0, float("nan"), 2.5, 3.0]),
    "float inf": pl.Series([1.0, 3.0, float("inf"), -1.0]),
    "float negative": pl.Series([1.0, -4.0, 2.0, 3.0]),
    "float too large": pl.Series([1.0, 1e19, 2.0, 3.0]),
    "float null": pl.Series([1.0, None, 2.5, 3.0]),
    "text junk": pl.Series(["1", "12k", "-3", "2"]),
    "text negative first": pl.Series(["-1", "12k", "3", "2"]),
    "text too large": pl.Series(["1", "1e30", "2", "3"]),
    "text empty": pl.Series(["1", None, "2", "3"]),
    "text nan and inf": pl.Series(["1", "inf", "nan", "3"]),
    "text huge digits": pl.Series(["1", "99999999999999999999", "2", "3"]),
    "boolean": pl.Series([True, False, True, True]),
}


@pytest.mark.parametrize("case", sorted(COLUMNS))
def test_validation_of_every_column_type_is_unchanged(case, tmp_path):
    frame = pl.DataFrame({"size": COLUMNS[case]})
    path = tmp_path / "x.parquet"
    same(outcome(lambda: integer_column(frame, "size", path)), outcome(lambda: reference_integer_column(frame, "size", path)))


PARQUETS = {
    "sizes": {"size": [4096, 1, 1, 8192, 0]},
    "sizes and counts": {"size": [4096, 1, 1, 8192], "count": [2, 3, 0, 1]},
    "scan with allocated": {"size": [10, 20, 10], "allocated": [4096, 4096, 4096]},
    "uint sizes": {"size": pl.Series([3, 2, 3], dtype=pl.UInt16)},
    "float sizes": {"size": [1.0, 2.0, 1.0]},
    "null size": {"size": [1, None, 3]},
    "negative size": {"size": [1, 2, -3]},
    "negative count": {"size": [1, 2, 3], "count": [1, -1, 2]},
    "null count": {"size": [1, 2, 3], "count": [1, None, 2]},
    "uint64 count too large": {"size": [1, 2], "count": pl.Series([1, 2**63], dtype=pl.UInt64)},
    "text sizes": {"size": ["1", "2", "x"]},
    "no size column": {"bytes": [1, 2]},
    "empty": {"size": pl.Series([], dtype=pl.Int64)},
}


@pytest.mark.parametrize("case", sorted(PARQUETS))
def test_grouping_while_reading_a_file_is_unchanged(case, tmp_path):
    path = tmp_path / "files.parquet"
    pl.DataFrame(PARQUETS[case]).write_parquet(path)
    dataset = datasets.Dataset("files", "files", "rows", path)
    same(outcome(lambda: datasets.all_files(dataset, 0)), outcome(lambda: reference_all_files(dataset, 0)))
    same(outcome(lambda: datasets.read_table(dataset)), outcome(lambda: reference_read_table(dataset)))


def test_a_large_scan_groups_as_before(tmp_path):
    rng = np.random.default_rng(11)
    sizes = np.floor(np.exp(rng.normal(8.0, 2.5, 1_000_000))).astype(np.int64)
    path = tmp_path / "big.parquet"
    pl.DataFrame({"size": sizes, "allocated": (sizes + 4095) // 4096 * 4096}).write_parquet(path)
    dataset = datasets.resolve(str(path), "files")
    same(datasets.all_files(dataset, 0), reference_all_files(dataset, 0))
    # Only the columns a files table is built from were read: no 'allocated'.
    assert datasets.read_table(dataset).columns == list(ROW_COLUMNS["files"])


def test_kind_of_a_path_comes_from_its_schema_or_header(tmp_path):
    parquet = tmp_path / "vms.parquet"
    pl.DataFrame({"memory_bytes": [2**30], "vcpus": [1]}).write_parquet(parquet)
    assert datasets.resolve(str(parquet), "vms").kind == "vms"
    csv = tmp_path / "maps.csv"
    csv.write_text("size,rss,anon\n4096,4096,true\n")
    assert datasets.resolve(str(csv), "mappings").kind == "mappings"
    text = tmp_path / "find.txt"
    text.write_text("4096\n12\n")
    assert datasets.resolve(str(text), "files").kind == "files"
    with pytest.raises(PagelabError, match="is a vms dataset, but a files dataset is needed"):
        datasets.resolve(str(parquet), "files")
