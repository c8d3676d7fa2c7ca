"""Figure 2: page-cache footprint above the files' bytes, by page size, per files dataset."""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from pagelab.figures.common import (
    Summary,
    collect,
    page_bytes,
    require_columns,
    require_rows,
    size_label,
)
from pagelab.figures.reference import HANSEN_OVER_4K_PCT
from pagelab.figures.style import (
    COLUMN_WIDTH,
    DOUBLE_WIDTH,
    new_figure,
    strategy_colors,
)

NAME = "footprint"
TITLE = "Page-cache footprint above the files' bytes at 4K, 16K, 64K and 2M pages, with Hansen's kernel tree"
COLUMNS = ("strategy", "workload", "requested_bytes", "allocated_bytes", "workload.files.dataset")
WORKLOAD = "pagecache"  # every file of the dataset cached, nothing else on the machine


def data(summary: Summary) -> pl.DataFrame:
    """Percent of page cache above the files' bytes, per dataset and base page size.

    Reads ``pagecache`` runs of base4k and of page-size strategies (``strategy.page_size``);
    seeds are pooled (ratio of sums). Columns: dataset, strategy, page_bytes, page_size,
    requested_bytes, allocated_bytes, above_pct, runs.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = frame.filter(pl.col("workload") == WORKLOAD, pl.col("workload.files.dataset").is_not_null())
    rows = rows.with_columns(page_bytes=page_bytes(rows)).filter(pl.col("page_bytes").is_not_null())
    require_rows(rows, NAME, f"'{WORKLOAD}' runs of base4k or a page-size strategy")
    return (
        rows.group_by(dataset="workload.files.dataset", strategy="strategy", page_bytes="page_bytes")
        .agg(
            requested_bytes=pl.col("requested_bytes").sum(),
            allocated_bytes=pl.col("allocated_bytes").sum(),
            runs=pl.len().cast(pl.Int64),
        )
        .with_columns(
            page_size=size_label(pl.col("page_bytes")),
            above_pct=100 * (pl.col("allocated_bytes") / pl.col("requested_bytes") - 1),
        )
        .sort("dataset", "page_bytes", "strategy")
        .select("dataset", "strategy", "page_bytes", "page_size", "requested_bytes", "allocated_bytes",
                "above_pct", "runs")
    )


def render(frame: pl.DataFrame) -> Figure:
    """One panel per dataset: a bar per page size (log y), Hansen's marks at 16K and 64K."""
    datasets = frame["dataset"].unique(maintain_order=True).to_list()
    width = COLUMN_WIDTH if len(datasets) == 1 else min(DOUBLE_WIDTH, 2.4 * len(datasets))
    fig = new_figure(width, 2.7)
    axes = fig.subplots(1, len(datasets), sharey=True, squeeze=False)[0]
    colours = strategy_colors(frame["strategy"].unique().to_list())
    floor = max(frame["above_pct"].filter(frame["above_pct"] > 0).min() or 1.0, 1e-3) / 3
    for ax, dataset in zip(axes, datasets, strict=True):
        part = frame.filter(pl.col("dataset") == dataset)
        heights = part["above_pct"].clip(lower_bound=floor).to_list()
        bars = ax.bar(part["page_size"].to_list(), heights, color=[colours[s] for s in part["strategy"]], width=0.7)
        ax.bar_label(bars, labels=[f"+{v:.0f}" if v >= 100 else f"+{v:.1f}" for v in part["above_pct"]],
                     fontsize=6, padding=1.5)
        positions = {p: i for i, p in enumerate(part["page_bytes"].to_list())}
        marks = [(positions[p], v) for p, v in HANSEN_OVER_4K_PCT.items() if p in positions]
        if marks:
            ax.scatter([m[0] for m in marks], [m[1] for m in marks], marker="_", s=260, linewidths=1.6,
                       color="black", zorder=4, label="Hansen: kernel tree, over 4K")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:g} %")
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_title(str(dataset))
        ax.set_xlabel("base page size")
        ax.grid(axis="x", visible=False)
    axes[0].set_ylabel("page cache above the files' bytes")
    top = frame["above_pct"].max()
    axes[0].set_ylim(floor, max(top, max(HANSEN_OVER_4K_PCT.values())) * 6)
    handles, labels = axes[0].get_legend_handles_labels()
    strategies = frame["strategy"].unique(maintain_order=True).to_list()
    handles = [Patch(color=colours[s]) for s in strategies] + handles
    fig.legend(handles, strategies + labels, loc="outside lower center", ncols=len(handles))
    return fig

