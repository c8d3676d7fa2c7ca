"""Fleet figures (issue 14): hosts needed per strategy and overcommit ratio; a month's timeline."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from pagelab.figures.common import (
    Summary,
    collect,
    require_columns,
    require_rows,
    seeds_note,
)
from pagelab.figures.style import (
    COLUMN_WIDTH,
    DOUBLE_WIDTH,
    new_figure,
    strategy_colors,
)
from pagelab.sweep.seeds import over_seeds

NAME = "fleet"
TITLE = "Fleet: hosts needed to serve a month of VMs with no rejection, per strategy and overcommit ratio"
RATIO = "workload.fleet.overcommit_ratio"
STREAM = "workload.fleet.dataset"
COLUMNS = ("strategy", "seed", "fleet_hosts_needed", "fleet_peak_violations", "fleet_guest_memory", RATIO, STREAM)


def data(summary: Summary) -> pl.DataFrame:
    """Hosts needed and peak violations (mean and 95 % interval over seeds) per stream, strategy
    and overcommit ratio, from fleet runs that searched (``fleet_hosts_needed`` not null).
    Columns: stream, strategy, guest_memory, overcommit_ratio, seeds, hosts_needed_mean/_lo/_hi,
    peak_violations_mean/_lo/_hi."""
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = require_rows(frame.filter(pl.col("fleet_hosts_needed").is_not_null()), NAME,
                        "fleet runs with hosts_needed (workload=fleet)")
    rows = rows.select(stream=pl.col(STREAM), strategy="strategy", guest_memory="fleet_guest_memory",
                       overcommit_ratio=pl.col(RATIO).cast(pl.Float64), seed="seed",
                       hosts_needed="fleet_hosts_needed", peak_violations="fleet_peak_violations")
    keys = ["stream", "strategy", "guest_memory", "overcommit_ratio"]
    return over_seeds(rows, ["hosts_needed", "peak_violations"], by=keys).sort(keys)


def render(frame: pl.DataFrame) -> Figure:
    """One panel per stream: hosts needed against the ratio, a line per strategy, 95 % bars."""
    streams = frame["stream"].unique(maintain_order=True).to_list()
    fig = new_figure(COLUMN_WIDTH if len(streams) == 1 else DOUBLE_WIDTH, 2.4)
    axes = np.atleast_1d(fig.subplots(1, len(streams), squeeze=False)[0])
    colours = strategy_colors(frame["strategy"].unique().to_list())
    for ax, stream in zip(axes, streams, strict=True):
        part = frame.filter(pl.col("stream") == stream)
        for strategy in part["strategy"].unique(maintain_order=True).to_list():
            line = part.filter(pl.col("strategy") == strategy).sort("overcommit_ratio")
            mean = line["hosts_needed_mean"].to_numpy()
            lo = line["hosts_needed_lo"].to_numpy().astype(float)
            hi = line["hosts_needed_hi"].to_numpy().astype(float)
            err = np.nan_to_num(np.vstack([mean - lo, hi - mean]))  # one seed: no interval
            memory = line["guest_memory"][0]
            ax.errorbar(line["overcommit_ratio"], mean, yerr=err, color=colours[strategy], marker="o", markersize=3,
                        capsize=2, linewidth=1, label=f"{strategy} ({memory})")
        ax.set_xlabel("overcommit ratio")
        ax.set_ylim(bottom=0)  # host counts: a cut axis would exaggerate the gaps
        ax.set_title(stream, fontsize=7)
    axes[0].set_ylabel("hosts needed")
    axes[0].legend(fontsize=6)
    fig.suptitle(f"smallest fleet with no rejection\n{seeds_note(frame['seeds'])} (error bars)", fontsize=7)
    return fig
