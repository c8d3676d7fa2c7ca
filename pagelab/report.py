"""A short terminal table of where the memory went, in binary units."""

from __future__ import annotations

import sys

import polars as pl
from rich.console import Console
from rich.table import Table

from pagelab.units import format_bytes

_LINES = (
    ("memmap (struct page)", "memmap_bytes"),
    ("other descriptors", "descriptor_bytes"),
    ("page tables", "pagetable_bytes"),
    ("internal fragmentation", "internal_frag_bytes"),
    ("stranded", "stranded_bytes"),
    ("total overhead", "overhead_bytes"),
)


def print_summary(row: pl.DataFrame, console: Console | None = None) -> None:
    """Print the overhead breakdown of one results row."""
    r = row.row(0, named=True)
    installed = r["installed_bytes"]
    title = f"{r['strategy']} on {r['workload']}: {format_bytes(installed)} installed"
    table = Table(title=title, title_justify="left")
    table.add_column("where the memory went")
    table.add_column("bytes", justify="right")
    table.add_column("of RAM", justify="right")
    for label, column in _LINES:
        table.add_row(label, format_bytes(r[column]), f"{100 * r[column] / installed:.3f} %")
    table.add_section()
    table.add_row("requested", format_bytes(r["requested_bytes"]), f"{100 * r['requested_bytes'] / installed:.1f} %")
    table.add_row("objects tracked", f"{r['objects']:,}", "")
    table.add_row("struct pages", f"{r['struct_pages']:,}", "")
    if r["guests"] is not None:
        table.add_row("guests", f"{r['guests']:,}", "")
        table.add_row("memory sold", format_bytes(r["guest_bytes"]), f"{100 * r['guest_bytes'] / installed:.1f} %")
    if r["shortfall_bytes"]:
        table.add_row("[bold red]shortfall[/]", format_bytes(r["shortfall_bytes"]), "")
    (console or Console(file=sys.stdout)).print(table)
