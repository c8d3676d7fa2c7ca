"""Figure 4: guests per host, memory sold, and where the rest of the memory went."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from pagelab.figures.common import (
    Summary,
    collect,
    require_columns,
    require_rows,
    with_variants,
)
from pagelab.figures.defaults import at_defaults
from pagelab.figures.style import DOUBLE_WIDTH, new_figure, sequential, strategy_colors
from pagelab.units import GiB

NAME = "hosting"
TITLE = ("Hosting: guests per host, memory sold and the overhead "
         "(memmap, descriptors, page tables, fragmentation, stranded)")
# Overhead parts, stacked in this order.
PARTS = {
    "memmap_bytes": "memmap",
    "descriptor_bytes": "descriptors",
    "pagetable_bytes": "page tables",
    "internal_frag_bytes": "internal fragmentation",
    "stranded_bytes": "stranded",
}
QUANTITIES = {"guests": "guests", "guest_bytes": "memory sold", **PARTS}
COLUMNS = ("strategy", "workload", "seed", "installed_bytes", *QUANTITIES)


def data(summary: Summary) -> pl.DataFrame:
    """Mean, min and max over seeds of guests, memory sold and each overhead part, per variant.

    Reads runs with guests at their workload's default settings (VM mix, dmem=, ...);
    dmemfs runs whose ``strategy.dmem`` differs from the workload's ``dmem`` belong to the
    carve-out sweep (figure 5) and are left out. Long format, one
    row per variant and quantity: strategy, variant, quantity, value (mean), value_min,
    value_max, seeds.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = at_defaults(frame.filter(pl.col("guests").is_not_null()), prefixes=("workload.",))
    if {"strategy.dmem", "workload.dmem"} <= set(rows.columns):
        rows = rows.filter(pl.col("strategy.dmem").is_null() | (pl.col("strategy.dmem") == pl.col("workload.dmem")))
    rows = require_rows(rows, NAME, "runs with guests at the workload's default settings (workload=hosting)")
    rows = with_variants(rows, exclude=("strategy.dmem",))
    long = rows.select(
        "strategy", "variant", "variant_rank", "seed", *(pl.col(c).cast(pl.Float64) for c in QUANTITIES)
    ).unpivot(on=list(QUANTITIES), index=["strategy", "variant", "variant_rank", "seed"], variable_name="key")
    return (
        long.group_by("strategy", "variant", "variant_rank", "key")
        .agg(
            value=pl.col("value").mean(),
            value_min=pl.col("value").min(),
            value_max=pl.col("value").max(),
            seeds=pl.col("seed").n_unique().cast(pl.Int64),
        )
        .with_columns(
            quantity=pl.col("key").replace_strict(QUANTITIES),
            quantity_rank=pl.col("key").replace_strict({k: i for i, k in enumerate(QUANTITIES)}, return_dtype=pl.Int64),
        )
        .sort("variant_rank", "quantity_rank")
        .select("strategy", "variant", "quantity", "value", "value_min", "value_max", "seeds")
    )


def render(frame: pl.DataFrame) -> Figure:
    """Three horizontal bar panels sharing the variant axis: guests, memory sold, overhead stack."""
    variants = frame["variant"].unique(maintain_order=True).to_list()
    fig = new_figure(DOUBLE_WIDTH, 0.9 + 0.22 * len(variants))
    axes = fig.subplots(1, 3, sharey=True, width_ratios=[1, 1, 1.5])
    colours = strategy_colors(frame["strategy"].unique().to_list())
    strategy_of = dict(frame.select("variant", "strategy").unique(maintain_order=True).iter_rows())
    y = np.arange(len(variants))

    def column(quantity: str, field: str = "value") -> np.ndarray:
        part = frame.filter(pl.col("quantity") == quantity)
        lookup = dict(zip(part["variant"], part[field], strict=True))
        return np.array([lookup[v] for v in variants], dtype=float)

    bar_colours = [colours[strategy_of[v]] for v in variants]
    for ax, quantity, scale, label in (
        (axes[0], "guests", 1, "guests per host"),
        (axes[1], "memory sold", GiB, "memory sold (GiB)"),
    ):
        mean = column(quantity) / scale
        err = np.vstack([mean - column(quantity, "value_min") / scale, column(quantity, "value_max") / scale - mean])
        ax.barh(y, mean, color=bar_colours, height=0.7)
        ax.errorbar(mean, y, xerr=err, fmt="none", ecolor="black", elinewidth=0.6, capsize=1.5)
        ax.set_xlabel(label)
        ax.grid(axis="y", visible=False)
    left = np.zeros(len(variants))
    for (name, colour) in zip(PARTS.values(), sequential(len(PARTS)), strict=True):
        width = column(name) / GiB
        axes[2].barh(y, width, left=left, color=colour, height=0.7, label=name)
        left += width
    axes[2].set_xlabel("overhead (GiB, mean over seeds)")
    axes[2].legend(loc="lower right", ncols=1)
    axes[2].grid(axis="y", visible=False)
    axes[0].set_yticks(y, variants)
    axes[0].invert_yaxis()
    seeds = frame["seeds"].max()
    axes[0].set_title(f"error bars: min-max over {seeds} seed{'s' if seeds != 1 else ''}", loc="left", fontsize=6.5)
    return fig
