"""Figure 6: objects the kernel tracks per cached file: 4 KiB pages against folios (model).

The model's census comes in as a table (``model``: one row per read() size and file size,
:func:`pagelab.commands.figure_models.folio_model` computes it in the command layer). The
seam for measured data: pass a census from ``pagelab measure`` (columns ``size`` and
``folios``, optional ``pages``, ``read_size``, ``read_ahead_kb``) as ``measured`` and it is
drawn as points beside the model, which then runs with the measurement's parameters.
Results rows only tune the model (folio runs' read_ahead_kb and max_order), so whether a
run fit its machine does not enter this figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from pagelab.errors import PagelabError
from pagelab.figures.common import Summary, number, require_columns, size_label
from pagelab.figures.style import bytes_axis, new_figure, strategy_colors

NAME = "folios"
TITLE = "Folio census: objects tracked (folios vs 4 KiB pages) against file size, model and measured"
COLUMNS: tuple[str, ...] = ()  # the model needs no results; folio runs only tune its parameters
READ_SIZES = (4096, 65536, 1 << 20)  # the read() sizes of the ext4 measurements
MEASURED_COLUMNS = ("size", "folios")
# The model table's columns: read_size null is tmpfs (huge=always), which reads no window.
MODEL_COLUMNS = ("read_size", "size_bytes", "folios")
# File sizes: 1 KiB to 1 GiB, four points per octave, plus exact powers of two.
SIZES = np.unique(np.round(2.0 ** (np.arange(10 * 4, 30 * 4 + 1) / 4)).astype(np.int64))
_STYLES = {4096: ":", 65536: "-", 1 << 20: "--"}


def check_measured(measured: pl.DataFrame, source: str = "measured census") -> pl.DataFrame:
    """Validate a measured census and return size, folios (Int64) and read_size (Int64 or null).

    Accepts ``pagelab measure pagecache`` output as is: only its kernel rows
    (``source == "kernel"``) of the page-cache measure count, and files without a census
    (null folios: measured without root) are skipped. Raises :class:`PagelabError` naming
    the missing column or the first bad row.
    """
    missing = [c for c in MEASURED_COLUMNS if c not in measured.columns]
    if missing:
        raise PagelabError(f"{source}: missing column(s) {', '.join(missing)} (found {', '.join(measured.columns)})")
    if "source" in measured.columns:  # the model rows beside the kernel's are ours to draw
        measured = measured.filter(pl.col("source") == "kernel")
    if "measure" in measured.columns:
        measured = measured.filter(pl.col("measure") == "pagecache")
    out = measured.select(
        size=pl.col("size").cast(pl.Int64, strict=False),
        folios=pl.col("folios").cast(pl.Int64, strict=False),
        read_size=(pl.col("read_size").cast(pl.Int64, strict=False) if "read_size" in measured.columns
                   else pl.lit(None, pl.Int64)),
        census=pl.col("folios").is_not_null(),
    )
    bad = out.with_row_index("row").filter(
        (pl.col("census") & pl.col("folios").is_null()) | pl.col("size").is_null() | (pl.col("size") < 0)
    )
    if bad.height:
        raise PagelabError(f"{source}: row {bad['row'][0] + 1}: size and folios must be whole numbers >= 0")
    out = out.filter(pl.col("census")).drop("census")
    if out.height == 0:
        raise PagelabError(f"{source}: no file has a folio census (pagelab measure needs root for it)")
    return out


def data(summary: Summary, model: pl.DataFrame, measured: pl.DataFrame | None = None) -> pl.DataFrame:
    """Objects per file size: 4 KiB pages, model folios per read() size, tmpfs, measured.

    ``model`` has :data:`MODEL_COLUMNS` (the census of :data:`SIZES` per read() size, with
    the folio runs' and the measurement's parameters); ``summary`` is not read here.
    Columns: source (model | measured), series, read_size (null where it does not apply),
    size_bytes, objects.
    """
    require_columns(model, MODEL_COLUMNS, NAME)
    checked = check_measured(measured) if measured is not None else None
    pages = pl.DataFrame({"size_bytes": pl.Series("size_bytes", SIZES)}).with_columns(
        source=pl.lit("model"), series=pl.lit("4 KiB pages"), read_size=pl.lit(None, pl.Int64),
        objects=(pl.col("size_bytes") + 4095) // 4096,
    )
    folio_rows = model.select(
        source=pl.lit("model"),
        series=pl.when(pl.col("read_size").is_null()).then(pl.lit("folios, tmpfs huge=always"))
        .otherwise(pl.concat_str(pl.lit("folios, read() "), size_label(pl.col("read_size")))),
        read_size=pl.col("read_size").cast(pl.Int64), size_bytes="size_bytes", objects="folios",
    )
    parts = [pages, folio_rows]
    if checked is not None:
        parts.append(checked.select(
            source=pl.lit("measured"),
            series=pl.concat_str(pl.lit("measured, read() "), size_label(pl.col("read_size"))).fill_null("measured"),
            read_size="read_size", size_bytes="size", objects="folios",
        ))
    columns = ["source", "series", "read_size", "size_bytes", "objects"]
    return (
        pl.concat([p.select(columns) for p in parts])
        # Legend order: pages, model folios by read() size, tmpfs, measurements.
        .with_columns(order=pl.when(pl.col("source") == "measured").then(3)
                      .when(pl.col("series") == "4 KiB pages").then(0)
                      .when(pl.col("read_size").is_null()).then(2).otherwise(1))
        .sort("order", "read_size", "series", "size_bytes", nulls_last=True)
        .select(columns)
    )


def render(frame: pl.DataFrame) -> Figure:
    """Log-log steps: 4 KiB pages in base4k's colour, folio lines in folio's, measured as points."""
    fig = new_figure(height=3.3)
    ax = fig.add_subplot()
    colours = strategy_colors(["base4k", "folio"])
    model = frame.filter(pl.col("source") == "model")
    for (series, read_size), line in model.group_by("series", "read_size", maintain_order=True):
        style: dict[str, Any]
        if series == "4 KiB pages":
            style = {"color": colours.get("base4k", "black"), "linestyle": "-", "linewidth": 2.2}
        elif read_size is None:
            style = {"color": "0.45", "linestyle": "-."}
        else:  # wider for smaller reads, so coinciding curves stay visible
            style = {"color": colours.get("folio", "black"), "linestyle": _STYLES.get(read_size, "-"),
                     "linewidth": {4096: 1.8, 65536: 1.3}.get(read_size, 0.9)}
        ax.plot(line["size_bytes"], line["objects"], label=series, **style)
    measured = frame.filter(pl.col("source") == "measured")
    markers = ["o", "s", "^", "D", "v"]
    for i, (series, points) in enumerate(measured.group_by("series", maintain_order=True)):
        ax.scatter(points["size_bytes"], points["objects"], marker=markers[i % len(markers)], s=14,
                   facecolors="none", edgecolors="black", linewidths=0.7, zorder=5, label=series[0])
    bytes_axis(ax, "x", number(frame["size_bytes"].min()), number(frame["size_bytes"].max()))
    ax.set_yscale("log")
    ax.set_xlabel("file size")
    ax.set_ylabel("objects tracked per file")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    # Lines are the readahead model (mm/readahead.c, Linux 6.18), not a measurement.
    fig.suptitle("model: readahead folios (mm/readahead.c)" + ("; points: measured" if measured.height else ""),
                 fontsize=7)
    return fig
