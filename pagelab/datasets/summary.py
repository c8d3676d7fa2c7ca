"""What a dataset holds and represents: one line of ``pagelab datasets``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pagelab.datasets.read import read_table
from pagelab.datasets.sample import all_files
from pagelab.units import GiB, MiB

if TYPE_CHECKING:
    from pagelab.datasets.cards import Dataset



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


_MEASURES = {"files": "file size", "vms": "VM memory", "mappings": "mapping RSS",
             "vm_timeseries": "VM memory (largest provisioned, per VM-month)"}


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
    elif dataset.kind == "vm_timeseries":
        per_vm = table.group_by("month", "vm_id").agg(pl.col("mem_provisioned_kib").max() * 1024)
        memory = per_vm["mem_provisioned_kib"].to_numpy()
        represented, total, median = per_vm.height, int(memory.sum()), weighted_median(memory, np.ones(memory.size))
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
