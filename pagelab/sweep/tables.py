"""Terminal tables of a collected sweep: an overview of its jobs, its seeds, and every failure."""

from __future__ import annotations

import os

import polars as pl
from rich.console import Console
from rich.table import Table

from pagelab.outputs import SEEDS, SUMMARY
from pagelab.sweep.collect import Sweep
from pagelab.units import format_bytes

# Summary rows shown by `pagelab collect`; the file holds them all.
PREVIEW_ROWS = 12


def _pairs(sweep: Sweep) -> pl.DataFrame:
    """Each job's overrides as (job, key, value) rows, values as typed."""
    return (
        sweep.jobs.select("job", pl.col("overrides").fill_null("").str.split(" ")).explode("overrides")
        .filter(pl.col("overrides").str.contains("="))
        .select("job", key=pl.col("overrides").str.extract(r"^\+*([^=]+)="),
                value=pl.col("overrides").str.extract(r"=(.*)$"))
    )


def swept_axes(sweep: Sweep) -> list[str]:
    """Results columns that the jobs' overrides set to more than one value (seed left out)."""
    varying = (_pairs(sweep).group_by("key", maintain_order=True).agg(pl.col("value").n_unique())
               .filter(pl.col("value") > 1))
    return [k for k in varying["key"] if k != "seed" and k in sweep.summary.columns]


def typed_axes(sweep: Sweep, axes: list[str]) -> pl.DataFrame:
    """Per job, each axis as its override typed it (``strategy=page2m``, which the results row
    records as page16k with page_size=2M); the results' own value where no override set it."""
    typed = _pairs(sweep).filter(pl.col("key").is_in(axes)).unique(["job", "key"], keep="last", maintain_order=True)
    rows = sweep.summary.select("job", *(pl.col(a).cast(pl.String) for a in axes))
    if typed.height == 0:
        return rows
    joined = rows.join(typed.pivot(on="key", index="job", values="value"), on="job", how="left", suffix="__typed")
    return joined.select("job", *(pl.coalesce(f"{a}__typed", a).alias(a) if f"{a}__typed" in joined.columns
                                  else pl.col(a) for a in axes))


def _label(column: str) -> str:
    return column.removeprefix("workload.").removeprefix("strategy.")


def print_overview(sweep: Sweep, console: Console) -> None:
    """Job counts, then the first summary rows: the swept axes, whether each fits, its cost."""
    counts = ", ".join(
        f"{n} {state}" for state in ("done", "failed", "interrupted", "running", "unknown") if (n := sweep.count(state))
    )
    # soft_wrap: paths are long, and a line cut in two cannot be grepped.
    console.print(f"{sweep.directory}: {sweep.jobs.height} jobs ({counts})", soft_wrap=True)
    if sweep.summary.height == 0:
        console.print("no job has results yet; nothing to summarise", soft_wrap=True)
        return
    console.print(
        f"{sweep.directory / SUMMARY}: {sweep.summary.height} rows x {sweep.summary.width} columns", soft_wrap=True
    )
    if os.environ.get("PAGELAB_VERBOSITY") == "quiet":  # pagelab -q (pagelab.app.VERBOSITY): where, not what
        return
    axes = swept_axes(sweep)
    with_guests = sweep.summary["guests"].is_not_null().any()
    table = Table()
    names = ["job", *axes, *(["seed"] if sweep.summary["seed"].n_unique() > 1 else []), "fits", "overhead", "free",
             *(["guests", "sold"] if with_guests else [])]
    for name in names:
        table.add_column(_label(name), justify="right" if name in ("job", "seed", "guests") else "left")
    shown = typed_axes(sweep, axes).head(PREVIEW_ROWS)
    for r, t in zip(sweep.summary.head(PREVIEW_ROWS).iter_rows(named=True), shown.iter_rows(named=True)):
        cells = [r["job"], *(str(t[a]) for a in axes)]
        cells += [str(r["seed"])] if "seed" in names else []
        cells += ["yes" if r["fits"] else "[bold red]no[/]", f"{r['overhead_pct']:.2f}%", format_bytes(r["free_bytes"])]
        if with_guests:
            cells += ["" if r["guests"] is None else f"{r['guests']:,}",
                      "" if r["guest_bytes"] is None else format_bytes(r["guest_bytes"])]
        table.add_row(*cells)
    if sweep.summary.height > PREVIEW_ROWS:
        table.caption = f"... and {sweep.summary.height - PREVIEW_ROWS} more rows"
    console.print(table)
    print_seeds(sweep, axes, console)


def print_seeds(sweep: Sweep, axes: list[str], console: Console) -> None:
    """Configurations run with several seeds: mean and 95 % interval of what they sell and cost.

    Nothing when no configuration has more than one seed.
    """
    repeated = sweep.seeds.filter(pl.col("seeds") > 1) if sweep.seeds.height else sweep.seeds
    if repeated.height == 0:
        return
    with_guests = repeated["guest_bytes_mean"].is_not_null().any()
    table = Table(title=f"{sweep.directory / SEEDS}: mean [95 % interval] over seeds", title_justify="left")
    names = [*(_label(a) for a in axes), "seeds", "fits", *(["sold"] if with_guests else []), "overhead"]
    for name in names:
        table.add_column(name, justify="right" if name in ("seeds", "fits") else "left")

    def interval(row: dict, metric: str, unit: float, suffix: str) -> str:
        mean, lo, hi = (row[f"{metric}_{s}"] for s in ("mean", "lo", "hi"))
        if mean is None:
            return ""
        if lo is None:
            return f"{mean / unit:.3g}{suffix}"
        return f"{mean / unit:.4g} [{lo / unit:.4g}, {hi / unit:.4g}]{suffix}"

    # The axes as typed (page2m, not page16k at 2M), found through any job of the configuration.
    keys = [c for c in repeated.columns if c in sweep.summary.columns and c not in ("seed", "seeds")]
    labels = (sweep.summary.select("job", *keys)
              .join(typed_axes(sweep, axes).rename({a: f"__typed.{a}" for a in axes}), on="job", how="left")
              .unique(keys, keep="first", maintain_order=True).drop("job"))
    shown = repeated.head(PREVIEW_ROWS).join(labels, on=keys, how="left", nulls_equal=True, maintain_order="left")
    for row in shown.iter_rows(named=True):
        cells = [*(str(row[f"__typed.{a}"] if row[f"__typed.{a}"] is not None else row[a]) for a in axes),
                 str(row["seeds"]), f"{100 * row['fits_mean']:.0f} %"]
        cells += [interval(row, "guest_bytes", 2**30, " GiB")] if with_guests else []
        table.add_row(*cells, interval(row, "overhead_pct", 1, " %"))
    if repeated.height > PREVIEW_ROWS:
        table.caption = f"... and {repeated.height - PREVIEW_ROWS} more configurations"
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
