"""Model predictions beside measurements, and tables of agreement.

A measurement dataset is a long table: one row per file (per read size or mount) and per
``source``: ``kernel`` for what was measured, and one row for each model that predicts
it (``base4k``, ``folio``). Model rows have exactly the kernel rows' columns, so a figure
or a comparison is a filter and a join, never a loop. Every comparison is exact (``==``
on Int64 columns); a tolerance, where the issue grants one, is applied afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import polars as pl

from pagelab.models.readahead import folio_census as model_census

PAGE_SIZE = 4096
FolioMode = Literal["readahead", "round_up", "order0"]


def order_columns(max_order: int) -> list[str]:
    """``o0`` .. ``o{max_order}``: folios of each order."""
    return [f"o{k}" for k in range(max_order + 1)]


def pages_expr(max_order: int, suffix: str = "") -> pl.Expr:
    """Pages covered by the folios of the ``o*`` columns."""
    return pl.sum_horizontal([pl.col(f"o{k}{suffix}") * (1 << k) for k in range(max_order + 1)])


def census_text(max_order: int, suffix: str = "") -> pl.Expr:
    """``"1:64 4:48"`` (pages per folio : folios), as kernel-measurements.md writes a census."""
    parts = [
        pl.when(pl.col(f"o{k}{suffix}") > 0).then(pl.format("{}:{}", pl.lit(str(1 << k)), pl.col(f"o{k}{suffix}")))
        for k in range(max_order + 1)
    ]
    return pl.concat_str(parts, separator=" ", ignore_nulls=True)


def order0_rows(sizes: pl.Series, max_order: int) -> pl.DataFrame:
    """base4k as a census: every 4 KiB page is its own (order-0) folio."""
    pages = ((sizes + PAGE_SIZE - 1) // PAGE_SIZE).cast(pl.Int64)
    zero = pl.Series(np.zeros(len(sizes), dtype=np.int64))
    columns = {"pages": pages, "folios": pages, "o0": pages}
    columns.update({f"o{k}": zero for k in range(1, max_order + 1)})
    return pl.DataFrame(columns)


def folio_rows(
    sizes: pl.Series,
    *,
    mode: FolioMode,
    read_size: int,
    read_ahead_kb: int | None,
    max_order: int,
    io_pages: int | None = None,
) -> pl.DataFrame:
    """The folio strategy's census for ``sizes``: readahead ramp, tmpfs round-up, or order-0."""
    if mode == "order0":
        return order0_rows(sizes, max_order)
    if mode == "round_up":
        read_ahead_kb = 128  # unused by round_up (tmpfs, which has no readahead)
    elif read_ahead_kb is None:
        raise ValueError("the readahead model needs the device's read_ahead_kb")
    census = model_census(
        sizes,
        read_size=read_size,
        read_ahead_kb=read_ahead_kb,
        max_order=max_order,
        eof="trim" if mode == "readahead" else "round_up",
        io_pages=io_pages,
    )
    return census.select("pages", "folios", *order_columns(max_order))


def with_predictions(
    kernel: pl.DataFrame,
    *,
    group: str,
    folio_mode: Callable[[Any], FolioMode],
    read_ahead_kb: int | None,
    max_order: int,
    io_pages: int | None = None,
) -> pl.DataFrame:
    """Append base4k and folio rows for every kernel row (same keys, ``source`` changed).

    ``group`` is the column that splits the sample into independent runs (``read_size``
    for the page cache, ``huge`` for tmpfs); ``folio_mode(value)`` says how the folio
    strategy models that run. ``resident_pages`` of a model is ceil(size / 4096): every
    model caches the whole file after a full read.
    """
    measured = {*_MEASURED, *order_columns(max_order)}
    keys = [c for c in kernel.columns if c not in measured]
    parts = [kernel]
    for (value,), rows in kernel.group_by(group, maintain_order=True):
        sizes = rows["size"]
        resident = ((sizes + PAGE_SIZE - 1) // PAGE_SIZE).alias("resident_pages")
        read_size = int(value) if group == "read_size" else PAGE_SIZE
        predicted = {
            "base4k": order0_rows(sizes, max_order),
            "folio": folio_rows(
                sizes,
                mode=folio_mode(value),
                read_size=read_size,
                read_ahead_kb=read_ahead_kb,
                max_order=max_order,
                io_pages=io_pages,
            ),
        }
        for source, census in predicted.items():
            part = pl.concat([rows.select(keys).with_columns(source=pl.lit(source)), census], how="horizontal")
            parts.append(part.with_columns(resident).with_columns(bytes=pl.col("pages") * PAGE_SIZE))
    return pl.concat([p.select(kernel.columns) for p in parts], how="vertical")


_MEASURED = ("source", "resident_pages", "pages", "bytes", "folios")


def large_folios_seen(frame: pl.DataFrame, max_order: int) -> bool:
    """Did the kernel's census show any folio above order 0?"""
    kernel = frame.filter(pl.col("source") == "kernel")
    return bool(kernel.select(pl.sum_horizontal(order_columns(max_order)[1:]).sum()).item() or 0)


def agreement(
    frame: pl.DataFrame, *, group: str, max_order: int, comparisons: list[tuple[str, str, str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Exact agreement of kernel rows with model rows.

    ``comparisons`` are (label, model source, what): ``what`` is ``resident`` (resident
    pages against the model's) or ``census`` (every order count and the pages).
    Returns the summary (group, comparison, model, files, exact, differ) and the
    differences (group, comparison, file, size, kernel, model), both sorted.
    """
    kernel = frame.filter(pl.col("source") == "kernel", pl.col("file").is_not_null())
    summaries, differences = [], []
    for label, model, what in comparisons:
        joined = kernel.join(frame.filter(pl.col("source") == model), on=[group, "file"], suffix="_model", how="inner")
        if what == "resident":
            exact = pl.col("resident_pages") == pl.col("resident_pages_model")
            shown, shown_model = pl.format("{} pages", "resident_pages"), pl.format("{} pages", "resident_pages_model")
            joined = joined.filter(pl.col("resident_pages").is_not_null())
        else:
            exact = pl.all_horizontal([pl.col(c) == pl.col(f"{c}_model") for c in ["pages", *order_columns(max_order)]])
            shown, shown_model = census_text(max_order), census_text(max_order, "_model")
            joined = joined.filter(pl.col("o0").is_not_null())
        joined = joined.with_columns(exact=exact, comparison=pl.lit(label), model=pl.lit(model))
        summaries.append(
            joined.group_by(group, "comparison", "model", maintain_order=True).agg(
                files=pl.len().cast(pl.Int64),
                exact=pl.col("exact").sum().cast(pl.Int64),
                differ=(~pl.col("exact")).sum().cast(pl.Int64),
            )
        )
        differences.append(
            joined.filter(~pl.col("exact")).select(group, "comparison", "file", "size", kernel=shown, model=shown_model)
        )
    # Keep the comparisons in the order asked for, groups ascending within each.
    summary = pl.concat(summaries).sort(group, maintain_order=True)
    diffs = pl.concat(differences).sort(group, "size", "file", maintain_order=True)
    return summary, diffs
