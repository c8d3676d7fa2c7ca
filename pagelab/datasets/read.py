"""Reading a dataset file and validating it: one-line errors naming file, row and column."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, overload

import polars as pl

from pagelab.errors import PagelabError
from pagelab.units import GiB

if TYPE_CHECKING:
    from pagelab.datasets.cards import Dataset

T = TypeVar("T")

# Columns a table of each kind is built from (layout "rows"); a Parquet file is read for these only.
ROW_COLUMNS = {"files": ("size", "count"), "vms": ("memory_bytes", "vcpus", "count"), "mappings": ("size", "rss", "anon")}
INT64_MAX = 2**63 - 1


def _is_number(text: bytes) -> bool:
    """Whether a first line is a number (so the file has no header), signs and decimals included."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unreadable(path: Path, error: Exception) -> PagelabError:
    kind = "Parquet" if path.suffix == ".parquet" else "CSV"
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return PagelabError(f"{path}: not a readable {kind} file ({message})")


def _headerless(path: Path) -> bool:
    """True for one size per line (what ``find -printf '%s\\n'`` prints), also when empty."""
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as handle:
        head = handle.readline().strip()
    # A first line that is a number (even a bad one, such as -3) means one size per line.
    return _is_number(head) or not head


def read_raw(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """Read a Parquet, CSV or one-size-per-line text file, unvalidated.

    ``columns`` limits a Parquet read to those columns (each must exist); text formats
    are always read whole, so that a malformed line is reported whatever its column.
    """
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path, columns=columns)
        if path.stat().st_size == 0:  # `find` over an empty tree prints nothing
            return pl.DataFrame(schema={"size": pl.String})
        if _headerless(path):
            return pl.read_csv(path, has_header=False, new_columns=["size"], infer_schema=False)
        return pl.read_csv(path, infer_schema=False)
    except PagelabError:
        raise
    except Exception as error:  # polars raises many types for corrupt files
        raise _unreadable(path, error) from None


def read_columns(path: Path) -> list[str]:
    """The column names of a dataset file, in file order, without reading its data.

    Parquet: from the footer's schema; CSV: from its header line; text: ``size``.
    """
    try:
        if path.suffix == ".parquet":
            return list(pl.read_parquet_schema(path))
        if _headerless(path):
            return ["size"]
        return pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except Exception as error:
        raise _unreadable(path, error) from None


def parquet_metadata(path: Path) -> dict[str, str]:
    """Key-value metadata of a Parquet file (name, kind, provenance of scans)."""
    meta = pl.read_parquet_metadata(path)
    return {k: v for k, v in meta.items() if not k.startswith("ARROW")}


# --- validation ---------------------------------------------------------------------------


def _first_problem(raw: pl.Series, problems: list[tuple[pl.Series, str]]) -> tuple[int, str] | None:
    """The first row with any problem, and the first of ``problems`` (in order) that it has."""
    masks = [(bad.fill_null(False), what) for bad, what in problems]
    anywhere = masks[0][0]
    for bad, _ in masks[1:]:
        anywhere = anywhere | bad
    if not anywhere.any():
        return None
    row = int(anywhere.arg_true()[0])
    return row, next(what for bad, what in masks if bad[row])


def _integer_problems(raw: pl.Series) -> list[tuple[pl.Series, str]]:
    """Problems of an integer column: nulls, negatives, and UInt64 values past Int64."""
    problems = [(raw.is_null(), "is empty (null)")]
    if raw.dtype.is_signed_integer():
        problems.append((raw < 0, "is negative"))
    elif raw.dtype == pl.UInt64:
        problems.append((raw > INT64_MAX, "is too large for a 64-bit size"))
    return problems


def _float_problems(number: pl.Series) -> list[tuple[pl.Series, str]]:
    """Problems of a column of numbers (Float64): the checks in order of precedence."""
    return [
        (number.is_null(), "is empty (null)"),
        (number.is_nan(), "is not a number"),
        (~number.is_finite(), "is not a finite number"),
        (number != number.floor(), "is not a whole number of bytes"),
        (number < 0, "is negative"),
        (number >= 2.0**63, "is too large for a 64-bit size"),
    ]


def _text_problems(raw: pl.Series, text: pl.Series, exact: pl.Series, number: pl.Series) -> list[tuple[pl.Series, str]]:
    """Problems of a column of text, where a value may be a decimal or not a number at all."""
    finite = number.is_finite().fill_null(False)
    return [  # in order of precedence: the first that applies names a row's problem
        (raw.is_null(), "is empty (null)"),
        (number.is_null() | number.is_nan(), "is not a number"),
        (~finite, "is not a finite number"),
        (exact.is_null() & (number != number.floor()), "is not a whole number of bytes"),
        (number < 0, "is negative"),
        (exact.is_null() & (number >= 2.0**63), "is too large for a 64-bit size"),
    ]


def _as_int64(raw: pl.Series) -> tuple[pl.Series, list[tuple[pl.Series, str]]]:
    """``raw`` as Int64 (where valid), and the problems that make rows invalid.

    Numbers are checked as numbers; only text (CSV, or a column of another type) is parsed.
    """
    if raw.dtype.is_integer():
        return raw.cast(pl.Int64, strict=False), _integer_problems(raw)
    if raw.dtype.is_float():
        number = raw.cast(pl.Float64)
        return number.cast(pl.Int64, strict=False), _float_problems(number)
    # Any other type (booleans, decimals, ...) is judged by its text.
    text = (raw if raw.dtype == pl.String else raw.cast(pl.String)).str.strip_chars()
    exact = text.cast(pl.Int64, strict=False)  # exact for every Int64, "4096" and "-5" alike
    if exact.null_count() == raw.null_count():  # every value is a plain integer: no decimals to parse
        return exact, [(raw.is_null(), "is empty (null)"), (exact < 0, "is negative")]
    number = text.cast(pl.Float64, strict=False)  # "1.0", "2.5", "1e3", "inf", "nan"
    # Whole numbers written as decimals ("4096.0") are accepted.
    return exact.fill_null(number.cast(pl.Int64, strict=False)), _text_problems(raw, text, exact, number)


def _missing(path: Path, column: str, found: list[str]) -> PagelabError:
    return PagelabError(f"{path}: missing column '{column}' (found {', '.join(found)})")


@overload
def integer_column(
    frame: pl.DataFrame, column: str, path: Path, *, required: Literal[True] = True, found: list[str] | None = None
) -> pl.Series: ...


@overload
def integer_column(
    frame: pl.DataFrame, column: str, path: Path, *, required: bool, found: list[str] | None = None
) -> pl.Series | None: ...


def integer_column(
    frame: pl.DataFrame, column: str, path: Path, *, required: bool = True, found: list[str] | None = None
) -> pl.Series | None:
    """Return ``column`` as Int64 >= 0, or raise naming the file, row and column at fault.

    Rows are numbered from 1 (the first data row). ``found`` lists the file's columns
    for the message about a missing column (default: the frame's).
    """
    if column not in frame.columns:
        if not required:
            return None
        raise _missing(path, column, found or frame.columns)
    raw = frame[column]
    if raw.dtype == pl.Boolean:
        raw = raw.cast(pl.String)  # True is not a size: judged (and shown) as text
    values, problems = _as_int64(raw)
    first = _first_problem(raw, problems)
    if first is not None:
        row, what = first
        raise PagelabError(f"{path}: row {row + 1}, column '{column}': value {raw[row]!r} {what}")
    return values.alias(column)


_TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False}


def boolean_column(frame: pl.DataFrame, column: str, path: Path, *, found: list[str] | None = None) -> pl.Series:
    """Return ``column`` as Boolean (true/false, 1/0), or raise naming the file, row and column."""
    if column not in frame.columns:
        raise _missing(path, column, found or frame.columns)
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


# --- per-process caches ---------------------------------------------------------------------


def per_file(load: Callable[..., T]) -> Callable[..., T]:
    """Cache ``load(dataset, *key)`` for the life of the process, keyed on the file's mtime and size.

    A sweep runs many jobs in each worker process, and a job draws in many batches: each
    dataset is read and validated once. An edited file is read again; errors are not cached.
    """

    @cache
    def cached(dataset: Dataset, mtime_ns: int, size: int, *key: Hashable) -> T:
        return load(dataset, *key)

    @wraps(load)
    def wrapper(dataset: Dataset, *key: Hashable) -> T:
        try:
            stat = dataset.path.stat()
        except OSError:
            return load(dataset, *key)  # let the reader name the problem
        return cached(dataset, stat.st_mtime_ns, stat.st_size, *key)

    wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper


@per_file
def read_table(dataset: Dataset) -> pl.DataFrame:
    """Read ``dataset`` and validate it; raise :class:`PagelabError` on bad input."""
    path = dataset.path
    if dataset.kind == "vm_timeseries":
        from pagelab.datasets.trace import read_trace

        return read_trace(path)
    found: list[str] | None = None
    if dataset.layout == "rows" and path.suffix == ".parquet" and dataset.kind in ROW_COLUMNS:
        # Only the columns the table is built from: a scan's other columns stay on disk.
        found = read_columns(path)
        frame = read_raw(path, [c for c in found if c in ROW_COLUMNS[dataset.kind]])
        if frame.width == 0:  # none of them: the height comes from the file's metadata
            frame = read_raw(path, found[:1])
    else:
        frame = read_raw(path)
    if frame.height == 0:
        raise PagelabError(f"{path}: the dataset is empty (no rows)")
    if dataset.layout != "rows":
        return frame
    ones = pl.repeat(1, frame.height, eager=True, dtype=pl.Int64)
    if dataset.kind == "files":
        size = integer_column(frame, "size", path, found=found)
        count = integer_column(frame, "count", path, required=False, found=found)
        if count is not None and count.sum() == 0:
            raise PagelabError(f"{path}: column 'count': every row's count is 0, so the dataset holds no file")
        return pl.DataFrame({"size": size, "count": count if count is not None else ones})
    if dataset.kind == "vms":
        memory = integer_column(frame, "memory_bytes", path, found=found)
        vcpus = integer_column(frame, "vcpus", path, required=False, found=found)
        weight = integer_column(frame, "count", path, required=False, found=found)
        # A VM has at least one vCPU. A catalog card may document rows of 0 (bitbrains_rnd_2013:
        # a trace artefact), which the sampler counts as 1; in anyone else's file it is an error.
        if vcpus is not None and not dataset.card and (vcpus < 1).any():
            row = int((vcpus < 1).arg_true()[0])
            raise PagelabError(f"{path}: row {row + 1}, column 'vcpus': value {vcpus[row]} is below 1 (a VM has a vCPU)")
        if weight is not None and weight.sum() == 0:
            raise PagelabError(f"{path}: column 'count': every row's count is 0, so no VM can be drawn")
        return pl.DataFrame(
            {
                "memory_bytes": memory,
                "vcpus": vcpus if vcpus is not None else default_vcpus(memory),
                "weight": (weight if weight is not None else ones).cast(pl.Float64),
            }
        )
    sizes = {c: integer_column(frame, c, path, found=found) for c in ("size", "rss")}
    return pl.DataFrame({**sizes, "anon": boolean_column(frame, "anon", path, found=found)})


def default_vcpus(memory: pl.Series) -> pl.Series:
    """One vCPU per 4 GiB, at least one: used when a VM dataset has no vCPU column."""
    return (memory // (4 * GiB)).clip(lower_bound=1).alias("vcpus")
