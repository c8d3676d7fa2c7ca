"""Expanding and sampling datasets: histograms, file sizes, VM mixes, anonymous mappings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pagelab.datasets.read import INT64_MAX, default_vcpus, per_file, read_table
from pagelab.errors import PagelabError
from pagelab.units import GiB, KiB, MiB

if TYPE_CHECKING:
    from pagelab.datasets.cards import Dataset

# Histogram buckets up to this many distinct sizes are expanded as one multinomial draw.
_MULTINOMIAL_WIDTH = 1 << 16



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
    with sizes log-uniformly distributed inside the bucket (seeded). The answer is
    computed once per process for each file (and seed, for a histogram): every job of
    a sweep that caches all files asks for it.
    """
    return _all_files(dataset, seed if dataset.layout == "histogram" else None)


@per_file
def _all_files(dataset: Dataset, seed: int | None) -> pl.DataFrame:
    if dataset.layout == "histogram":
        return _expand_histogram(read_table(dataset), np.random.default_rng(seed))
    grouped = _scan_grouped(dataset.path) if dataset.path.suffix == ".parquet" else None
    if grouped is not None:
        return grouped
    return read_table(dataset).lazy().group_by("size").agg(pl.col("count").sum()).sort("size").collect()



def _scan_grouped(path: Path) -> pl.DataFrame | None:
    """Unique sizes and their counts, grouped while the Parquet file is read (streaming).

    Only the grouped table is ever in memory, never the file's rows. Validation reads
    the groups: a null or negative size is a group of its own, a bad count shows in its
    group's minimum or null count. None when the file needs the row-by-row reader:
    columns that are not integers, or any invalid value (whose row that reader names).
    """
    try:
        schema = pl.read_parquet_schema(path)
    except Exception:  # the reader names what is wrong with the file
        return None
    has_count = "count" in schema
    if not schema.get("size", pl.Null).is_integer() or (has_count and not schema["count"].is_integer()):
        return None
    if has_count:
        count = pl.col("count")
        counts = [count.cast(pl.Int64, strict=False).sum().alias("count"), count.min().alias("_low"),
                  count.max().alias("_high"), count.null_count().alias("_nulls")]
    else:
        counts = [pl.len().cast(pl.Int64).alias("count")]
    groups = pl.scan_parquet(path).group_by("size").agg(counts).collect()
    # Every size and count present and within 0 .. INT64_MAX (a null comparison makes it null: not ok).
    ok = (pl.col("size").null_count() == 0) & pl.col("size").is_between(0, INT64_MAX).all()
    if has_count:
        ok = ok & (pl.col("_nulls").sum() == 0) & (pl.col("_low").min() >= 0) & (pl.col("_high").max() <= INT64_MAX)
    if groups.height == 0 or not groups.select(ok).item():
        return None
    return groups.select(pl.col("size").cast(pl.Int64), "count").sort("size")


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
        return pl.DataFrame({"memory_bytes": memory, "vcpus": default_vcpus(memory)})
    return mix[pick].select("memory_bytes", pl.col("vcpus").clip(lower_bound=1))


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
