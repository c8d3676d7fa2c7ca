"""Datasets: the catalog, loading by name or path, validation, and expansion.

Kinds and their canonical tables:
    files     size (Int64 bytes), count (Int64 weight)
    vms       memory_bytes (Int64), vcpus (Int64), weight (Float64 share or count)
    mappings  size, rss (Int64 bytes), anon (Boolean)

A reference is a catalog name (``irlam_ufs93``) or a path to ``.parquet``, ``.csv`` or a
plain text file with one size per line (what ``find DIR -type f -printf '%s\\n'`` prints).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import yaml

from pagelab.errors import PagelabError
from pagelab.units import GiB, MiB

KINDS = ("files", "vms", "mappings")
# Columns that identify the kind of a dataset given by path.
# Histogram buckets up to this many distinct sizes are expanded as one multinomial draw.
_MULTINOMIAL_WIDTH = 1 << 16
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


@cache
def catalog() -> dict[str, dict]:
    """The catalog cards, by dataset name (sorted)."""
    with open(datasets_dir() / "catalog.yaml") as handle:
        cards = yaml.safe_load(handle) or {}
    return dict(sorted(cards.items()))


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
        found = Dataset(path.stem, _kind_of_path(path), "rows", path)
    if found.kind != kind:
        raise PagelabError(f"{field_name}={ref}: is a {found.kind} dataset, but a {kind} dataset is needed")
    return found


def _kind_of_path(path: Path) -> str:
    columns = set(_read_raw(path).columns)
    for kind in ("mappings", "vms", "files"):
        if set(_KIND_COLUMNS[kind]) <= columns:
            return kind
    raise PagelabError(
        f"{path}: missing column 'size' (a files dataset needs size; vms needs memory_bytes); "
        f"found {', '.join(sorted(columns)) or 'none'}"
    )


def _read_raw(path: Path) -> pl.DataFrame:
    """Read a Parquet, CSV or one-size-per-line text file, unvalidated."""
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        with open(path, "rb") as handle:
            head = handle.readline().strip()
        if head.isdigit() or not head:
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
    text = raw.cast(pl.String).str.strip_chars()
    as_int = text.cast(pl.Int64, strict=False)
    as_float = text.cast(pl.Float64, strict=False)
    problems = (
        (raw.is_null(), "is empty (null)"),
        (as_float.is_null() | as_float.is_nan(), "is not a number"),
        (as_int.is_null(), "is not a whole number of bytes"),
        (as_int < 0, "is negative"),
    )
    for bad, what in problems:
        if bad.any():
            row = int(bad.arg_true()[0])
            raise PagelabError(f"{path}: row {row + 1}, column '{column}': value {raw[row]!r} {what}")
    return as_int


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
        return pl.DataFrame({"size": size, "count": count if count is not None else pl.repeat(1, frame.height, eager=True)})
    if dataset.kind == "vms":
        memory = integer_column(frame, "memory_bytes", dataset.path)
        vcpus = integer_column(frame, "vcpus", dataset.path, required=False)
        weight = integer_column(frame, "count", dataset.path, required=False)
        return pl.DataFrame(
            {
                "memory_bytes": memory,
                "vcpus": vcpus if vcpus is not None else _default_vcpus(memory),
                "weight": (weight if weight is not None else pl.repeat(1, frame.height, eager=True)).cast(pl.Float64),
            }
        )
    sizes = {c: integer_column(frame, c, dataset.path) for c in ("size", "rss")}
    return pl.DataFrame({**sizes, "anon": frame["anon"].cast(pl.Boolean)})


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
