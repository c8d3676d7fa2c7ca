"""A short terminal table of where the memory went, in binary units."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import polars as pl

from pagelab.units import format_bytes

if TYPE_CHECKING:  # rich loads when a table is printed, not when a sweep's job imports this
    from rich.console import Console
    from rich.table import Table

_LINES = (
    ("memmap (struct page)", "memmap_bytes"),
    ("other descriptors", "descriptor_bytes"),
    ("page tables", "pagetable_bytes"),
    ("guest page tables (EPT/NPT)", "ept_bytes"),
    ("internal fragmentation", "internal_frag_bytes"),
    ("stranded", "stranded_bytes"),
    ("total overhead", "overhead_bytes"),
)


def _pool_table(row: pl.DataFrame) -> Table:
    """Each node's pools: size, what they hold, what is free and what was short."""
    from rich.table import Table

    pools = row.select(pl.col("pools").explode()).unnest("pools")
    table = Table(title="pools", title_justify="left")
    for name in ("node", "pool", "size", "used", "free", "short"):
        table.add_column(name, justify="left" if name == "pool" else "right")
    used = (pl.col("size_bytes") - pl.col("free_bytes")).alias("used_bytes")
    for node, pool, size, held, free, short in pools.select(
        "node", "pool", "size_bytes", used, "free_bytes", "shortfall_bytes"
    ).iter_rows():
        table.add_row(str(node), pool, format_bytes(size), format_bytes(held), format_bytes(free),
                      f"[bold red]{format_bytes(short)}[/]" if short else "")
    return table


def print_summary(row: pl.DataFrame, console: Console | None = None) -> None:
    """Print the overhead breakdown of one results row, then its pools."""
    from rich.console import Console
    from rich.table import Table

    r = row.row(0, named=True)
    installed = r["installed_bytes"]
    title = f"{r['strategy']} on {r['workload']}: {format_bytes(installed)} installed"
    table = Table(title=title, title_justify="left")
    table.add_column("where the memory went")
    table.add_column("bytes", justify="right")
    table.add_column("of RAM", justify="right")
    for label, column in _LINES:
        table.add_row(label, format_bytes(r[column]), f"{100 * r[column] / installed:.3f} %")
    table.add_row("free after placement", format_bytes(r["free_bytes"]), f"{100 * r['free_bytes'] / installed:.3f} %")
    table.add_section()
    table.add_row("fits the machine", "yes" if r["fits"] else "[bold red]no[/]", "")
    table.add_row("requested", format_bytes(r["requested_bytes"]), f"{100 * r['requested_bytes'] / installed:.1f} %")
    table.add_row("objects tracked", f"{r['objects']:,}", "")
    table.add_row("struct pages", f"{r['struct_pages']:,}", "")
    if r["files_cached"] is not None:
        table.add_row("files cached", f"{r['files_cached']:,}", "")
        table.add_row("file bytes cached", format_bytes(r["file_bytes"]), f"{100 * r['file_bytes'] / installed:.1f} %")
    if r["guests"] is not None:
        table.add_row("guests", f"{r['guests']:,}", "")
        table.add_row("memory sold", format_bytes(r["guest_bytes"]), f"{100 * r['guest_bytes'] / installed:.1f} %")
    if r["shortfall_bytes"]:
        table.add_row("[bold red]shortfall[/]", format_bytes(r["shortfall_bytes"]), "")
    out = console or Console(file=sys.stdout)
    out.print(table)
    out.print(_pool_table(row))
