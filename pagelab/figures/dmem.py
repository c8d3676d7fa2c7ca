"""Figure 5: DMEMFS carve-out sizing: guests against the kernel's share that dmem= leaves."""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure

from pagelab.errors import PagelabError
from pagelab.figures.common import (
    Summary,
    collect,
    require_columns,
    size_bytes,
    with_variants,
)
from pagelab.figures.defaults import at_defaults
from pagelab.figures.style import new_figure, shade, strategy_colors
from pagelab.units import GiB

NAME = "dmem"
TITLE = "DMEMFS carve-out sizing: guests per host against the kernel's share per node, optimum and cliff"
COLUMNS = ("strategy", "workload", "seed", "installed_bytes", "nodes", "guests", "shortfall_bytes", "strategy.dmem")
BASELINE = "base4k"
_DASHES = ["-", "--", "-.", ":"]
# dmem=[!]size[KMG][:align]: fixed ranges (@addr) sit on one node and are left out.
_DMEM = r"^\s*(!?)(\d+[KMGTPEkmgtpe]?)(?::[^@]*)?\s*$"


def data(summary: Summary) -> pl.DataFrame:
    """Guests (mean, min, max over seeds) per dpage variant and kernel share per node.

    Runs at the workload's default settings but for dmem=. The kernel's share per node
    is ``size`` for ``dmem=!size`` and the node's memory minus ``size`` for ``dmem=size``.
    The optimum of a variant is its largest mean guest count, at the smallest kernel share
    reaching it (the most carved out). The cliff is the next grid point below the optimum:
    from there on the kernel's share runs out and guests are turned away. Rows of ``base4k`` with guests give the reference line (kernel_share_bytes
    null). Columns: strategy, variant, kernel_share_bytes, guests, guests_min, guests_max,
    shortfall_runs, seeds, is_optimum, is_cliff.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    # The carve-out may be swept as workload.dmem (the preset) or strategy.dmem: both free.
    with_guests = at_defaults(frame.filter(pl.col("guests").is_not_null()), prefixes=("workload.",),
                              free=("workload.dmem",))
    match = pl.col("strategy.dmem").cast(pl.String).str.extract_groups(_DMEM)
    dmemfs = (
        with_guests.filter(pl.col("strategy") == "dmemfs")
        .with_columns(bang=match.struct.field("1") == "!", size=size_bytes(match.struct.field("2")))
        .filter(pl.col("size").is_not_null())
        .with_columns(
            kernel_share_bytes=pl.when(pl.col("bang")).then(pl.col("size"))
            .otherwise(pl.col("installed_bytes") // pl.col("nodes") - pl.col("size"))
        )
    )
    if dmemfs.select(pl.col("kernel_share_bytes").n_unique()).item() < 2:
        raise PagelabError(f"figure {NAME}: the results have no dmemfs runs with guests at two or more dmem= "
                           "values (use --only to skip this figure)")
    base = with_guests.filter(pl.col("strategy") == BASELINE).with_columns(
        kernel_share_bytes=pl.lit(None, pl.Int64)
    )
    rows = with_variants(pl.concat([dmemfs.drop("bang", "size"), base], how="diagonal_relaxed"),
                         exclude=("strategy.dmem",))
    points = rows.group_by("strategy", "variant", "variant_rank", "kernel_share_bytes").agg(
        guests=pl.col("guests").cast(pl.Float64).mean(),
        guests_min=pl.col("guests").min().cast(pl.Float64),
        guests_max=pl.col("guests").max().cast(pl.Float64),
        shortfall_runs=(pl.col("shortfall_bytes") > 0).sum().cast(pl.Int64),
        seeds=pl.col("seed").n_unique().cast(pl.Int64),
    )
    curve = pl.col("kernel_share_bytes").is_not_null()
    best = pl.col("guests").filter(curve).max().over("variant")
    optimum_x = pl.col("kernel_share_bytes").filter(curve & (pl.col("guests") == best)).min().over("variant")
    below = curve & (pl.col("kernel_share_bytes") < optimum_x)
    cliff_x = pl.col("kernel_share_bytes").filter(below).max().over("variant")
    return (
        points.with_columns(is_optimum=curve & (pl.col("kernel_share_bytes") == optimum_x),
                            is_cliff=curve & (pl.col("kernel_share_bytes") == cliff_x))
        .with_columns(pl.col("is_optimum", "is_cliff").fill_null(False))
        .sort("variant_rank", "kernel_share_bytes", nulls_last=True)
        .select("strategy", "variant", "kernel_share_bytes", "guests", "guests_min", "guests_max",
                "shortfall_runs", "seeds", "is_optimum", "is_cliff")
    )


def render(frame: pl.DataFrame) -> Figure:
    """Guests against the kernel's share per node, a line per dpage size; base4k dashed."""
    fig = new_figure(height=2.6)
    ax = fig.add_subplot()
    colours = strategy_colors(frame["strategy"].unique().to_list())
    curves = frame.filter(pl.col("kernel_share_bytes").is_not_null())
    seen: dict[str, int] = {}
    for i, ((variant, strategy), line) in enumerate(curves.group_by("variant", "strategy", maintain_order=True)):
        x = line["kernel_share_bytes"] / GiB
        colour = shade(colours[strategy], seen.get(strategy, 0))  # the strategy's colour, darker per variant
        seen[strategy] = seen.get(strategy, 0) + 1
        # Wider first: a variant drawn over an identical one leaves it visible.
        ax.plot(x, line["guests"], color=colour, linestyle=_DASHES[i % len(_DASHES)], marker="o", markersize=2.5,
                linewidth=max(2.4 - 0.6 * i, 0.8), label=variant)
        ax.fill_between(x, line["guests_min"], line["guests_max"], color=colour, alpha=0.08, linewidth=0)
        best = line.filter(pl.col("is_optimum"))
        ax.scatter(best["kernel_share_bytes"] / GiB, best["guests"], marker="*", s=70, color=colour,
                   edgecolors="black", linewidths=0.5, zorder=5)
        for share, guests in best.select("kernel_share_bytes", "guests").iter_rows():
            ax.annotate(f"optimum !{share / GiB:g}G: {guests:.1f} guests", (share / GiB, guests),
                        xytext=(8, 6 - 16 * i), textcoords="offset points", fontsize=6, color=colour,
                        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        for (share,) in line.filter(pl.col("is_cliff")).select("kernel_share_bytes").iter_rows():
            ax.axvline(share / GiB, color=colour, linestyle=":", linewidth=0.9)
    baselines = frame.filter(pl.col("kernel_share_bytes").is_null()).select("strategy", "guests")
    for strategy, guests in baselines.iter_rows():
        ax.axhline(guests, color=colours[strategy], linestyle=(0, (4, 2)), linewidth=1,
                   label=f"{strategy} (no carve-out)")
    cliffs = curves.filter(pl.col("is_cliff"))
    if cliffs.height:
        x = cliffs["kernel_share_bytes"].max() / GiB
        ax.axvspan(curves["kernel_share_bytes"].min() / GiB / 1.1, x, color="0.5", alpha=0.1, linewidth=0)
        ax.text(x * 1.02, 0.03, "← kernel's share runs out", transform=ax.get_xaxis_transform(), ha="left",
                va="bottom", fontsize=6)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.set_xlim(curves["kernel_share_bytes"].min() / GiB / 1.1, curves["kernel_share_bytes"].max() / GiB * 1.1)
    ax.set_ylim(0, frame["guests_max"].max() * 1.2)  # room for the optimum labels
    ax.set_xlabel("kernel's share per node, GiB (dmem=!size)")
    ax.set_ylabel("guests per host")
    ax.legend(loc="upper left")  # the region left of the optimum is empty up there
    return fig
