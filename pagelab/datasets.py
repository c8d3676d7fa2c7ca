"""Datasets: the catalog, loading by name or path, validation, and expansion.

Kinds and their canonical tables:
    files     size (Int64 bytes), count (Int64 weight)
    vms       memory_bytes (Int64), vcpus (Int64), weight (Float64 share or count)
    mappings  size, rss (Int64 bytes), anon (Boolean)

A reference is a catalog name (``irlam_ufs93``) or a path to ``.parquet``, ``.csv`` or a
plain text file with one size per line (what ``find DIR -type f -printf '%s\\n'`` prints).
The catalog also holds reference points (published numbers that are not datasets), see
:func:`reference_points`; :func:`describe` summarises a dataset for ``pagelab datasets``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, wraps
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import yaml

from pagelab.errors import PagelabError
from pagelab.units import GiB, KiB, MiB

KINDS = ("files", "vms", "mappings")
# Histogram buckets up to this many distinct sizes are expanded as one multinomial draw.
_MULTINOMIAL_WIDTH = 1 << 16
# Columns that identify the kind of a dataset given by path.
_KIND_COLUMNS = {"files": ("size",), "vms": ("memory_bytes",), "mappings": ("size", "rss", "anon")}


@dataclass(frozen=True)
class Dataset:
    """A dataset reference resolved to a file, with its catalog card (empty for paths)."""

    name: str
    kind: str
    layout: str
    path: Path
    card: dict = field(default_factory=dict, compare=False)


def datasets_dir() -> Path:
    """Folder holding the shipped datasets and ``catalog.yaml``."""
    return Path(str(resources.files("pagelab_datasets")))


# The catalog's section of reference points; every other top-level key is a dataset.
POINTS_KEY = "points"


@cache
def _catalog_file() -> dict:
    with open(datasets_dir() / "catalog.yaml") as handle:
        return yaml.safe_load(handle) or {}


def catalog() -> dict[str, dict]:
    """The catalog cards, by dataset name (sorted)."""
    cards = {k: v for k, v in _catalog_file().items() if k != POINTS_KEY}
    return dict(sorted(cards.items()))


def point_cards() -> dict[str, dict]:
    """The reference points' cards (published numbers, not datasets), by name (sorted)."""
    return dict(sorted((_catalog_file().get(POINTS_KEY) or {}).items()))


def resolve(ref: str, kind: str, field_name: str = "dataset") -> Dataset:
    """Resolve a catalog name or a path into a :class:`Dataset` of the wanted ``kind``.

    ``field_name`` names the config field in error messages.
    """
    cards = catalog()
    if ref in cards:
        card = cards[ref]
        found = Dataset(ref, card["kind"], card["layout"], datasets_dir() / card["file"], card)
    else:
        path = Path(ref).expanduser()
        if not path.exists():
            raise PagelabError(
                f"{field_name}={ref}: no such file, and not a catalog name ({', '.join(cards)})"
            )
        found = Dataset(path.stem, _kind_of_path(path, kind), "rows", path)
    if found.kind != kind:
        raise PagelabError(f"{field_name}={ref}: is a {found.kind} dataset, but a {kind} dataset is needed")
    return found


def _kind_of_path(path: Path, wanted: str) -> str:
    """The kind a file's columns make it (the most specific that fits), else a missing-column error.

    A file that fits another kind, and has none of the columns that ``wanted`` adds to
    it, is that other kind (the caller reports a wrong kind); otherwise the first column
    of ``wanted`` that is missing is named.
    """
    columns = set(_read_raw(path).columns)
    needed = _KIND_COLUMNS[wanted]
    for kind in ("mappings", "vms", "files"):
        if set(_KIND_COLUMNS[kind]) <= columns:
            if kind == wanted or not (set(needed) - set(_KIND_COLUMNS[kind])) & columns:
                return kind
            break
    missing = next(c for c in needed if c not in columns)
    raise PagelabError(
        f"{path}: missing column '{missing}' (a {wanted} dataset needs {', '.join(needed)}); "
        f"found {', '.join(sorted(columns)) or 'none'}"
    )


def _is_number(text: bytes) -> bool:
    """Whether a first line is a number (so the file has no header), signs and decimals included."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_raw(path: Path) -> pl.DataFrame:
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
    frame = _read_raw(dataset.path)
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
                "vcpus": vcpus if vcpus is not None else _default_vcpus(memory),
                "weight": (weight if weight is not None else pl.repeat(1, frame.height, eager=True, dtype=pl.Int64)).cast(pl.Float64),
            }
        )
    sizes = {c: integer_column(frame, c, dataset.path) for c in ("size", "rss")}
    return pl.DataFrame({**sizes, "anon": boolean_column(frame, "anon", dataset.path)})


def _default_vcpus(memory: pl.Series) -> pl.Series:
    """One vCPU per 4 GiB, at least one: used when a VM dataset has no vCPU column."""
    return (memory // (4 * GiB)).clip(lower_bound=1).alias("vcpus")


# --- files ---------------------------------------------------------------------------


def _bucket_bounds(hist: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return (lo, hi) of each histogram bucket (lo, hi]; the first bucket is [hi, hi]."""
    hi = hist["max_bytes"].to_numpy().astype(np.int64)
    lo = np.concatenate(([hi[0] - 1], hi[:-1]))
    return lo, hi


def _log_uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integers in (lo, hi], log-uniformly distributed (a histogram bucket's interior)."""
    low, high = np.log(np.maximum(lo + 1.0, 1.0)), np.log(hi + 1.0)
    drawn = np.floor(np.exp(rng.uniform(low, high))).astype(np.int64)
    return np.clip(drawn, lo + 1, hi)


def _aggregate(sizes: np.ndarray) -> pl.DataFrame:
    return _frame(*np.unique(sizes, return_counts=True))


def all_files(dataset: Dataset, seed: int) -> pl.DataFrame:
    """Every file the dataset represents, as unique sizes with counts (sorted by size).

    A histogram is expanded bucket by bucket: exactly its published count of files,
    with sizes log-uniformly distributed inside the bucket (seeded).
    """
    table = read_table(dataset)
    if dataset.layout == "histogram":
        return _expand_histogram(table, np.random.default_rng(seed))
    return table.group_by("size").agg(pl.col("count").sum()).sort("size")


def _expand_histogram(table: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Exact expansion of a histogram into (size, count) rows.

    Narrow buckets draw every size's count at once from the exact log-uniform
    probabilities (a multinomial), so millions of files cost no per-file work; wide
    buckets, which hold few files, draw their files one by one.
    """
    parts = []
    lo, hi = _bucket_bounds(table)
    for low, high, files in zip(lo, hi, table["files"].to_numpy(), strict=True):
        if files == 0:
            continue
        if high - low <= _MULTINOMIAL_WIDTH:
            sizes = np.arange(low + 1, high + 1)
            # P(size = k) is proportional to log(k + 1) - log(k) inside the bucket.
            edges = np.log(np.append(sizes, high + 1).astype(float)) if len(sizes) > 1 else np.zeros(2)
            p = np.diff(edges) / (edges[-1] - edges[0]) if len(sizes) > 1 else np.ones(1)
            parts.append(_frame(sizes, rng.multinomial(files, p)))
        else:
            parts.append(_aggregate(_log_uniform(rng, np.full(files, low), np.full(files, high))))
    merged = pl.concat(parts)
    return merged.filter(pl.col("count") > 0).group_by("size").agg(pl.col("count").sum()).sort("size")


def _frame(sizes: np.ndarray, counts: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"size": sizes.astype(np.int64), "count": counts.astype(np.int64)})


def sample_files(dataset: Dataset, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` file sizes, weighted by count."""
    table = read_table(dataset)
    if dataset.layout == "histogram":
        lo, hi = _bucket_bounds(table)
        weights = table["files"].to_numpy().astype(float)
        bucket = rng.choice(len(hi), size=n, p=weights / weights.sum())
        return _log_uniform(rng, lo[bucket], hi[bucket])
    weights = table["count"].to_numpy().astype(float)
    if weights.sum() == 0:
        raise PagelabError(f"{dataset.path}: every row has count 0")
    return table["size"].to_numpy()[rng.choice(table.height, size=n, p=weights / weights.sum())]


# --- VMs -----------------------------------------------------------------------------


def sample_vms(dataset: Dataset, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """Draw ``n`` VMs (memory_bytes, vcpus) from the dataset's mix."""
    table = read_table(dataset)
    if dataset.layout == "shares":
        memory = (table["memory_gb"] * GiB).round().cast(pl.Int64)
        mix = pl.DataFrame({"memory_bytes": memory, "vcpus": table["vcpus"], "weight": table["pct_vms"]})
    elif dataset.layout == "buckets":
        mix = table.rename({"pct_vms": "weight"})
    else:
        mix = table
    weights = mix["weight"].to_numpy().astype(float)
    pick = rng.choice(mix.height, size=n, p=weights / weights.sum())
    if dataset.layout == "buckets":
        lo = (mix["lo_gb"].to_numpy() * GiB / MiB).astype(np.int64)[pick]
        hi = (mix["hi_gb"].to_numpy() * GiB / MiB).astype(np.int64)[pick]
        memory = pl.Series("memory_bytes", _log_uniform(rng, lo, hi) * MiB)
        return pl.DataFrame({"memory_bytes": memory, "vcpus": _default_vcpus(memory)})
    return mix[pick].select("memory_bytes", pl.col("vcpus").clip(lower_bound=1))


# --- mappings ------------------------------------------------------------------------

# Mappings are sized in MMU pages: RSS is counted in 4 KiB pages on x86-64 and arm64/4K.
_MMU_PAGE = 4 * KiB


def resident_anon(dataset: Dataset) -> np.ndarray:
    """RSS of every resident anonymous mapping, rounded up to 4 KiB (bytes, dataset order).

    Mappings without a resident page occupy no memory and are left out.
    """
    table = read_table(dataset)
    rss = table.filter(pl.col("anon") & (pl.col("rss") > 0))["rss"].to_numpy()
    if rss.size == 0:
        raise PagelabError(f"{dataset.path}: no anonymous mapping with resident memory (anon and rss > 0)")
    return -(-rss // _MMU_PAGE) * _MMU_PAGE


def sample_anon(dataset: Dataset, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` resident anonymous mappings' RSS (bytes), each mapping equally likely."""
    pool = resident_anon(dataset)
    return pool[rng.integers(0, pool.size, size=n)]


# --- summaries -----------------------------------------------------------------------


def aggregate_files(frame: pl.DataFrame) -> pl.DataFrame:
    """A scan's one-row-per-file table as unique ``size`` (and ``allocated``) rows with a ``count``.

    The same multiset of files in far fewer rows, sorted, so that shipped scans stay
    small; ``allocated`` is kept when the scan recorded it (trees, not tarballs).
    """
    keys = ["size"]
    if "allocated" in frame.columns and frame["allocated"].null_count() < frame.height:
        keys.append("allocated")
    return frame.group_by(keys).agg(pl.len().cast(pl.Int64).alias("count")).sort(keys)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> int:
    """The smallest value with at least half of the total weight at or below it."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    return int(np.asarray(values)[order][np.searchsorted(cumulative, cumulative[-1] / 2, side="left")])


def _bucket_median(lo_gb: np.ndarray, hi_gb: np.ndarray, weights: np.ndarray) -> int:
    """Median of the log-uniform-within-bucket mix that :func:`sample_vms` draws from (bytes)."""
    cumulative = np.cumsum(weights)
    half = cumulative[-1] / 2
    k = int(np.searchsorted(cumulative, half, side="left"))
    share = (half - (cumulative[k] - weights[k])) / weights[k]
    # Same scale as _log_uniform in MiB: log(lo + 1) .. log(hi + 1).
    low, high = np.log(lo_gb[k] * GiB / MiB + 1.0), np.log(hi_gb[k] * GiB / MiB + 1.0)
    return int(np.floor(np.exp(low + share * (high - low)))) * MiB


@dataclass(frozen=True)
class Summary:
    """One line of ``pagelab datasets``: what a dataset holds and represents."""

    name: str
    kind: str
    layout: str
    rows: int
    represented: int | None  # files, VMs or mappings; None for a mix of shares
    total_bytes: int | None  # None for a mix of shares
    median_bytes: int
    measure: str  # what total and median are of
    source: str


_MEASURES = {"files": "file size", "vms": "VM memory", "mappings": "mapping RSS"}


def describe(dataset: Dataset, seed: int = 0) -> Summary:
    """Summarise a dataset: rows, files/VMs/mappings represented, total and median bytes.

    A histogram is expanded with ``seed`` (its bucket counts are exact); a share table
    (a VM mix) represents no count and no total, and its median is that of the mix.
    """
    table = read_table(dataset)
    represented: int | None
    total: int | None
    if dataset.kind == "files":
        files = all_files(dataset, seed)
        size, count = files["size"].to_numpy(), files["count"].to_numpy()
        represented, total, median = int(count.sum()), int((size * count).sum()), weighted_median(size, count)
    elif dataset.kind == "mappings":
        rss = table["rss"].to_numpy()
        represented, total, median = table.height, int(rss.sum()), weighted_median(rss, np.ones(rss.size))
    elif dataset.layout == "shares":
        memory = (table["memory_gb"] * GiB).round().cast(pl.Int64).to_numpy()
        represented, total, median = None, None, weighted_median(memory, table["pct_vms"].to_numpy())
    elif dataset.layout == "buckets":
        lo, hi, pct = (table[c].to_numpy().astype(float) for c in ("lo_gb", "hi_gb", "pct_vms"))
        represented, total, median = None, None, _bucket_median(lo, hi, pct)
    else:
        memory, weight = table["memory_bytes"].to_numpy(), table["weight"].to_numpy()
        represented = int(weight.sum())
        total, median = int((memory * weight).sum()), weighted_median(memory, weight)
    source = str(dataset.card.get("source", dataset.path))
    return Summary(
        dataset.name, dataset.kind, dataset.layout, table.height, represented, total, median,
        _MEASURES[dataset.kind], source,
    )


# --- reference points ----------------------------------------------------------------

# Units of reference points that are amounts of memory, in bytes (Hansen's "KB" is taken
# as KiB, see his card).
_BYTE_UNITS = {"bytes": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}
POINTS_SCHEMA = {
    "point": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "bytes": pl.Int64,
    "title": pl.String,
    "source": pl.String,
}


def reference_points() -> pl.DataFrame:
    """The catalog's reference points in long form: one row per (point, metric).

    ``bytes`` holds the value in bytes when the unit is an amount of memory, else null.
    Figures draw these beside the datasets; they are published numbers, not datasets.
    """
    rows = [
        {
            "point": name,
            "metric": metric,
            "value": float(entry["value"]),
            "unit": entry["unit"],
            "bytes": round(entry["value"] * _BYTE_UNITS[entry["unit"]]) if entry["unit"] in _BYTE_UNITS else None,
            "title": card["title"],
            "source": card["source"],
        }
        for name, card in point_cards().items()
        for metric, entry in card["values"].items()
    ]
    return pl.DataFrame(rows, schema=POINTS_SCHEMA)
