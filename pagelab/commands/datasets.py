"""``pagelab datasets``: the shipped datasets and reference points, one line each."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pagelab import datasets
from pagelab.commands.parser import subcommand_parser
from pagelab.units import format_bytes

# What a dataset's "represented" count counts, by kind.
_UNITS = {"files": "files", "vms": "VMs", "mappings": "mappings", "vm_timeseries": "VM-months"}
_RIGHT = {"rows", "represents", "total", "median", "value"}


def _table(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    """A table whose columns keep their full width; only the last (source) is cut short."""
    table = Table(title=title, title_justify="left", caption_justify="left")
    for i, column in enumerate(columns[:-1]):
        width = max(len(column), *(len(row[i]) for row in rows))
        table.add_column(column, justify="right" if column in _RIGHT else "left", no_wrap=True, min_width=width)
    # On a narrow terminal the source wraps first; the catalog card has it in full.
    table.add_column(columns[-1], overflow="fold", max_width=48)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def datasets_table(seed: int) -> Table:
    """One row per catalog dataset: kind, rows, what it represents, total and median bytes, source."""
    rows = []
    for name, card in datasets.catalog().items():
        summary = datasets.describe(datasets.resolve(name, card["kind"]), seed)
        represented = "mix" if summary.represented is None else f"{summary.represented:,} {_UNITS[summary.kind]}"
        total = "-" if summary.total_bytes is None else format_bytes(summary.total_bytes)
        rows.append((
            name, f"{summary.kind} ({summary.layout})", f"{summary.rows:,}", represented, total,
            format_bytes(summary.median_bytes), summary.measure, summary.source,
        ))
    table = _table("pagelab datasets", ("name", "kind", "rows", "represents", "total", "median", "of", "source"), rows)
    table.caption = (
        f"Histograms are expanded with seed {seed}: bucket counts are exact, sizes inside a bucket are sampled. "
        "A mix of shares carries no VM count and no total. Cards: datasets/catalog.yaml."
    )
    return table


def points_table() -> Table:
    """One row per reference point and metric: published numbers, not datasets."""
    points = datasets.reference_points().select("point", "metric", "value", "unit", "source")
    rows = [
        (point, metric, f"{value:,.6g}" if value % 1 else f"{value:,.0f}", unit, source)
        for point, metric, value, unit, source in points.iter_rows()
    ]
    return _table("reference points (published numbers, not datasets)", ("point", "metric", "value", "unit", "source"), rows)


def main(argv: list[str]) -> int:
    """Print the datasets table and the reference points table; return 0."""
    parser = subcommand_parser(
        "pagelab datasets", "List the shipped datasets (datasets/catalog.yaml) and the reference points."
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for expanding histograms (default 0)")
    args = parser.parse_args(argv)
    # Piped into a file, the table is not cut to 80 columns.
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    console = Console(width=200) if wide else Console()
    console.print(datasets_table(args.seed))
    console.print(points_table())
    return 0
