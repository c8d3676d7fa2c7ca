"""Writing figures, tables and their data with the same bytes on every run."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from pagelab.atomic import atomic_write, atomic_write_parquet

FORMATS = ("pdf", "svg", "png")
# No timestamps, no library version strings: the bytes depend on the figure alone
# (svg.hashsalt and pdf.fonttype come from the style file, active while saving).
_METADATA = {
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": "pagelab", "Producer": None},
    "svg": {"Date": None, "Creator": "pagelab"},
    "png": {"Software": None},
}


def _savefig(fig: Figure, fmt: str, tmp: Path) -> None:
    fig.savefig(tmp, format=fmt, metadata=_METADATA[fmt])


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem.pdf``, ``stem.svg`` and ``stem.png`` (each atomically); return the paths.

    Call inside :func:`pagelab.figures.style.paper_style`.
    """
    paths = []
    for fmt in FORMATS:
        path = stem.with_name(f"{stem.name}.{fmt}")
        atomic_write(path, partial(_savefig, fig, fmt))
        paths.append(path)
    return paths


def save_text(text: str, path: Path) -> Path:
    """Write a text output (the LaTeX table) atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def save_data(frame: pl.DataFrame, stem: Path) -> list[Path]:
    """Write the tidy frame behind a figure as ``stem.parquet`` and ``stem.csv``."""
    parquet, csv = stem.with_name(f"{stem.name}.parquet"), stem.with_name(f"{stem.name}.csv")
    atomic_write_parquet(frame, parquet)
    atomic_write(csv, lambda tmp: frame.write_csv(tmp))
    return [parquet, csv]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
