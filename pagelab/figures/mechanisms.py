"""Figure: every mechanism against struct page's cost on one hosting mix (issue 13).

base4k, base4k with THP, HVO, device-DAX, DMEMFS, memdescs (final and interim) and larger
base pages, each at its shipped defaults on the hosting workload: page metadata, the memory
left free after packing and the memory sold, with the 95 % interval over seeds.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from pagelab.figures.common import (
    NOT_FITTING,
    Summary,
    carve_out,
    collect,
    require_columns,
    require_rows,
    seeds_note,
    size_bytes,
)
from pagelab.figures.defaults import at_defaults
from pagelab.figures.style import DOUBLE_WIDTH, new_figure, shade, strategy_colors
from pagelab.sweep.seeds import over_seeds
from pagelab.units import GiB

NAME = "mechanisms"
TITLE = ("Mechanisms against struct page's cost on one hosting mix: page metadata, memory left free "
         "after packing and memory sold, per mechanism at its defaults")
# (label, strategy, parameters that pick the mechanism's variant), in plot order. A size
# parameter matches by bytes (results may spell 2M or 2097152), anything else as text.
MECHANISMS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("base4k", "base4k", {}),
    ("base4k + THP (2M, all anon)", "thp", {"strategy.sizes": "2M", "strategy.vma": "extended"}),
    ("hvo (2M, runtime pool)", "hvo", {"strategy.pool": "runtime", "strategy.hugepagesz": "2M"}),
    ("devdax (2M)", "devdax", {"strategy.align": "2M"}),
    ("dmemfs (2M dpages)", "dmemfs", {"strategy.dpage_size": "2M"}),
    ("memdesc final (8 B)", "memdesc", {"strategy.variant": "final"}),
    ("memdesc interim (32 B)", "memdesc", {"strategy.variant": "interim"}),
    ("page16k", "page16k", {"strategy.page_size": "16K"}),
    ("page64k", "page64k", {"strategy.page_size": "64K"}),
)
QUANTITIES = {
    "metadata_bytes": "metadata",
    "free_bytes": "free after packing",
    "guest_bytes": "memory sold",
}
COLUMNS = ("strategy", "workload", "seed", "fits", "guests", *QUANTITIES)


def _matches(frame: pl.DataFrame, strategy: str, params: dict[str, str]) -> pl.Expr:
    condition = pl.col("strategy") == strategy
    for column, value in params.items():
        if column not in frame.columns:
            return pl.lit(False)
        text = pl.col(column).cast(pl.String)
        by_size = size_bytes(pl.col(column)) == size_bytes(pl.lit(value))
        condition = condition & ((text == value) | by_size.fill_null(False))
    return condition


def data(summary: Summary, manifest: pl.DataFrame) -> pl.DataFrame:
    """Mean and 95 % interval over seeds of metadata, free memory and memory sold, per mechanism.

    Reads runs with guests at their workload's default settings whose boot-time carve-out
    (dmemfs's and devdax's ``dmem``) is the workload's ``dmem=``, and keeps the mechanisms
    of :data:`MECHANISMS` that are present. Long format: mechanism, strategy, quantity,
    mean, lo, hi (null for one seed), seeds, fits (false if any seed's host needs did not fit).

    ``manifest``: the sweep manifest, whose defaults rows say which runs are at the defaults.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = at_defaults(frame.filter(pl.col("guests").is_not_null()), manifest, prefixes=("workload.",))
    if "workload.dmem" in rows.columns:
        spec = carve_out(rows)
        rows = rows.filter(spec.is_null() | (spec == pl.col("workload.dmem").cast(pl.String)))
    label = pl.lit(None, pl.String)
    rank = pl.lit(None, pl.Int64)
    for i, (name, strategy, params) in reversed(list(enumerate(MECHANISMS))):
        hit = _matches(rows, strategy, params)
        label = pl.when(hit).then(pl.lit(name)).otherwise(label)
        rank = pl.when(hit).then(pl.lit(i, pl.Int64)).otherwise(rank)
    rows = rows.with_columns(mechanism=label, mechanism_rank=rank).filter(pl.col("mechanism").is_not_null())
    rows = require_rows(rows, NAME, "runs with guests of base4k, thp, hvo, devdax, dmemfs, memdesc, page16k or "
                                    "page64k at the workload's defaults (experiment=hosting_density)")
    keys = ["mechanism", "mechanism_rank", "strategy"]
    long = rows.select(*keys, "seed", *(pl.col(c).cast(pl.Float64) for c in QUANTITIES)).unpivot(
        on=list(QUANTITIES), index=[*keys, "seed"], variable_name="key")
    fits = rows.group_by(keys).agg(fits=pl.col("fits").all())
    return (
        over_seeds(long, ["value"], by=[*keys, "key"])
        .join(fits, on=keys, how="left")
        .with_columns(
            quantity=pl.col("key").replace_strict(QUANTITIES),
            quantity_rank=pl.col("key").replace_strict({k: i for i, k in enumerate(QUANTITIES)},
                                                       return_dtype=pl.Int64),
        )
        .sort("mechanism_rank", "quantity_rank")
        .select("mechanism", "strategy", "quantity", mean="value_mean", lo="value_lo", hi="value_hi",
                seeds="seeds", fits="fits")
    )


def render(frame: pl.DataFrame) -> Figure:
    """Three panels sharing the mechanism axis: metadata and free memory (bars), memory sold (dots).

    Error bars are the 95 % interval over seeds; a mechanism whose host needs do not fit
    has a dagger and a hollow dot.
    """
    mechanisms = frame["mechanism"].unique(maintain_order=True).to_list()
    strategy_of = dict(frame.select("mechanism", "strategy").unique(maintain_order=True).iter_rows())
    fits_of = dict(frame.select("mechanism", "fits").unique(maintain_order=True).iter_rows())
    colours = strategy_colors(frame["strategy"].unique().to_list())
    # Mechanisms of one strategy (memdesc's two variants) share its colour, darker per variant.
    colour: list[str] = []
    seen: dict[str, int] = {}
    for m in mechanisms:
        s = strategy_of[m]
        colour.append(shade(colours[s], seen.get(s, 0)))
        seen[s] = seen.get(s, 0) + 1
    y = np.arange(len(mechanisms))

    def column(quantity: str, field: str = "mean") -> np.ndarray:
        part = frame.filter(pl.col("quantity") == quantity)
        lookup = dict(zip(part["mechanism"], part[field], strict=True))
        return np.array([np.nan if lookup.get(m) is None else lookup[m] for m in mechanisms], dtype=float) / GiB

    def error(quantity: str) -> np.ndarray:
        mean = column(quantity)
        return np.nan_to_num(np.vstack([mean - column(quantity, "lo"), column(quantity, "hi") - mean]))

    fig = new_figure(DOUBLE_WIDTH, 0.9 + 0.2 * len(mechanisms))
    axes = fig.subplots(1, 3, sharey=True, width_ratios=[1.2, 1, 1.3])
    for ax, quantity, label in ((axes[0], "metadata", "page metadata (GiB)\n(memmap, descriptors, tables)"),
                                (axes[1], "free after packing", "free after packing (GiB)\n(every pool; not overhead)")):
        ax.barh(y, column(quantity), color=colour, height=0.7)
        ax.errorbar(column(quantity), y, xerr=error(quantity), fmt="none", ecolor="black", elinewidth=0.7,
                    capsize=1.8)
        ax.set_xlabel(label)
        ax.set_xlim(left=0)
    sold = column("memory sold")
    fitting = np.array([bool(fits_of[m]) for m in mechanisms])
    axes[2].errorbar(sold, y, xerr=error("memory sold"), fmt="none", ecolor="black", elinewidth=0.7, capsize=1.8,
                     zorder=2)
    axes[2].scatter(sold[fitting], y[fitting], s=22, c=np.array(colour)[fitting], zorder=3)
    axes[2].scatter(sold[~fitting], y[~fitting], s=22, facecolors="white", edgecolors=np.array(colour)[~fitting],
                    zorder=3)
    # Dots on a zoomed axis: a bar's length from zero would hide differences of 1 %.
    axes[2].set_xlabel("memory sold (GiB)\n(guest_bytes)")
    axes[2].margins(x=0.1)
    for ax in axes:
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(y, [m if fits_of[m] else f"{m} †" for m in mechanisms])
    axes[0].invert_yaxis()
    note = seeds_note(frame["seeds"])
    if not all(fits_of.values()):
        note += f"; † hollow: {NOT_FITTING}"
    fig.suptitle(f"each mechanism at its defaults on the hosting workload; {note} (error bars)", fontsize=7)
    return fig
