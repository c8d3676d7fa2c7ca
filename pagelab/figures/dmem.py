"""Figure 5: carve-out sizing: memory sold against the kernel's share that dmem= leaves, per VM mix."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullLocator

from pagelab.errors import PagelabError
from pagelab.figures.common import (
    CARVE_OUT_COLUMNS,
    NOT_FITTING,
    Summary,
    carve_out,
    collect,
    number,
    require_columns,
    seeds_note,
    size_bytes,
    with_variants,
)
from pagelab.figures.defaults import at_defaults
from pagelab.figures.style import (
    COLUMN_WIDTH,
    DOUBLE_WIDTH,
    finish_panels,
    new_figure,
    shade,
    strategy_colors,
)
from pagelab.sweep.seeds import config_columns, over_seeds
from pagelab.units import GiB, ceil_div

NAME = "dmem"
TITLE = "Carve-out sizing: memory sold per host against the kernel's share per node, optimum and cliff, per VM mix"
COLUMNS = ("strategy", "workload", "seed", "installed_bytes", "nodes", "guests", "guest_bytes", "fits")
BASELINE = "base4k"
MIX = "workload.guests.dataset"
_DASHES = ["-", "--", "-.", ":"]
# dmem=[!]size[KMG][:align]: fixed ranges (@addr) sit on one node and are left out.
_DMEM = r"^\s*(!?)(\d+[KMGTPEkmgtpe]?)(?::[^@]*)?\s*$"
_GROUP = ["mix", "variant"]


def data(summary: Summary, manifest: pl.DataFrame) -> pl.DataFrame:
    """Memory sold and guests (mean and 95 % interval over seeds) per VM mix, variant and kernel share.

    Runs at the workload's default settings but for dmem= and the VM mix (both free), of
    strategies with a boot-time carve-out (:func:`~pagelab.figures.common.carve_out`:
    dmemfs, hvo with ``pool=boot``). The kernel's share per node is ``size`` for
    ``dmem=!size`` and the node's memory minus ``size`` for ``dmem=size``. The optimum of a variant in a mix is
    the share with the largest mean memory sold (guest_bytes) among shares whose runs all
    fit, the smallest share on ties. The cliff is the next grid point below the optimum:
    from there on the kernel's share runs out. base4k rows give the reference line
    (kernel_share_bytes null; base4k ignores dmem=, so each seed counts once). Columns:
    mix, strategy, variant, kernel_share_bytes, guest_bytes_mean/_lo/_hi,
    guests_mean/_lo/_hi, seeds, fits (false if any seed did not fit), not_fitting_runs,
    is_optimum, is_cliff.

    ``manifest``: the sweep manifest, whose defaults rows say which runs are at the defaults.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    if not set(CARVE_OUT_COLUMNS) & set(frame.columns):
        raise PagelabError(f"figure {NAME}: the results lack column(s) {' or '.join(CARVE_OUT_COLUMNS[:2])}")
    with_guests = at_defaults(frame.filter(pl.col("guests").is_not_null()), manifest, prefixes=("workload.",),
                              free=("workload.dmem", MIX))
    with_guests = with_guests.with_columns(mix=pl.col(MIX) if MIX in frame.columns else pl.lit(None, pl.String))
    spec = carve_out(with_guests)
    match = spec.str.extract_groups(_DMEM)
    carved = (
        with_guests.filter(spec.is_not_null())
        .with_columns(bang=match.struct.field("1") == "!", size=size_bytes(match.struct.field("2")))
        .filter(pl.col("size").is_not_null())
        .with_columns(
            kernel_share_bytes=pl.when(pl.col("bang")).then(pl.col("size"))
            .otherwise(pl.col("installed_bytes") // pl.col("nodes") - pl.col("size"))
        )
        .drop("bang", "size")
    )
    if carved.select(pl.col("kernel_share_bytes").n_unique()).item() < 2:
        raise PagelabError(f"figure {NAME}: the results have no dmemfs or hvo runs with guests at two or more "
                           "dmem= values (use --only to skip this figure)")
    base = with_guests.filter(pl.col("strategy") == BASELINE)
    base = base.unique(subset=[*config_columns(base, free=("workload.dmem",)), "seed"], keep="first",
                       maintain_order=True).with_columns(kernel_share_bytes=pl.lit(None, pl.Int64))
    rows = with_variants(pl.concat([carved, base], how="diagonal_relaxed"), exclude=CARVE_OUT_COLUMNS)
    if "strategy.pool" in rows.columns:  # plain "hvo" would read as its default, the runtime pool
        boot = (pl.col("strategy") == "hvo") & (pl.col("strategy.pool") == "boot")
        rows = rows.with_columns(variant=pl.when(boot).then(pl.concat_str("variant", pl.lit(" pool=boot")))
                                 .otherwise("variant"))
    keys = [*_GROUP, "strategy", "variant_rank", "kernel_share_bytes"]
    points = over_seeds(rows, ["guest_bytes", "guests"], by=keys).join(
        rows.group_by(keys).agg(fits=pl.col("fits").all(), not_fitting_runs=(~pl.col("fits")).sum().cast(pl.Int64)),
        on=keys, how="left", nulls_equal=True,
    )
    curve = pl.col("kernel_share_bytes").is_not_null()
    eligible = curve & pl.col("fits")
    best = pl.col("guest_bytes_mean").filter(eligible).max().over(_GROUP)
    optimum_x = pl.col("kernel_share_bytes").filter(eligible & (pl.col("guest_bytes_mean") == best)).min().over(_GROUP)
    cliff_x = pl.col("kernel_share_bytes").filter(curve & (pl.col("kernel_share_bytes") < optimum_x)).max().over(_GROUP)
    return (
        points.with_columns(is_optimum=curve & (pl.col("kernel_share_bytes") == optimum_x),
                            is_cliff=curve & (pl.col("kernel_share_bytes") == cliff_x))
        .with_columns(pl.col("is_optimum", "is_cliff").fill_null(False))
        .sort("mix", "variant_rank", "kernel_share_bytes", nulls_last=True)
        .select("mix", "strategy", "variant", "kernel_share_bytes",
                *(f"{v}_{s}" for v in ("guest_bytes", "guests") for s in ("mean", "lo", "hi")),
                "seeds", "fits", "not_fitting_runs", "is_optimum", "is_cliff")
    )


def _interval(lo: float | None, hi: float | None) -> str:
    """`` [lo, hi]`` in GiB, or nothing for one seed."""
    return "" if lo is None or hi is None else f" [{lo / GiB:.1f}, {hi / GiB:.1f}]"


def render(frame: pl.DataFrame) -> Figure:
    """A panel per VM mix: memory sold against the kernel's share, a line and 95 % band per variant.

    base4k is a horizontal line with its band; stars mark each variant's optimum, listed
    with its interval in the panel; points that do not fit are hollow.
    """
    mixes = frame["mix"].unique(maintain_order=True).to_list()
    cols = min(len(mixes), 2)
    nrows = ceil_div(len(mixes), cols)
    fig = new_figure(COLUMN_WIDTH if cols == 1 else DOUBLE_WIDTH, 0.9 + 2.5 * nrows)
    axes = fig.subplots(nrows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    colours = strategy_colors(frame["strategy"].unique().to_list())
    curves = frame.filter(pl.col("kernel_share_bytes").is_not_null())
    order = curves.select("variant", "strategy").unique(maintain_order=True).rows()
    seen: dict[str, int] = {}
    colour_of = {}
    for variant, strategy in order:  # the strategy's colour, darker per variant
        colour_of[variant] = shade(colours[strategy], seen.get(strategy, 0))
        seen[strategy] = seen.get(strategy, 0) + 1
    style: dict[str, dict[str, Any]] = {v: {"linestyle": _DASHES[i % len(_DASHES)], "linewidth": max(2.2 - 0.5 * i, 0.8)}
             for i, (v, _s) in enumerate(order)}  # wider first: a variant on top of an identical one leaves it visible
    shares = curves["kernel_share_bytes"].unique().sort().to_numpy() / GiB
    top = number(frame["guest_bytes_mean"].max()) / GiB
    log_x = shares.max() / shares.min() > 8  # a wide grid reads best on a log axis
    least, most = float(shares.min()), float(shares.max())
    xlim = (least / 1.1, most * 1.1) if log_x else (least - 0.6, most + 0.6)
    for ax, mix in zip(axes, mixes, strict=False):
        part = curves.filter(pl.col("mix").eq_missing(mix))
        optima = []
        for (variant,), line in part.group_by("variant", maintain_order=True):
            colour = colour_of[variant]
            x = line["kernel_share_bytes"].to_numpy() / GiB
            y = line["guest_bytes_mean"].to_numpy() / GiB
            ax.plot(x, y, color=colour, marker="o", markersize=2.5, **style[variant])
            if line["guest_bytes_lo"].is_not_null().any():
                ax.fill_between(x, line["guest_bytes_lo"].to_numpy() / GiB, line["guest_bytes_hi"].to_numpy() / GiB,
                                color=colour, alpha=0.12, linewidth=0)
            misfit = ~line["fits"].to_numpy()
            ax.scatter(x[misfit], y[misfit], s=18, facecolors="white", edgecolors=colour, linewidths=0.9, zorder=6)
            for share, mean, lo, hi in line.filter(pl.col("is_optimum")).select(
                    "kernel_share_bytes", "guest_bytes_mean", "guest_bytes_lo", "guest_bytes_hi").iter_rows():
                ax.scatter([share / GiB], [mean / GiB], marker="*", s=70, color=colour, edgecolors="black",
                           linewidths=0.5, zorder=7)
                text = f"{variant}: !{share / GiB:g}G, {mean / GiB:.1f} GiB{_interval(lo, hi)}"
                optima.append((shade(colour, 1), text))  # darker: light colours are hard to read as text
        for mean, lo, hi in frame.filter(pl.col("kernel_share_bytes").is_null(), pl.col("mix").eq_missing(mix)).select(
                "guest_bytes_mean", "guest_bytes_lo", "guest_bytes_hi").iter_rows():
            ax.axhline(mean / GiB, color=colours[BASELINE], linestyle=(0, (4, 2)), linewidth=1)
            text = f"{BASELINE} (reference): {mean / GiB:.1f} GiB{_interval(lo, hi)}"
            optima.append((shade(colours[BASELINE], 1), text))
            if lo is not None:
                ax.axhspan(lo / GiB, hi / GiB, color=colours[BASELINE], alpha=0.12, linewidth=0)
        cliffs = part.filter(pl.col("is_cliff"))
        if cliffs.height:
            edge = number(cliffs["kernel_share_bytes"].max()) / GiB
            ax.axvspan(xlim[0], edge, color="0.5", alpha=0.1, linewidth=0)
            axis = math.log if log_x else float
            at = (axis(edge) - axis(xlim[0])) / (axis(xlim[1]) - axis(xlim[0]))
            inside = at > 0.25  # a narrow band has no room for the label: it goes right of the edge
            ax.annotate("← kernel's share\nruns out", (edge, 1), xycoords=("data", "axes fraction"),
                        xytext=(-2 if inside else 2, -3), textcoords="offset points", ha="right" if inside else "left",
                        va="top", fontsize=6)
        # Optima listed low on the right, under the curves' plateau.
        for i, (colour, text) in enumerate(reversed(optima)):
            ax.text(0.98, 0.04 + 0.075 * i, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=6,
                    color=colour, bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                        "alpha": 0.85})
        ax.text(0.98, 0.04 + 0.075 * len(optima), "★ optimum (largest mean) [95 % CI]:", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=6)
        if mix is not None:
            ax.set_title(f"VM mix {mix}")
        ax.set_xlabel("kernel's share per node, GiB (dmem=!size)")
        ax.tick_params(axis="x", labelbottom=True)
    finish_panels(axes, len(mixes), cols, "memory sold (GiB)")
    ax = axes[0]
    if log_x:
        ax.set_xscale("log", base=2)
    else:
        ax.xaxis.set_major_locator(FixedLocator(shares.tolist()))
        ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.set_xlim(*xlim)
    ax.set_ylim(0, math.ceil(top * 1.12 / 10) * 10)  # by the means: a few seeds' wide bands may run off
    handles: list[Artist] = [Line2D([], [], color=colour_of[v], marker="o", markersize=2.5, **style[v], label=v) for v, _s in order]
    if frame["kernel_share_bytes"].is_null().any():
        handles.append(Line2D([], [], color=colours[BASELINE], linestyle=(0, (4, 2)), linewidth=1,
                              label=f"{BASELINE} (no carve-out)"))
    handles.append(Patch(color="0.5", alpha=0.25, linewidth=0, label="95 % CI band"))
    if not frame["fits"].all():
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.3",
                              label=f"hollow: {NOT_FITTING}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 2 if cols == 1 else 4))
    fig.suptitle(seeds_note(frame["seeds"]), fontsize=7)
    return fig
