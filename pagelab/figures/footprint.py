"""Figure 2: page-cache footprint above the files' bytes, by page size, per files dataset."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from pagelab.figures.common import (
    NOT_FITTING,
    Summary,
    collect,
    number,
    page_bytes,
    preset_label,
    require_columns,
    require_rows,
    seeds_note,
    size_label,
)
from pagelab.figures.reference import HANSEN_DATASETS, HANSEN_OVER_DISK_PCT
from pagelab.figures.style import (
    COLUMN_WIDTH,
    DOUBLE_WIDTH,
    new_figure,
    strategy_colors,
)
from pagelab.sweep.seeds import over_seeds

NAME = "footprint"
TITLE = "Page-cache footprint above the files' bytes at 4K, 16K, 64K and 2M pages, with Hansen's kernel tree"
COLUMNS = ("strategy", "workload", "requested_bytes", "allocated_bytes", "workload.files.dataset", "fits")
WORKLOAD = "pagecache"  # every file of the dataset cached, nothing else on the machine


def data(summary: Summary, manifest: pl.DataFrame) -> pl.DataFrame:
    """Percent of page cache above the files' bytes, per dataset and base page size.

    Reads ``pagecache`` runs of base4k and of page-size strategies (``strategy.page_size``).
    Each run's ``100 * (allocated / requested - 1)`` is summarised over seeds (mean and 95 %
    interval, null for one seed). A run that does not fit its machine cached only part of
    the files: its point stays, with fits=false (false if any seed did not fit). Columns:
    dataset, strategy, label (the preset's name, page2m, where the run was one), page_bytes, page_size, requested_bytes, allocated_bytes (means),
    above_pct_mean, above_pct_lo, above_pct_hi, seeds, fits.

    ``manifest``: the sweep manifest (default base pages, preset names).
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = frame.filter(pl.col("workload") == WORKLOAD, pl.col("workload.files.dataset").is_not_null())
    rows = rows.with_columns(page_bytes=page_bytes(rows, manifest)).filter(pl.col("page_bytes").is_not_null())
    require_rows(rows, NAME, f"'{WORKLOAD}' runs of base4k or a page-size strategy")
    keys = ["dataset", "strategy", "label", "page_bytes"]
    rows = rows.with_columns(
        label=preset_label(rows, manifest),  # page2m, not page16k at 2M: its own colour and legend entry
        dataset="workload.files.dataset",
        above_pct=100 * (pl.col("allocated_bytes") / pl.col("requested_bytes") - 1),
    )
    stats = over_seeds(rows, ["above_pct"], by=keys)
    totals = rows.group_by(keys).agg(
        requested_bytes=pl.col("requested_bytes").cast(pl.Float64).mean(),
        allocated_bytes=pl.col("allocated_bytes").cast(pl.Float64).mean(),
        fits=pl.col("fits").all(),
    )
    return (
        stats.join(totals, on=keys, how="left")
        .with_columns(page_size=size_label(pl.col("page_bytes")))
        .sort("dataset", "page_bytes", "strategy")
        .select(*keys, "page_size", "requested_bytes", "allocated_bytes", "above_pct_mean", "above_pct_lo",
                "above_pct_hi", "seeds", "fits")
    )


def render(frame: pl.DataFrame) -> Figure:
    """One panel per dataset: a bar per page size (log y), Hansen's marks at 16K and 64K.

    Bars that do not fit are hatched and their label carries a dagger; error bars show
    the 95 % interval over seeds when there are several.
    """
    datasets = frame["dataset"].unique(maintain_order=True).to_list()
    width = COLUMN_WIDTH if len(datasets) == 1 else min(DOUBLE_WIDTH, 2.4 * len(datasets))
    fig = new_figure(width, 2.9)
    axes = fig.subplots(1, len(datasets), sharey=True, squeeze=False)[0]
    colours = strategy_colors(frame["label"].unique().to_list())
    mean = frame["above_pct_mean"]
    floor = max(number(mean.filter(mean > 0).min() or 1.0), 1e-3) / 3
    for ax, dataset in zip(axes, datasets, strict=True):
        part = frame.filter(pl.col("dataset") == dataset)
        heights = part["above_pct_mean"].clip(lower_bound=floor).to_numpy()
        bars = ax.bar(part["page_size"].to_list(), heights, color=[colours[s] for s in part["label"]], width=0.7,
                      hatch=["////" if not f else "" for f in part["fits"]], edgecolor="white", linewidth=0)
        has_ci = part["above_pct_lo"].is_not_null().to_numpy()
        if has_ci.any():
            x = np.arange(part.height)[has_ci]
            lo = part["above_pct_lo"].to_numpy()[has_ci].clip(floor)
            hi = part["above_pct_hi"].to_numpy()[has_ci]
            ax.errorbar(x, heights[has_ci], yerr=[heights[has_ci] - lo, hi - heights[has_ci]], fmt="none",
                        ecolor="black", elinewidth=0.6, capsize=1.5)
        labels = [(f"+{v:.0f}" if v >= 100 else f"+{v:.1f}") + ("" if f else "†")
                  for v, f in part.select("above_pct_mean", "fits").iter_rows()]
        ax.bar_label(bars, labels=labels, fontsize=6, padding=1.5)
        positions = {p: i for i, p in enumerate(part["page_bytes"].to_list())}
        # Hansen measured a Linux kernel tree: his marks sit on that dataset's panel only, on
        # this figure's baseline (the files' bytes on disk).
        marks = [(positions[p], v) for p, v in HANSEN_OVER_DISK_PCT.items() if p in positions]
        if marks and dataset in HANSEN_DATASETS:
            ax.scatter([m[0] for m in marks], [m[1] for m in marks], marker="_", s=260, linewidths=1.6,
                       color="black", zorder=4, label="Hansen: his kernel tree, above its bytes")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:g} %")
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_title(str(dataset))
        ax.set_xlabel("base page size")
        ax.grid(axis="x", visible=False)
    axes[0].set_ylabel("page cache above the files' bytes")
    top = number(frame["above_pct_hi"].fill_null(frame["above_pct_mean"]).max())
    axes[0].set_ylim(floor, max(top, max(HANSEN_OVER_DISK_PCT.values())) * 6)
    handles, labels = [], []
    for ax in axes:  # Hansen's marks appear only in the kernel tree's panel
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    strategies = frame["label"].unique(maintain_order=True).to_list()  # every drawn one, presets included
    handles = [Patch(color=colours[s]) for s in strategies] + handles
    labels = strategies + labels
    if not frame["fits"].all():
        handles.append(Patch(facecolor="0.75", hatch="////", edgecolor="white", linewidth=0))
        labels.append(f"† {NOT_FITTING} (part cached)")
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 6))
    fig.suptitle(f"every file cached; {seeds_note(frame['seeds'])}", fontsize=7)
    return fig
