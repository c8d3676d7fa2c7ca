"""The VM stream of a fleet: when each VM arrives and leaves, its size and its hourly usage.

Two sources: a ``vm_timeseries`` trace (Bitbrains Rnd, one row per VM, month and hour),
replayed as recorded, and a synthetic stream for a ``vms`` mix (Poisson arrivals, lognormal
lifetimes, sizes from the mix, usage shares borrowed from the trace). Hours count from 0,
the stream's first hour; a VM is present in hours ``arrival .. departure - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from pagelab import datasets
from pagelab.datasets.trace import HOUR, KIND, read_trace
from pagelab.errors import PagelabError
from pagelab.units import KiB
from pagelab.workloads.config import FleetConfig

PILOT = 100_000  # draws that estimate a mix's mean VM size for the arrival rate


@dataclass(frozen=True)
class Stream:
    """VMs in arrival order; ``ratio[source, hour % ratio width]`` is a VM's usage share that hour."""

    arrival: np.ndarray  # Int64 hour, non-decreasing
    departure: np.ndarray  # Int64 first hour it is gone, within 1 .. hours
    memory_bytes: np.ndarray
    vcpus: np.ndarray
    source: np.ndarray  # row of ``ratio``
    ratio: np.ndarray  # Float64 (sources, hours of usage data): hourly max usage / provisioned, 0..1
    hours: int

    @property
    def vms(self) -> int:
        """Number of VMs in the stream."""
        return len(self.arrival)

    @property
    def vm_hours(self) -> int:
        """Hours present, summed over the VMs."""
        return int((self.departure - self.arrival).sum())

    def usage(self, vms: np.ndarray, hour: int) -> np.ndarray:
        """Guest memory the VMs ``vms`` use in ``hour`` (their hourly peak), bytes."""
        share = self.ratio[self.source[vms], hour % self.ratio.shape[1]]
        return np.floor(self.memory_bytes[vms] * share).astype(np.int64)


def _resolve(ref: str, field: str) -> tuple[str, Path]:
    """(kind, path) of a catalog name or a file; a file with the trace's columns is a trace."""
    cards = datasets.catalog()
    if ref in cards:
        return cards[ref]["kind"], datasets.datasets_dir() / cards[ref]["file"]
    path = Path(ref).expanduser()
    if not path.exists():
        raise PagelabError(f"{field}={ref}: no such file, and not a catalog name")
    if path.suffix == ".parquet":
        try:
            columns = pl.read_parquet_schema(path)
        except Exception as error:  # a damaged file: name it, one line
            raise PagelabError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from None
        if "mem_usage_max_kib" in columns or "memory_bytes" not in columns:
            return KIND, path
    return "vms", path


def _months(frame: pl.DataFrame, month: str | None, field: str, path: Path) -> pl.DataFrame:
    if month is None:
        return frame
    chosen = frame.filter(pl.col("month") == month)
    if chosen.height == 0:
        found = ", ".join(frame["month"].unique().sort().to_list())
        raise PagelabError(f"{field}={month}: {path} has no such month ({found})")
    return chosen


def _per_vm(frame: pl.DataFrame, hours: int | None) -> tuple[pl.DataFrame, np.ndarray]:
    """One row per VM (a VM-month: each month of the trace is its own file) and its dense ratio grid.

    A VM is sized by its largest provisioned memory; hours missing inside its life take the
    last recorded share (then the next, before the first); shares are capped at 1 (a guest
    cannot use more than it was given). VMs never provisioned (0 KiB) are dropped.
    """
    start = int(frame.select(pl.min("hour")).item())
    rows = frame.with_columns(h=(pl.col("hour") - start) // HOUR)
    if hours is not None:
        rows = rows.filter(pl.col("h") < hours)
    vms = (
        rows.group_by("month", "vm_id")
        .agg(arrival=pl.col("h").min(), last=pl.col("h").max(), memory_kib=pl.col("mem_provisioned_kib").max(),
             vcpus=pl.col("cores").max().clip(lower_bound=1))
        .filter(pl.col("memory_kib") > 0)
        .sort("arrival", "month", "vm_id")
        .with_row_index("vm")
    )
    width = int(rows.select(pl.max("h")).item()) + 1
    cells = rows.join(vms.select("month", "vm_id", "vm", "memory_kib"), on=["month", "vm_id"], how="inner").select(
        "vm", "h", share=(pl.col("mem_usage_max_kib") / pl.col("memory_kib")).clip(upper_bound=1.0)
    )
    grid = np.full((vms.height, width), np.nan)
    grid[cells["vm"].to_numpy(), cells["h"].to_numpy()] = cells["share"].to_numpy()
    return vms, _fill(grid)


def _fill(grid: np.ndarray) -> np.ndarray:
    """Forward-fill each row's gaps, then back-fill its head (a row without data: 0)."""
    for values in (grid, grid[:, ::-1]):  # views: the second pass fills the head in place
        known = ~np.isnan(values)
        index = np.maximum.accumulate(np.where(known, np.arange(values.shape[1]), 0), axis=1)
        filled = np.take_along_axis(values, index, axis=1)
        values[:] = np.where(known, values, filled)
    return np.nan_to_num(grid, nan=0.0)


def trace_stream(path: Path, month: str | None, hours: int, field: str) -> Stream:
    """The trace's VMs over its first ``hours`` hours (of ``month``, or from its first hour)."""
    frame = _months(read_trace(path), month, field.replace("dataset", "month"), path)
    vms, grid = _per_vm(frame, hours)
    return Stream(
        arrival=vms["arrival"].to_numpy().astype(np.int64),
        departure=np.minimum(vms["last"].to_numpy() + 1, hours).astype(np.int64),
        memory_bytes=vms["memory_kib"].to_numpy().astype(np.int64) * KiB,
        vcpus=vms["vcpus"].to_numpy().astype(np.int64),
        source=np.arange(vms.height, dtype=np.int64),
        ratio=grid,
        hours=hours,
    )


def usage_shares(ref: str, month: str, field: str) -> np.ndarray:
    """Hourly usage shares of every VM of one month of a trace (VMs x hours of the month), read-only.

    Kept per (file, mtime, month) for the life of the process: every job of a sweep worker
    that replays the same month shares one copy.
    """
    kind, path = _resolve(ref, field)
    if kind != KIND:
        raise PagelabError(f"{field}={ref}: is a {kind} dataset, but a {KIND} dataset is needed")
    return _month_shares(path.resolve(), path.stat().st_mtime_ns, month, field)


@lru_cache(maxsize=8)
def _month_shares(path: Path, mtime_ns: int, month: str, field: str) -> np.ndarray:
    frame = _months(read_trace(path), month, field.replace("dataset", "month"), path)
    shares = _per_vm(frame, None)[1]
    shares.setflags(write=False)  # shared by every job of the process
    return shares


def synthetic_stream(ref: str, *, hours: int, seed: int, vms: int, load: float, fleet_bytes: int,
                     lifetime_mean: float, lifetime_sigma: float, shares: np.ndarray, field: str) -> Stream:
    """A seeded stream for a ``vms`` mix: Poisson arrivals, lognormal lifetimes, sizes from the mix.

    The rate is ``vms / hours`` when ``vms`` > 0, else the rate at which the provisioned
    memory in use reaches ``load * fleet_bytes`` (Little's law: rate x mean lifetime x mean
    size). Each VM borrows the hourly usage shares of a VM of the trace drawn at random
    (``shares``), on the same clock hour, so the trace's busy hours stay busy together.
    """
    mix = datasets.resolve(ref, "vms", field)
    rng = np.random.default_rng([seed, 14])
    mean_size = float(datasets.sample_vms(mix, PILOT, np.random.default_rng([seed, 15]))["memory_bytes"].mean())
    rate = vms / hours if vms > 0 else load * fleet_bytes / (mean_size * lifetime_mean)
    n = int(rng.poisson(rate * hours))
    start = np.sort(rng.uniform(0.0, hours, n))
    mu = np.log(lifetime_mean) - lifetime_sigma**2 / 2  # so that the lifetime's mean is lifetime_mean
    end = start + rng.lognormal(mu, lifetime_sigma, n)
    drawn = datasets.sample_vms(mix, n, rng) if n else pl.DataFrame({"memory_bytes": [], "vcpus": []})
    return Stream(
        arrival=np.floor(start).astype(np.int64),
        departure=np.minimum(np.floor(end).astype(np.int64) + 1, hours),
        memory_bytes=drawn["memory_bytes"].to_numpy().astype(np.int64),
        vcpus=drawn["vcpus"].to_numpy().astype(np.int64),
        source=rng.integers(0, shares.shape[0], n).astype(np.int64),
        ratio=shares,
        hours=hours,
    )


def build_stream(fleet: FleetConfig, *, seed: int, fleet_bytes: int) -> Stream:
    """The stream ``workload.fleet`` describes (a trace replayed, or a synthetic mix)."""
    kind, path = _resolve(fleet.dataset, "workload.fleet.dataset")
    if kind == KIND:
        return trace_stream(path, fleet.month, fleet.hours, "workload.fleet.dataset")
    shares = usage_shares(fleet.usage_dataset, fleet.usage_month, "workload.fleet.usage_dataset")
    return synthetic_stream(
        fleet.dataset, hours=fleet.hours, seed=seed, vms=fleet.vms, load=fleet.load, fleet_bytes=fleet_bytes,
        lifetime_mean=fleet.lifetime_mean_hours, lifetime_sigma=fleet.lifetime_sigma, shares=shares,
        field="workload.fleet.dataset",
    )
