"""Terminal tables of a collected sweep: an overview of its jobs, and every failure."""

from __future__ import annotations

import polars as pl
from rich.console import Console
from rich.table import Table

from pagelab.sweep import SUMMARY
from pagelab.sweep.collect import Sweep
from pagelab.units import format_bytes

# Summary rows shown by `pagelab collect`; the file holds them all.
PREVIEW_ROWS = 12


def print_overview(sweep: Sweep, console: Console) -> None:
    """One line of job counts, then the first summary rows (job, strategy, workload, cost)."""
    counts = ", ".join(
        f"{n} {state}" for state in ("done", "failed", "running", "unknown") if (n := sweep.count(state))
    )
    # soft_wrap: paths are long, and a line cut in two cannot be grepped.
    console.print(f"{sweep.directory}: {sweep.jobs.height} jobs ({counts})", soft_wrap=True)
    if sweep.summary.height == 0:
        console.print("no job has results yet; nothing to summarise", soft_wrap=True)
        return
    console.print(
        f"{sweep.directory / SUMMARY}: {sweep.summary.height} rows x {sweep.summary.width} columns", soft_wrap=True
    )
    table = Table()
    for name in ("job", "strategy", "workload", "installed", "overhead", "guests"):
        table.add_column(name, justify="left" if name in ("strategy", "workload") else "right")
    preview = sweep.summary.head(PREVIEW_ROWS).select(
        "job", "strategy", "workload", "installed_bytes", "overhead_pct", "guests"
    )
    for job, strategy, workload, installed, overhead, guests in preview.iter_rows():
        shown_guests = "" if guests is None else f"{guests:,}"
        table.add_row(job, strategy, workload, format_bytes(installed), f"{overhead:.3f} %", shown_guests)
    if sweep.summary.height > PREVIEW_ROWS:
        table.caption = f"... and {sweep.summary.height - PREVIEW_ROWS} more rows"
    console.print(table)


def print_failures(sweep: Sweep, console: Console) -> None:
    """Every failed job with its overrides and one-line error; nothing when none failed."""
    failed = sweep.failed
    if failed.height == 0:
        return
    table = Table(title=f"{failed.height} of {sweep.jobs.height} jobs failed", title_justify="left")
    table.add_column("job", justify="right")
    table.add_column("overrides")
    table.add_column("error", overflow="fold")
    for job, overrides, error in failed.select("job", "overrides", pl.col("error").fill_null("")).iter_rows():
        table.add_row(job, overrides or "", error)
    console.print(table)
