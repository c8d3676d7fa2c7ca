"""Fleet timeline (issue 14): memory provisioned, used and left unsold, hour by hour, base4k against dmemfs."""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure

from pagelab.figures.common import Summary, collect, require_columns, require_rows
from pagelab.figures.style import DOUBLE_WIDTH, new_figure, sequential
from pagelab.units import GiB

NAME = "fleet_timeline"
TITLE = "Fleet timeline: guest memory provisioned, used and left free per hour, base4k against dmemfs"
STRATEGIES = ("base4k", "dmemfs")
RATIO = "workload.fleet.overcommit_ratio"
COLUMNS = ("strategy", "seed", "fleet_timeline", "fleet_hosts", RATIO)
QUANTITIES = {"provisioned_bytes": "provisioned", "used_bytes": "used (hourly peak)", "free_bytes": "free (unsold)"}


def data(summary: Summary) -> pl.DataFrame:
    """The hourly timeline of base4k and dmemfs without overcommit (ratio 1.0), lowest seed.

    Long format: strategy, seed, hosts, hour, quantity, bytes, hosts_in_use, violations.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = frame.filter(pl.col("strategy").is_in(STRATEGIES) & pl.col("fleet_timeline").is_not_null()
                        & (pl.col(RATIO).cast(pl.Float64) == 1.0))
    rows = require_rows(rows, NAME, "fleet runs of base4k or dmemfs at overcommit_ratio=1.0 (workload=fleet)")
    first = rows.group_by("strategy").agg(pl.col("seed").min())
    rows = rows.join(first, on=["strategy", "seed"], how="semi").unique(["strategy", "seed"], keep="first",
                                                                      maintain_order=True)
    hourly = rows.select("strategy", "seed", hosts="fleet_hosts", t=pl.col("fleet_timeline")).explode("t").unnest("t")
    return hourly.unpivot(on=list(QUANTITIES), index=["strategy", "seed", "hosts", "hour", "hosts_in_use",
                                                      "violations"], variable_name="quantity", value_name="bytes") \
        .with_columns(pl.col("quantity").replace_strict(QUANTITIES)).sort("strategy", "quantity", "hour")


def render(frame: pl.DataFrame) -> Figure:
    """One panel per strategy: provisioned, used and free memory (TiB) against the hour."""
    strategies = [s for s in STRATEGIES if s in frame["strategy"].unique().to_list()]
    fig = new_figure(DOUBLE_WIDTH, 2.2)
    axes = fig.subplots(1, len(strategies), sharey=True, squeeze=False)[0]
    colours = dict(zip(QUANTITIES.values(), sequential(len(QUANTITIES)), strict=True))
    for ax, strategy in zip(axes, strategies, strict=True):
        part = frame.filter(pl.col("strategy") == strategy)
        for quantity, colour in colours.items():
            line = part.filter(pl.col("quantity") == quantity)
            ax.plot(line["hour"], line["bytes"] / GiB / 1024, color=colour, linewidth=0.9, label=quantity)
        ax.set_title(f"{strategy}, {part['hosts'][0]} hosts, seed {part['seed'][0]}", fontsize=7)
        ax.set_xlabel("hour")
    axes[0].set_ylabel("memory (TiB)")
    axes[0].legend(fontsize=6)
    return fig
