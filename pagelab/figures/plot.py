"""Any results column against any other: the figure behind ``pagelab plot``.

:func:`data` aggregates the runs at each point (x, hue, col, row) over their seeds, the
mean and 95 % Student-t interval (:mod:`pagelab.sweep.seeds`); :func:`render` draws it in the
paper style with seaborn: lines with bands for a numeric or size x (log-2 for sizes),
bars with error bars for a categorical x, one panel per col/row value, and the legend
outside the panels so it never covers data.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from matplotlib.figure import Figure

from pagelab.errors import PagelabError
from pagelab.figures.common import number, size_bytes
from pagelab.figures.style import (
    COLUMN_WIDTH,
    bytes_axis,
    new_figure,
    sequential,
    strategy_colors,
)
from pagelab.sweep.seeds import SEED, config_columns, over_seeds

X_BYTES = "_x_bytes"  # a size-valued x (16G, ...) as bytes, for a numeric axis


@dataclass(frozen=True)
class Encoding:
    """The columns a plot maps (its encoding): x and y, and optionally hue, col and row."""

    x: str
    y: str
    hue: str | None = None
    col: str | None = None
    row: str | None = None

    @property
    def keys(self) -> list[str]:
        """The columns that identify a point, panels first."""
        return list(dict.fromkeys(c for c in (self.row, self.col, self.hue, self.x) if c))


def check_columns(frame: pl.DataFrame, axes: Encoding) -> None:
    """Every mapped column exists and y is numeric; otherwise one line naming the column."""
    for role in ("x", "y", "hue", "col", "row"):
        column = getattr(axes, role)
        if column is not None and column not in frame.columns:
            near = [c for c in frame.columns if column.split(".")[-1] in c][:6]
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise PagelabError(f"--{role} {column}: the results have no such column{hint}")
    if not (frame.schema[axes.y].is_numeric() or frame.schema[axes.y] == pl.Boolean):
        raise PagelabError(f"--y {axes.y}: not a number ({frame.schema[axes.y]}); choose a metric column")


def varying_besides(frame: pl.DataFrame, axes: Encoding) -> list[str]:
    """Configuration columns other than the mapped ones (and the seed) that take several values
    at one point (a strategy's own parameters differ between strategies, not within one)."""
    columns = [c for c in config_columns(frame) if c not in axes.keys]
    if not columns:
        return []
    within = frame.group_by(axes.keys).agg(pl.col(c).n_unique().max() for c in columns)
    counts = within.select(pl.col(c).max() for c in columns).row(0)
    return [c for c, n in zip(columns, counts) if n > 1]


def data(summary: pl.DataFrame, axes: Encoding) -> pl.DataFrame:
    """One row per point: the mapped columns, ``seeds``, ``mean``, ``lo``, ``hi`` (sorted).

    A size-valued x column (``workload.installed``) gets ``_x_bytes`` beside it.
    """
    check_columns(summary, axes)
    rows = summary.filter(pl.col(axes.y).is_not_null())
    if rows.height == 0:
        raise PagelabError(f"--y {axes.y}: null in every run of these results")
    rows = rows.with_columns(pl.col(axes.y).cast(pl.Float64))
    stats = over_seeds(rows, [axes.y], by=axes.keys).rename(
        {f"{axes.y}_mean": "mean", f"{axes.y}_lo": "lo", f"{axes.y}_hi": "hi"})
    if "fits" in rows.columns:  # a point fits when every run behind it does
        fits = rows.group_by(axes.keys).agg(pl.col("fits").all())
        stats = stats.join(fits, on=axes.keys, how="left", nulls_equal=True, maintain_order="left")
    if _sizes(stats, axes.x):
        stats = stats.with_columns(size_bytes(pl.col(axes.x)).alias(X_BYTES))
    # Size-valued columns (16G, 512G) in the order of their bytes, not of their text.
    order = [size_bytes(pl.col(c)) if _sizes(stats, c) else pl.col(c) for c in axes.keys]
    return stats.sort(order, nulls_last=True)


def _sizes(frame: pl.DataFrame, column: str) -> bool:
    return frame.schema[column] == pl.String and frame.select(size_bytes(pl.col(column)).is_not_null().all()).item()


_BYTE_UNITS = (("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("PiB", 1 << 50))


def byte_unit(largest: float) -> tuple[str, int]:
    """The binary unit a byte axis is drawn in: the largest that keeps ``largest`` at 1 or more."""
    return next(((n, u) for n, u in reversed(_BYTE_UNITS) if abs(largest) >= u), _BYTE_UNITS[0])


def _numeric_x(frame: pl.DataFrame, axes: Encoding) -> str | None:
    if X_BYTES in frame.columns:
        return X_BYTES
    return axes.x if frame.schema[axes.x].is_numeric() else None


def _colours(levels: list[str], hue: str | None) -> dict[str, str]:
    if hue == "strategy":
        every = strategy_colors(levels)
        return {level: every[level] for level in levels}
    return dict(zip(levels, sequential(len(levels))))


def _label(column: str) -> str:
    return column.removeprefix("workload.").removeprefix("strategy.")


def render(frame: pl.DataFrame, axes: Encoding, *, logy: bool = False) -> Figure:
    """Draw :func:`data`'s frame: a panel per (row, col), a colour per hue, intervals as bands/bars."""
    import seaborn as sns

    def levels(column: str | None) -> list:
        return [None] if column is None else frame[column].unique(maintain_order=True).to_list()

    numeric = _numeric_x(frame, axes)
    ylabel = _label(axes.y)
    if axes.y.endswith("_bytes"):  # drawn in one binary unit, named on the axis
        unit, scale = byte_unit(float(frame.select(pl.col("mean").abs().max()).item() or 0))
        frame = frame.with_columns(pl.col("mean", "lo", "hi") / scale)
        ylabel = f"{ylabel.removesuffix('_bytes')} ({unit})"
    if axes.hue is None and numeric is None and axes.x == "strategy":  # bars in each strategy's colour
        axes = Encoding(axes.x, axes.y, "strategy", axes.col, axes.row)
        legend = False
    else:
        legend = axes.hue is not None
    rows, cols, hues = levels(axes.row), levels(axes.col), levels(axes.hue)
    colours = _colours([str(h) for h in hues], axes.hue)
    fig = new_figure(width=min(COLUMN_WIDTH * max(len(cols), 1) + 1.2, 7.5), height=2.0 * len(rows) + 0.4)
    grid = fig.subplots(len(rows), len(cols), sharex=True, sharey=True, squeeze=False)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = grid[i][j]
            panel = frame
            for column, value in ((axes.row, r), (axes.col, c)):
                if column is not None:
                    panel = panel.filter(pl.col(column).eq_missing(value))
            panel = panel.with_columns(_hue=pl.lit("all") if axes.hue is None else pl.col(axes.hue).cast(pl.String))
            palette = colours if axes.hue is not None else {"all": sequential(1)[0]}
            if numeric is not None:
                sns.lineplot(data=panel.to_pandas(), x=numeric, y="mean", hue="_hue", hue_order=list(palette),
                             palette=palette, marker="o", markersize=3, errorbar=None, ax=ax, legend=False)
                for level, colour in palette.items():
                    part = panel.filter((pl.col("_hue") == level) & pl.col("lo").is_not_null())
                    if part.height:
                        ax.fill_between(part[numeric].to_numpy(), part["lo"].to_numpy(), part["hi"].to_numpy(),
                                        color=colour, alpha=0.2, linewidth=0)
                misfits = panel.filter(pl.col("fits").not_()) if "fits" in panel.columns else panel.clear()
                if misfits.height:  # hollow: some run behind the point does not fit the machine
                    ax.scatter(misfits[numeric].to_numpy(), misfits["mean"].to_numpy(), s=14, zorder=3,
                               facecolors="white", edgecolors=[palette[h] for h in misfits["_hue"]], linewidths=0.8)
                if numeric == X_BYTES or axes.x.endswith("_bytes"):
                    bytes_axis(ax, "x", number(frame[numeric].min()), number(frame[numeric].max()))
            else:
                shown = panel.with_columns(pl.col(axes.x).cast(pl.String))
                order = frame[axes.x].cast(pl.String).unique(maintain_order=True).to_list()
                sns.barplot(data=shown.to_pandas(), x=axes.x, y="mean", hue="_hue", hue_order=list(palette),
                            order=order, palette=palette, errorbar=None, ax=ax, legend=False)
                for level, bars in zip(palette, ax.containers):
                    part = shown.filter(pl.col("_hue") == level)
                    spots = {x: k for k, x in enumerate(part[axes.x].to_list())}
                    for patch, x in zip(bars, order):
                        if x in spots and "fits" in part.columns and part["fits"][spots[x]] is False:
                            patch.set_hatch("////")
                            patch.set_edgecolor("black")
                        if x in spots and part["lo"][spots[x]] is not None:
                            mid = patch.get_x() + patch.get_width() / 2
                            ax.errorbar(mid, part["mean"][spots[x]], color="black", linewidth=0.6, capsize=1.5,
                                        yerr=[[part["mean"][spots[x]] - part["lo"][spots[x]]],
                                              [part["hi"][spots[x]] - part["mean"][spots[x]]]])
                ax.tick_params(axis="x", labelrotation=30)
            if logy:
                ax.set_yscale("log")
            title = ", ".join(f"{_label(k)}={v}" for k, v in ((axes.row, r), (axes.col, c)) if k is not None)
            ax.set_title(title, fontsize="small")
            ax.set_xlabel(_label(axes.x) if i == len(rows) - 1 else "")
            ax.set_ylabel(ylabel if j == 0 else "")
    if legend:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colour, marker="o", markersize=3, label=level) for level, colour in colours.items()]
        fig.legend(handles=handles, title=_label(axes.hue or ""), loc="outside right upper", frameon=False)
    seeds = int(number(frame["seeds"].max() or 0))
    title = f"mean and 95 % interval over {seeds} seeds" if seeds > 1 else "one seed per point"
    if "fits" in frame.columns and not frame["fits"].all():
        title += "; hatched bars: do not fit" if numeric is None else "; hollow points: do not fit"
    fig.suptitle(title, fontsize="small")
    return fig


__all__ = ["Encoding", "SEED", "X_BYTES", "byte_unit", "check_columns", "data", "render", "varying_besides"]
