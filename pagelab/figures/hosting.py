"""Figure 4: memory sold per host, guests, the overhead, and the memory left free after packing."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from pagelab.figures.common import (
    NOT_FITTING,
    Summary,
    carve_out,
    collect,
    require_columns,
    require_rows,
    seeds_note,
    with_variants,
)
from pagelab.figures.defaults import at_defaults
from pagelab.figures.style import (
    DOUBLE_WIDTH,
    new_figure,
    sequential,
    shade,
    strategy_colors,
)
from pagelab.sweep.seeds import over_seeds
from pagelab.units import GiB

NAME = "hosting"
TITLE = ("Hosting: memory sold and guests per host, the overhead (memmap, descriptors, page tables, "
         "fragmentation, stranded) and the memory left free after packing")
# Overhead parts, stacked in this order; free memory is no overhead and is drawn apart.
PARTS = {
    "memmap_bytes": "memmap",
    "descriptor_bytes": "descriptors",
    "pagetable_bytes": "page tables",
    "ept_bytes": "EPT page tables",
    "internal_frag_bytes": "internal fragmentation",
    "stranded_bytes": "stranded",
}
QUANTITIES = {
    "guest_bytes": "memory sold",
    "guests": "guests",
    **PARTS,
    "overhead_bytes": "overhead",
    "free_bytes": "free after packing",
}
COLUMNS = ("strategy", "workload", "seed", "installed_bytes", "fits", *QUANTITIES)
# Boot-time carve-outs: they follow the workload's dmem=, so they never name a variant.
CARVE_OUTS = ("strategy.dmem", "strategy.boot_pool")


def data(summary: Summary, manifest: pl.DataFrame) -> pl.DataFrame:
    """Mean and 95 % interval over seeds of each quantity, per variant, at the workload's defaults.

    Reads runs with guests at their workload's default settings (VM mix, dmem=, ...);
    runs whose boot-time carve-out (:func:`~pagelab.figures.common.carve_out`) differs
    from the workload's ``dmem`` belong to the carve-out sweep (figure 5) and are left
    out. Quantities: memory sold (guest_bytes), guests, the overhead parts and their
    total, and the memory left free after packing (free_bytes, every pool). Long format,
    one row per variant and quantity: strategy, variant, quantity, mean, lo, hi (null for
    one seed), seeds, fits (false if any seed's host needs did not fit).

    ``manifest``: the sweep manifest, whose defaults rows say which runs are at the defaults.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = at_defaults(frame.filter(pl.col("guests").is_not_null()), manifest, prefixes=("workload.",))
    if "workload.dmem" in rows.columns:
        spec = carve_out(rows)
        rows = rows.filter(spec.is_null() | (spec == pl.col("workload.dmem").cast(pl.String)))
    rows = require_rows(rows, NAME, "runs with guests at the workload's default settings (workload=hosting)")
    rows = with_variants(rows, exclude=CARVE_OUTS)
    keys = ["strategy", "variant", "variant_rank"]
    long = rows.select(
        *keys, "seed", *(pl.col(c).cast(pl.Float64) for c in QUANTITIES)
    ).unpivot(on=list(QUANTITIES), index=[*keys, "seed"], variable_name="key")
    fits = rows.group_by(keys).agg(fits=pl.col("fits").all())
    return (
        over_seeds(long, ["value"], by=[*keys, "key"])
        .join(fits, on=keys, how="left")
        .with_columns(
            quantity=pl.col("key").replace_strict(QUANTITIES),
            quantity_rank=pl.col("key").replace_strict({k: i for i, k in enumerate(QUANTITIES)}, return_dtype=pl.Int64),
        )
        .sort("variant_rank", "quantity_rank")
        .select("strategy", "variant", "quantity", mean="value_mean", lo="value_lo", hi="value_hi", seeds="seeds",
                fits="fits")
    )


def render(frame: pl.DataFrame) -> Figure:
    """Four panels sharing the variant axis: memory sold and guests (dots), overhead and free (bars).

    Error bars are the 95 % interval over seeds (of the total, on the overhead stack).
    Variants whose host needs do not fit have hollow dots and a dagger.
    """
    variants = frame["variant"].unique(maintain_order=True).to_list()
    fig = new_figure(DOUBLE_WIDTH, 1.3 + 0.2 * len(variants))
    axes = fig.subplots(1, 4, sharey=True, width_ratios=[1.3, 1, 1.5, 1])
    colours = strategy_colors(frame["strategy"].unique().to_list())
    strategy_of = dict(frame.select("variant", "strategy").unique(maintain_order=True).iter_rows())
    fits_of = dict(frame.select("variant", "fits").unique(maintain_order=True).iter_rows())
    y = np.arange(len(variants))

    def column(quantity: str, field: str = "mean", scale: float = 1) -> np.ndarray:
        part = frame.filter(pl.col("quantity") == quantity)
        lookup = dict(zip(part["variant"], part[field], strict=True))
        return np.array([lookup[v] if lookup[v] is not None else np.nan for v in variants], dtype=float) / scale

    def error(quantity: str, scale: float) -> np.ndarray:
        mean = column(quantity, scale=scale)
        err = np.vstack([mean - column(quantity, "lo", scale), column(quantity, "hi", scale) - mean])
        return np.nan_to_num(err)  # one seed: no interval

    # Variants of one strategy share its colour, darker per variant.
    rank: dict[str, int] = {}
    bar_colours = []
    for v in variants:
        s = strategy_of[v]
        bar_colours.append(shade(colours[s], rank.get(s, 0)))
        rank[s] = rank.get(s, 0) + 1
    fitting = np.array([fits_of[v] for v in variants])
    # Dots, not bars: the axes are zoomed on the differences, and a bar's length would lie.
    for ax, quantity, scale, label in (
        (axes[0], "memory sold", GiB, "memory sold (GiB)"),
        (axes[1], "guests", 1, "guests per host"),
    ):
        mean = column(quantity, scale=scale)
        ax.errorbar(mean, y, xerr=error(quantity, scale), fmt="none", ecolor="black", elinewidth=0.7, capsize=1.8,
                    zorder=2)
        ax.scatter(mean, y, s=22, marker="o", c=bar_colours, edgecolors=bar_colours, zorder=3)
        ax.scatter(mean[~fitting], y[~fitting], s=22, marker="o", facecolors="white",
                   edgecolors=np.array(bar_colours)[~fitting], zorder=4)
        ax.set_xlabel(label)
        ax.margins(x=0.08)
    left = np.zeros(len(variants))
    for name, colour in zip(PARTS.values(), sequential(len(PARTS)), strict=True):
        width = column(name, scale=GiB)
        axes[2].barh(y, width, left=left, color=colour, height=0.7, label=name)
        left += width
    axes[2].errorbar(column("overhead", scale=GiB), y, xerr=error("overhead", GiB), fmt="none", ecolor="black",
                     elinewidth=0.7, capsize=1.8)
    axes[2].set_xlabel("overhead (GiB)\n(error bar: total)")
    free = column("free after packing", scale=GiB)
    axes[3].barh(y, free, color="0.82", hatch="....", edgecolor="0.45", linewidth=0, height=0.7)
    axes[3].errorbar(free, y, xerr=error("free after packing", GiB), fmt="none", ecolor="black", elinewidth=0.7,
                     capsize=1.8)
    axes[3].set_xlabel("free after\npacking (GiB)")
    for ax in axes:
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(y, [v if fits_of[v] else f"{v} †" for v in variants])
    axes[0].invert_yaxis()
    handles, labels = axes[2].get_legend_handles_labels()
    handles.append(Patch(facecolor="0.82", hatch="....", edgecolor="0.45", linewidth=0))
    labels.append("free after packing (not overhead)")
    if not all(fits_of.values()):
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.3"))
        labels.append(f"† hollow: {NOT_FITTING}")
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 4))
    fig.suptitle(f"every strategy at the workload's defaults; {seeds_note(frame['seeds'])} (error bars)", fontsize=7)
    return fig
