"""Figure: memdescs reward large folios: page metadata per 4 KiB of cached file (model).

With memdescs every folio has a separately allocated descriptor, so a cached file's
metadata is its struct pages (8 bytes each, 32 in the interim step) plus one descriptor per
readahead folio: below base4k's 64 bytes per page only where folios are large. The numbers
come from the installed ``memdesc`` strategy itself, run on one request per file size at
each ``read()`` size, in the command layer (:func:`pagelab.commands.figure_models.memdesc_model`),
which hands them in as the ``model`` table; results rows are not needed.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from pagelab.figures.common import Summary, number, require_columns, size_label
from pagelab.figures.style import (
    DOUBLE_WIDTH,
    bytes_axis,
    new_figure,
    shade,
    strategy_colors,
)

NAME = "memdesc"
TITLE = "memdescs: page metadata per 4 KiB of cached file against file size, per read() size (model)"
COLUMNS: tuple[str, ...] = ()  # a model figure: the command layer runs the memdesc strategy
# read() sizes: 4K and 64K; 1M reads draw the same folios as 64K at the default read_ahead_kb
# (128: both start with the 32-page window).
READ_SIZES = (4096, 65536)
VARIANTS = ("final", "interim")
STRUCT_PAGE_LABEL = {"final": "8-byte", "interim": "32-byte"}
_STYLES = {4096: ":", 65536: "-"}  # as the folios figure draws read() sizes
# File sizes: 4 KiB to 1 GiB, four points per octave.
SIZES = np.unique(np.round(2.0 ** (np.arange(12 * 4, 30 * 4 + 1) / 4)).astype(np.int64))
# The model table's columns, a row per file size of SIZES: base4k's (variant and read_size
# null), then memdesc's per variant and read() size.
MODEL_COLUMNS = ("variant", "read_size", "size_bytes", "bytes_per_page")


def data(summary: Summary, model: pl.DataFrame) -> pl.DataFrame:
    """Metadata per 4 KiB page cached, per file size: base4k, and memdesc's variants per read() size.

    ``model`` has :data:`MODEL_COLUMNS`. Columns: series, variant (null for base4k),
    read_size (null for base4k), size_bytes, bytes_per_page. ``summary`` is not read.
    """
    require_columns(model, MODEL_COLUMNS, NAME)
    series = pl.when(pl.col("variant").is_null()).then(pl.lit("base4k (64-byte struct page)")).otherwise(
        pl.concat_str(pl.lit("memdesc "), pl.col("variant"), pl.lit(", read() "), size_label(pl.col("read_size"))))
    return model.select(series.alias("series"), *MODEL_COLUMNS)


def render(frame: pl.DataFrame) -> Figure:
    """Two panels (final, interim), log-x steps: base4k flat at 64 bytes, memdesc per read() size."""
    fig = new_figure(DOUBLE_WIDTH * 0.8, 2.6)
    axes = fig.subplots(1, 2, sharey=True)
    colours = strategy_colors(["base4k", "memdesc"])
    base = frame.filter(pl.col("variant").is_null())
    lo, hi = number(frame["size_bytes"].min()), number(frame["size_bytes"].max())
    for ax, variant in zip(axes, VARIANTS, strict=True):
        ax.plot(base["size_bytes"], base["bytes_per_page"], drawstyle="steps-post", linewidth=2.2,
                color=colours.get("base4k", "black"), label="base4k: 64-byte struct page")
        rows = frame.filter(pl.col("variant") == variant)
        for (read_size,), line in rows.group_by("read_size", maintain_order=True):
            ax.plot(line["size_bytes"], line["bytes_per_page"], drawstyle="steps-post", linewidth=1.2,
                    color=shade(colours.get("memdesc", "0.3"), 1), linestyle=_STYLES.get(read_size, "-"),
                    label="memdesc, read() " + line["series"][0].rsplit(" ", 1)[-1])
        bytes_axis(ax, "x", lo, hi)
        ax.set_xlabel("file size")
        ax.set_title(f"memdesc {variant}: {STRUCT_PAGE_LABEL[variant]} struct page + descriptors", fontsize=7)
    axes[0].set_ylabel("page metadata (bytes)\nper 4 KiB cached")
    axes[0].set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig
