"""Figure 1: page metadata against installed RAM, one line per strategy, log-log."""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure

from pagelab.errors import PagelabError
from pagelab.figures.common import (
    NOT_FITTING,
    Summary,
    collect,
    number,
    require_columns,
    with_variants,
)
from pagelab.figures.reference import ARTICLE_POINTS
from pagelab.figures.style import bytes_axis, new_figure, shade, strategy_colors

NAME = "metadata"
TITLE = "Page metadata (memmap + descriptors) against installed RAM, with the article's three points"
COLUMNS = ("strategy", "installed_bytes", "memmap_bytes", "descriptor_bytes", "fits")
_DASHES = ["", (4, 1.5), (1.5, 1.5), (5, 1.5, 1.5, 1.5)]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]


def data(summary: Summary) -> pl.DataFrame:
    """Metadata bytes per strategy variant and installed RAM (mean over duplicate runs).

    Metadata is what scales with RAM: the memmap plus other descriptors (dmemfs bitmaps);
    page tables depend on the workload and stay out. The metadata of a machine whose host
    needs do not fit is still what it boots with, so such points stay, with fits=false
    (false if any of the point's runs did not fit). Columns: strategy, variant,
    installed_bytes, metadata_bytes (Float64), metadata_pct (of installed), runs, fits.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    if frame.select(pl.col("installed_bytes").n_unique()).item() < 2:
        raise PagelabError(f"figure {NAME}: the results have no runs at two or more installed RAM sizes "
                           "(use --only to skip this figure)")
    frame = with_variants(frame)
    return (
        frame.group_by("strategy", "variant", "variant_rank", "installed_bytes")
        .agg(
            metadata_bytes=(pl.col("memmap_bytes") + pl.col("descriptor_bytes")).cast(pl.Float64).mean(),
            runs=pl.len().cast(pl.Int64),
            fits=pl.col("fits").all(),
        )
        .with_columns(metadata_pct=100 * pl.col("metadata_bytes") / pl.col("installed_bytes"))
        .sort("variant_rank", "installed_bytes")
        .select("strategy", "variant", "installed_bytes", "metadata_bytes", "metadata_pct", "runs", "fits")
    )


ARTICLE_LABEL = "LWN 2020 (article):\n" + "\n".join(p.label for p in ARTICLE_POINTS)


def render(frame: pl.DataFrame) -> Figure:
    """Log-log lines per variant; points that do not fit hollow; the article's points in black."""
    import seaborn as sns  # here, as in plot.py: it imports scipy and pandas (1.5 s), drawing needs it

    fig = new_figure(height=4.4)
    ax = fig.add_subplot()
    order = frame["variant"].unique(maintain_order=True).to_list()
    colours = strategy_colors(frame["strategy"].unique().to_list())
    strategy_of = dict(frame.select("variant", "strategy").unique(maintain_order=True).iter_rows())
    # Variants of one strategy share its colour and differ in dashes; markers tell apart
    # strategies whose lines coincide (folio draws base4k's memmap).
    rank_in_strategy: dict[str, int] = {}
    seen: dict[str, int] = {}
    for variant in order:
        rank_in_strategy[variant] = seen.get(strategy_of[variant], 0)
        seen[strategy_of[variant]] = rank_in_strategy[variant] + 1
    palette = {v: shade(colours[strategy_of[v]], rank_in_strategy[v]) for v in order}
    sns.lineplot(
        data=frame.to_pandas(),  # seaborn 0.13 reads pandas only
        x="installed_bytes",
        y="metadata_bytes",
        hue="variant",
        hue_order=order,
        style="variant",
        style_order=order,
        palette=palette,
        dashes={v: _DASHES[rank_in_strategy[v] % len(_DASHES)] for v in order},
        markers={v: _MARKERS[i % len(_MARKERS)] for i, v in enumerate(order)},
        # Earlier lines are wider, so a line drawn over an identical one (folio on base4k,
        # clustering on page64k) leaves the one below visible as a halo.
        size="variant",
        size_order=order,
        sizes={v: 3.0 - 2.0 * i / max(len(order) - 1, 1) for i, v in enumerate(order)},
        markersize=3.5,
        estimator=None,
        errorbar=None,
        ax=ax,
    )
    misfits = frame.filter(~pl.col("fits"))
    if misfits.height:  # the memmap is real, but this machine cannot hold its host's needs
        ax.scatter(misfits["installed_bytes"], misfits["metadata_bytes"], s=30, marker="o", facecolors="white",
                   edgecolors=[palette[v] for v in misfits["variant"]], linewidths=1.0, zorder=6)
        ax.scatter([], [], s=30, marker="o", facecolors="white", edgecolors="0.3", linewidths=1.0,
                   label=f"hollow: {NOT_FITTING}")  # one grey entry for every colour
    xs = [p.installed_bytes for p in ARTICLE_POINTS]
    ys = [p.memmap_bytes for p in ARTICLE_POINTS]
    # The points' numbers go in the legend: written beside the points, some strategy's line
    # (there are a dozen, below and above base4k's) runs under every label.
    ax.scatter(xs, ys, s=40, facecolors="none", edgecolors="black", linewidths=0.8, zorder=5,
               label=ARTICLE_LABEL)
    lo = min(number(frame["installed_bytes"].min()), *xs)
    hi = max(number(frame["installed_bytes"].max()), *xs)
    bytes_axis(ax, "x", lo, hi)
    positive = frame.filter(pl.col("metadata_bytes") > 0)["metadata_bytes"]
    bytes_axis(ax, "y", min(number(positive.min()) if positive.len() else 1, *ys),
               max(number(frame["metadata_bytes"].max()), *ys))
    # Coinciding lines show as one: name them (folio and a runtime hvo pool draw base4k's memmap).
    same = (
        frame.group_by("variant", maintain_order=True)
        .agg(key=pl.col("metadata_bytes").sort_by("installed_bytes").cast(pl.String).str.join(","),
             at=pl.col("installed_bytes").sort().cast(pl.String).str.join(","))
        .group_by("key", "at", maintain_order=True).agg("variant")
        .filter(pl.col("variant").list.len() > 1)
    )
    for i, variants in enumerate(same["variant"].to_list()):
        ax.text(0.98, 0.03 + 0.07 * i, "same line: " + " = ".join(variants), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=6.5)
    ax.set_xlabel("installed RAM")
    ax.set_ylabel("page metadata (memmap + descriptors)")
    # Below the axes: inside, the lines of every strategy pass under it somewhere.
    seaborn_legend = ax.get_legend()  # seaborn's, inside the axes
    if seaborn_legend is not None:
        seaborn_legend.remove()
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, handlelength=2.6)
    return fig
