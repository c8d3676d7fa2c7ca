"""Figure 3: where a larger base page starts to win, against Hansen's "~300 GB"."""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure

from pagelab.figures.common import (
    Summary,
    collect,
    page_bytes,
    require_columns,
    require_rows,
    size_bytes,
    size_label,
)
from pagelab.figures.reference import HANSEN_CROSSOVER_BYTES
from pagelab.figures.style import (
    DOUBLE_WIDTH,
    bytes_axis,
    format_bytes_short,
    new_figure,
    strategy_colors,
)

NAME = "crossover"
TITLE = "Struct pages plus page-cache fragmentation against RAM at 4K/16K/64K: where the larger page wins"
COLUMNS = (
    "strategy", "installed_bytes", "requested_bytes", "memmap_bytes", "internal_frag_bytes",
    "workload.files.dataset", "workload.files.cache",
)
BASE_PAGE = 4096
_GROUP = ["dataset", "cache", "page_bytes"]


def data(summary: Summary) -> pl.DataFrame:
    """Overhead per dataset, cache, page size and RAM, plus the RAM where each page size wins.

    overhead_bytes = memmap + internal fragmentation (mean over seeds); machines smaller
    than their requests are left out. For each page size
    above 4K, crossover_bytes is the smallest RAM at which its overhead drops to 4K's,
    interpolated linearly between the two grid points around the sign change (exact, as
    both overheads are linear in RAM for a fixed cache). crossover_kind says ``crossing``,
    ``always`` (wins already at the smallest RAM), ``never`` (not within the grid) or
    ``baseline`` (the 4K rows themselves).
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    # A machine smaller than the memory it is asked to hold is not a point on the curve.
    rows = frame.filter(pl.col("workload.files.dataset").is_not_null(),
                        pl.col("requested_bytes") <= pl.col("installed_bytes"))
    rows = rows.with_columns(page_bytes=page_bytes(rows)).filter(pl.col("page_bytes").is_not_null())
    curves = (
        rows.group_by(dataset="workload.files.dataset", cache="workload.files.cache", strategy="strategy",
                      page_bytes="page_bytes", installed_bytes="installed_bytes")
        .agg(overhead_bytes=(pl.col("memmap_bytes") + pl.col("internal_frag_bytes")).cast(pl.Float64).mean(),
             runs=pl.len().cast(pl.Int64))
    )
    base = curves.filter(pl.col("page_bytes") == BASE_PAGE).select(
        "dataset", "cache", "installed_bytes", base_bytes="overhead_bytes"
    )
    larger = curves.filter(pl.col("page_bytes") > BASE_PAGE)
    require_rows(base, NAME, "runs at 4K pages (base4k) with a files dataset")
    require_rows(larger, NAME, "runs at a larger page size (page16k, page64k) with a files dataset")
    # d > 0 while the larger page costs more; the crossing is where d changes sign.
    diff = (
        larger.join(base, on=["dataset", "cache", "installed_bytes"], how="inner")
        .sort(*_GROUP, "installed_bytes")
        .with_columns(d=pl.col("overhead_bytes") - pl.col("base_bytes"))
        .with_columns(
            prev_d=pl.col("d").shift(1).over(_GROUP, order_by="installed_bytes"),
            prev_x=pl.col("installed_bytes").shift(1).over(_GROUP, order_by="installed_bytes"),
        )
    )
    x0, x1 = pl.col("prev_x").cast(pl.Float64), pl.col("installed_bytes").cast(pl.Float64)
    crossing = pl.when((pl.col("prev_d") > 0) & (pl.col("d") <= 0)).then(
        x0 + (x1 - x0) * pl.col("prev_d") / (pl.col("prev_d") - pl.col("d"))
    )
    found = diff.group_by(_GROUP).agg(
        crossing=crossing.min(),  # the first sign change: the RAM where it starts to win
        first_wins=pl.col("d").sort_by("installed_bytes").first() <= 0,
        first_x=pl.col("installed_bytes").min().cast(pl.Float64),
    )
    found = found.select(
        *_GROUP,
        crossover_bytes=pl.when(pl.col("first_wins")).then(pl.col("first_x")).otherwise(pl.col("crossing")),
        crossover_kind=pl.when(pl.col("first_wins")).then(pl.lit("always"))
        .when(pl.col("crossing").is_not_null()).then(pl.lit("crossing"))
        .otherwise(pl.lit("never")),
    )
    return (
        curves.join(found, on=_GROUP, how="left")
        .with_columns(
            page_size=size_label(pl.col("page_bytes")),
            crossover_kind=pl.when(pl.col("page_bytes") == BASE_PAGE).then(pl.lit("baseline"))
            .otherwise(pl.col("crossover_kind").fill_null("never")),
            cache_bytes=size_bytes(pl.col("cache")),
        )
        .sort("dataset", "cache_bytes", "cache", "page_bytes", "installed_bytes", nulls_last=True)
        .select("dataset", "cache", "strategy", "page_bytes", "page_size", "installed_bytes", "overhead_bytes",
                "crossover_bytes", "crossover_kind", "runs")
    )


def render(frame: pl.DataFrame) -> Figure:
    """A panel per (dataset, cache): log-log overhead lines, crossovers and Hansen's 300 GB."""
    panels = frame.select("dataset", "cache").unique(maintain_order=True).rows()
    cols = 2 if len(panels) == 4 else min(len(panels), 3)
    nrows = -(-len(panels) // cols)
    fig = new_figure(DOUBLE_WIDTH, 2.5 * nrows)
    axes = fig.subplots(nrows, cols, squeeze=False, sharex=True).ravel()
    colours = strategy_colors(frame["strategy"].unique().to_list())
    lo, hi = frame["installed_bytes"].min(), frame["installed_bytes"].max()
    for ax, (dataset, cache) in zip(axes, panels, strict=False):
        part = frame.filter(pl.col("dataset") == dataset, pl.col("cache") == cache)
        notes = []
        for (_page, strategy, size), line in part.group_by("page_bytes", "strategy", "page_size", maintain_order=True):
            colour = colours[strategy]
            ax.plot(line["installed_bytes"], line["overhead_bytes"], marker="o", color=colour,
                    label=f"{size} pages ({strategy})")
            kind, cross = line["crossover_kind"][0], line["crossover_bytes"][0]
            if kind in ("crossing", "always"):
                ax.axvline(cross, color=colour, linestyle=":", linewidth=1)
                at_most = "≤ " if kind == "always" else ""
                notes.append((colour, f"{size} wins from {at_most}{format_bytes_short(cross)}"))
            elif kind == "never":
                notes.append((colour, f"{size} never wins up to {format_bytes_short(hi)}"))
        ax.axvline(HANSEN_CROSSOVER_BYTES, color="black", linestyle="--", linewidth=0.9,
                   label='Hansen: 64K wins at "~300 GB"')
        for i, (colour, text) in enumerate(notes):
            ax.text(0.03, 0.97 - 0.09 * i, text, transform=ax.transAxes, color=colour, fontsize=6.5, va="top",
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        bytes_axis(ax, "x", min(lo, HANSEN_CROSSOVER_BYTES), hi)
        bytes_axis(ax, "y", part["overhead_bytes"].min(), part["overhead_bytes"].max())
        ax.set_title(f"{dataset}, cache={cache}")
        ax.set_xlabel("installed RAM")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for row in range(nrows):
        axes[row * cols].set_ylabel("memmap + page-cache fragmentation")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig
