"""Figure: memdescs reward large folios: page metadata per 4 KiB of cached file (model).

With memdescs every folio has a separately allocated descriptor, so a cached file's
metadata is its struct pages (8 bytes each, 32 in the interim step) plus one descriptor per
readahead folio: below base4k's 64 bytes per page only where folios are large. The numbers
come from the installed ``memdesc`` strategy itself, run on one request per file size at
each ``read()`` size; results rows are not needed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from pagelab.allocator import REQUEST_SCHEMA, Machine
from pagelab.errors import PagelabError
from pagelab.figures.common import Summary, size_label
from pagelab.figures.style import (
    DOUBLE_WIDTH,
    bytes_axis,
    new_figure,
    shade,
    strategy_colors,
)
from pagelab.strategies.registry import installed_strategies

NAME = "memdesc"
TITLE = "memdescs: page metadata per 4 KiB of cached file against file size, per read() size (model)"
COLUMNS: tuple[str, ...] = ()  # a model figure: it runs the memdesc strategy itself
# read() sizes: 4K and 64K; 1M reads draw the same folios as 64K at the default read_ahead_kb
# (128: both start with the 32-page window).
READ_SIZES = (4096, 65536)
VARIANTS = ("final", "interim")
STRUCT_PAGE_LABEL = {"final": "8-byte", "interim": "32-byte"}
_STYLES = {4096: ":", 65536: "-"}  # as the folios figure draws read() sizes
# File sizes: 4 KiB to 1 GiB, four points per octave.
_SIZES = np.unique(np.round(2.0 ** (np.arange(12 * 4, 30 * 4 + 1) / 4)).astype(np.int64))
_MACHINE = Machine.even(1 << 30, thp="never")  # one node; page cache is never THP-mapped


def _per_page(strategy: str, sizes: pl.Series, **params: object) -> pl.Series:
    """Metadata bytes per 4 KiB page of each file: struct pages plus the strategy's descriptors."""
    registered = installed_strategies().get(strategy)
    if registered is None:
        raise PagelabError(f"figure {NAME}: strategy {strategy!r} is not installed")
    spec = registered.spec
    allocate = spec.factory(dataclasses.replace(spec.params(), **params))
    files = pl.DataFrame({"kind": "file", "bytes": sizes, "count": 1, "node": 0}, schema=REQUEST_SCHEMA)
    allocation = allocate(_MACHINE, files)
    struct_page = sum(allocation.memmap_bytes) // allocation.struct_pages  # bytes per 4 KiB page
    table = allocation.requests
    descriptors = table["descriptor_bytes"] if "descriptor_bytes" in table.columns else pl.Series([0] * table.height)
    pages = -(-sizes // 4096)
    return ((pages * struct_page + descriptors) / pages).cast(pl.Float64)


def data(summary: Summary) -> pl.DataFrame:
    """Metadata per 4 KiB page cached, per file size: base4k, and memdesc's variants per read() size.

    Columns: series, variant (null for base4k), read_size (null for base4k), size_bytes,
    bytes_per_page. ``summary`` is not read.
    """
    sizes = pl.Series("size_bytes", _SIZES)
    parts = [pl.DataFrame({"size_bytes": sizes, "bytes_per_page": _per_page("base4k", sizes)}).with_columns(
        series=pl.lit("base4k (64-byte struct page)"), variant=pl.lit(None, pl.String),
        read_size=pl.lit(None, pl.Int64))]
    for variant in VARIANTS:
        for read_size in READ_SIZES:
            per_page = _per_page("memdesc", sizes, variant=variant, read_size=str(read_size))
            parts.append(pl.DataFrame({"size_bytes": sizes, "bytes_per_page": per_page}).with_columns(
                variant=pl.lit(variant), read_size=pl.lit(read_size, pl.Int64),
                series=pl.concat_str(pl.lit(f"memdesc {variant}, read() "), size_label(pl.lit(read_size, pl.Int64))),
            ))
    columns = ["series", "variant", "read_size", "size_bytes", "bytes_per_page"]
    return pl.concat([p.select(columns) for p in parts])


def render(frame: pl.DataFrame) -> Figure:
    """Two panels (final, interim), log-x steps: base4k flat at 64 bytes, memdesc per read() size."""
    fig = new_figure(DOUBLE_WIDTH * 0.8, 2.6)
    axes = fig.subplots(1, 2, sharey=True)
    colours = strategy_colors()
    base = frame.filter(pl.col("variant").is_null())
    lo, hi = float(frame["size_bytes"].min()), float(frame["size_bytes"].max())
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
