"""Measurement datasets: column order, types, sorting, provenance, atomic Parquet.

The conventions are the runs': byte and count columns are Int64, the column order is
fixed, rows are sorted, and nothing time-dependent is stored, so the same kernel
behaviour gives a byte-identical file. Provenance (kernel release, device, sample) goes
into the Parquet key-value metadata, as ``pagelab scan`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from polars._typing import PolarsDataType

from pagelab.atomic import atomic_write_parquet
from pagelab.errors import PagelabError
from pagelab.version import pagelab_version


@dataclass(frozen=True)
class Measurement:
    """One measurement: the long table, its provenance, tables for people, and notes.

    ``tables`` maps a title to a small table: ``agreement`` (exact matches per comparison)
    and ``differences`` (every file that differs, with its size) always; ``memory``
    (tmpfs) or ``hvo`` (memmap) where they apply.
    """

    frame: pl.DataFrame
    metadata: dict[str, str]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())


def finish(frame: pl.DataFrame, schema: dict[str, PolarsDataType], sort: list[str]) -> pl.DataFrame:
    """Cast to ``schema`` (which also fixes the column order) and sort, nulls first."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()]).sort(sort, nulls_last=False)


def provenance(measure: str, **extra: object) -> dict[str, str]:
    """Parquet metadata common to every measurement, plus ``extra`` (sorted, as strings)."""
    uname = os.uname()
    meta = {
        "pagelab.kind": "measurement",
        "pagelab.measure": measure,
        "pagelab.version": pagelab_version(),
        "kernel.release": uname.release,
        "kernel.machine": uname.machine,
    }
    meta.update({f"measure.{k}": str(v) for k, v in sorted(extra.items()) if v is not None})
    return meta


def write(measurement: Measurement, path: Path) -> None:
    """Write the long table atomically (a reader never sees a partial file)."""
    if Path(path).is_dir():
        raise PagelabError(f"-o {path}: is a directory")
    try:
        atomic_write_parquet(measurement.frame, Path(path), measurement.metadata)
    except OSError as exc:
        raise PagelabError(f"-o {path}: cannot write: {exc.strerror or exc}") from None
