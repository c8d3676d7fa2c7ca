"""Reading a dataset file and validating it: one-line errors naming file, row and column."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow.parquet as pq

from pagelab.errors import PagelabError
from pagelab.units import GiB

if TYPE_CHECKING:
    from pagelab.datasets.catalog import Dataset


def _is_number(text: bytes) -> bool:
    """Whether a first line is a number (so the file has no header), signs and decimals included."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_raw(path: Path) -> pl.DataFrame:
    """Read a Parquet, CSV or one-size-per-line text file, unvalidated."""
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        if path.stat().st_size == 0:  # `find` over an empty tree prints nothing
            return pl.DataFrame(schema={"size": pl.String})
        with open(path, "rb") as handle:
            head = handle.readline().strip()
        # A first line that is a number (even a bad one, such as -3) means one size per line.
        if _is_number(head) or not head:
            return pl.read_csv(path, has_header=False, new_columns=["size"], infer_schema=False)
        return pl.read_csv(path, infer_schema=False)
    except PagelabError:
        raise
    except Exception as error:  # polars and pyarrow raise many types for corrupt files
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PagelabError(f"{path}: not a readable {kind} file ({message})") from None


def parquet_metadata(path: Path) -> dict[str, str]:
    """Key-value metadata of a Parquet file (name, kind, provenance of scans)."""
    meta = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in meta.items() if not k.startswith(b"ARROW")}


def integer_column(frame: pl.DataFrame, column: str, path: Path, *, required: bool = True) -> pl.Series | None:
    """Return ``column`` as Int64 >= 0, or raise naming the file, row and column at fault.

    Rows are numbered from 1 (the first data row).
    """
    if column not in frame.columns:
        if not required:
            return None
        raise PagelabError(f"{path}: missing column '{column}' (found {', '.join(frame.columns)})")
    raw = frame[column]
    if raw.dtype == pl.Boolean:
        raw = raw.cast(pl.String)  # True is not a size
    text = raw.cast(pl.String).str.strip_chars()
    exact = text.cast(pl.Int64, strict=False)  # exact for every Int64, "4096" and "-5" alike
    number = text.cast(pl.Float64, strict=False)  # "1.0", "2.5", "1e3", "inf", "nan"
    finite = number.is_finite().fill_null(False)
    problems = (  # in order of precedence: the first that applies names a row's problem
        (raw.is_null(), "is empty (null)"),
        (number.is_null() | number.is_nan(), "is not a number"),
        (~finite, "is not a finite number"),
        (exact.is_null() & (number != number.floor()), "is not a whole number of bytes"),
        (number < 0, "is negative"),
        (exact.is_null() & (number >= 2.0**63), "is too large for a 64-bit size"),
    )
    first: tuple[int, str] | None = None
    for bad, what in problems:
        bad = bad.fill_null(False)
        if bad.any():
            row = int(bad.arg_true()[0])
            if first is None or row < first[0]:
                first = (row, what)
    if first is not None:
        row, what = first
        raise PagelabError(f"{path}: row {row + 1}, column '{column}': value {raw[row]!r} {what}")
    # Whole numbers written as decimals ("4096.0", a Float64 column) are accepted.
    return exact.fill_null(number.cast(pl.Int64, strict=False)).alias(column)


_TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False}


def boolean_column(frame: pl.DataFrame, column: str, path: Path) -> pl.Series:
    """Return ``column`` as Boolean (true/false, 1/0), or raise naming the file, row and column."""
    if column not in frame.columns:
        raise PagelabError(f"{path}: missing column '{column}' (found {', '.join(frame.columns)})")
    raw = frame[column]
    if raw.dtype == pl.Boolean:
        parsed = raw
    else:
        text = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        parsed = text.replace_strict(_TRUE_FALSE, default=None, return_dtype=pl.Boolean)
    bad = parsed.is_null()
    if bad.any():
        row = int(bad.arg_true()[0])
        what = "is empty (null)" if raw[row] is None else "is not true or false"
        raise PagelabError(f"{path}: row {row + 1}, column '{column}': value {raw[row]!r} {what}")
    return parsed.alias(column)


def _once_per_process(load: Callable[[Dataset], pl.DataFrame]) -> Callable[[Dataset], pl.DataFrame]:
    """Cache ``load(dataset)`` for the life of the process, keyed on the file's mtime and size.

    A sweep runs many jobs in each worker process, and a job draws in many batches: each
    dataset is read and validated once. An edited file is read again; errors are not cached.
    """

    @cache
    def cached(dataset: Dataset, mtime_ns: int, size: int) -> pl.DataFrame:
        return load(dataset)

    @wraps(load)
    def wrapper(dataset: Dataset) -> pl.DataFrame:
        try:
            stat = dataset.path.stat()
        except OSError:
            return load(dataset)  # let the reader name the problem
        return cached(dataset, stat.st_mtime_ns, stat.st_size)

    wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper


@_once_per_process
def read_table(dataset: Dataset) -> pl.DataFrame:
    """Read ``dataset`` and validate it; raise :class:`PagelabError` on bad input."""
    frame = read_raw(dataset.path)
    if frame.height == 0:
        raise PagelabError(f"{dataset.path}: the dataset is empty (no rows)")
    if dataset.layout != "rows":
        return frame
    if dataset.kind == "files":
        size = integer_column(frame, "size", dataset.path)
        count = integer_column(frame, "count", dataset.path, required=False)
        return pl.DataFrame({"size": size, "count": count if count is not None else pl.repeat(1, frame.height, eager=True, dtype=pl.Int64)})
    if dataset.kind == "vms":
        memory = integer_column(frame, "memory_bytes", dataset.path)
        vcpus = integer_column(frame, "vcpus", dataset.path, required=False)
        weight = integer_column(frame, "count", dataset.path, required=False)
        return pl.DataFrame(
            {
                "memory_bytes": memory,
                "vcpus": vcpus if vcpus is not None else default_vcpus(memory),
                "weight": (weight if weight is not None else pl.repeat(1, frame.height, eager=True, dtype=pl.Int64)).cast(pl.Float64),
            }
        )
    sizes = {c: integer_column(frame, c, dataset.path) for c in ("size", "rss")}
    return pl.DataFrame({**sizes, "anon": boolean_column(frame, "anon", dataset.path)})


def default_vcpus(memory: pl.Series) -> pl.Series:
    """One vCPU per 4 GiB, at least one: used when a VM dataset has no vCPU column."""
    return (memory // (4 * GiB)).clip(lower_bound=1).alias("vcpus")
