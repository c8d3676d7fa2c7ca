"""Polars helpers shared by the figure data functions: validation, sizes, variant labels.

What a figure knows about strategies beyond the results rows (default page sizes, preset
names) it reads from the sweep manifest (:mod:`pagelab.sweep.manifest`), a frame like the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import polars as pl

from pagelab.errors import PagelabError
from pagelab.units import SIZE_PATTERN, SIZE_SUFFIXES

Summary = pl.DataFrame | pl.LazyFrame
BASE_PAGE = 4096  # base4k's page: it has no page_size parameter


def number(value: object) -> float:
    """A polars scalar (a Series' min or max, one cell) of a numeric column, as a float.

    polars types such scalars as any Python literal; figures take them from numbers only.
    """
    return float(cast(float, value))


def collect(summary: Summary) -> pl.DataFrame:
    """An eager frame from a LazyFrame or DataFrame (figures read small summaries)."""
    return summary.collect() if isinstance(summary, pl.LazyFrame) else summary


def require_columns(frame: pl.DataFrame, columns: Iterable[str], figure: str) -> None:
    """Raise a one-line :class:`PagelabError` naming the figure and the missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PagelabError(f"figure {figure}: the results lack column(s) {', '.join(missing)}")


def require_rows(frame: pl.DataFrame, figure: str, what: str) -> pl.DataFrame:
    """Return ``frame``, or raise saying which rows the figure needed and did not find."""
    if frame.height == 0:
        raise PagelabError(f"figure {figure}: the results have no {what} (use --only to skip this figure)")
    return frame


def size_bytes(expr: pl.Expr) -> pl.Expr:
    """Parse sizes such as ``4K``, ``16G`` or ``4096`` into Int64 bytes (null if not a size).

    The grammar is :func:`pagelab.units.parse_size`'s; hexadecimal numbers give null here.
    """
    text = expr.cast(pl.String)
    number = text.str.extract(SIZE_PATTERN, 1).cast(pl.Int64, strict=False)
    suffix = text.str.extract(SIZE_PATTERN, 2).str.to_uppercase()
    return number * suffix.replace_strict(SIZE_SUFFIXES, default=None, return_dtype=pl.Int64)


def size_label(expr: pl.Expr) -> pl.Expr:
    """Int64 bytes as the kernel writes them: 4096 -> ``4K``, 2097152 -> ``2M``."""
    label = pl.concat_str(expr.cast(pl.String), pl.lit(""))
    for suffix, unit in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        label = pl.when((expr >= unit) & (expr % unit == 0)).then(
            pl.concat_str((expr // unit).cast(pl.String), pl.lit(suffix))
        ).otherwise(label)
    return label


def defaults_rows(manifest: pl.DataFrame) -> pl.DataFrame:
    """The manifest's defaults rows: one per (strategy, workload), its default parameters."""
    return manifest.filter(pl.col("preset").is_null())


def default_page_sizes(manifest: pl.DataFrame) -> dict[str, int]:
    """Each strategy's default base page (its ``strategy.page_size``), plus base4k's 4 KiB."""
    sizes = {"base4k": BASE_PAGE}
    if "strategy.page_size" in manifest.columns:
        known = (defaults_rows(manifest).filter(pl.col("strategy.page_size").is_not_null())
                 .unique("strategy", keep="first", maintain_order=True)
                 .select("strategy", size=size_bytes(pl.col("strategy.page_size"))))
        sizes |= dict(known.iter_rows())  # a few strategies, not rows
    return sizes


def page_bytes(frame: pl.DataFrame, manifest: pl.DataFrame) -> pl.Expr:
    """The base page a row ran with: ``strategy.page_size``, else its strategy's default.

    base4k is 4 KiB; strategies without a base page size give null (they stay out of
    page-size figures).
    """
    default = pl.col("strategy").replace_strict(default_page_sizes(manifest), default=None, return_dtype=pl.Int64)
    if "strategy.page_size" in frame.columns:
        return pl.coalesce(size_bytes(pl.col("strategy.page_size")), default)
    return default


def with_variants(frame: pl.DataFrame, exclude: Iterable[str] = ()) -> pl.DataFrame:
    """Add ``variant`` (a label) and ``variant_rank`` (plot order) to every row.

    A variant is a strategy plus the values of the ``strategy.*`` parameters that vary
    among that strategy's rows: ``dmemfs dpage_size=1G``. Parameters in ``exclude`` (the
    figure's own axis, say) never enter the label. Variants sort by strategy name (the
    registry's order), then by parameter value, sizes numerically (4K < 2M < 1G).
    """
    skip = set(exclude)
    params = sorted(c for c in frame.columns if c.startswith("strategy.") and c not in skip)
    varying = (
        frame.group_by("strategy").agg(pl.col(c).cast(pl.String).n_unique().alias(c) for c in params)
        if params
        else frame.select("strategy").unique()
    )
    text = {c: pl.col(c).cast(pl.String).fill_null("null") for c in params}
    pieces = [
        pl.when(pl.col(f"__varies.{c}") > 1).then(pl.concat_str(pl.lit(c.removeprefix("strategy.") + "="), text[c]))
        for c in params
    ]
    keyed = frame.join(
        varying.rename({c: f"__varies.{c}" for c in params}), on="strategy", how="left", maintain_order="left"
    ).with_columns(variant=pl.concat_str([pl.col("strategy"), *pieces], separator=" ", ignore_nulls=True))
    order_keys = [k for c in params for k in (size_bytes(pl.col(c)), pl.col(c).cast(pl.String))]
    ranks = (
        keyed.select("strategy", "variant", *params)
        .unique(subset=["variant"], keep="first", maintain_order=True)
        .sort([pl.col("strategy"), *order_keys, pl.col("variant")], nulls_last=True)
        .select("variant", variant_rank=pl.int_range(pl.len(), dtype=pl.Int64))
    )
    return keyed.drop(f"__varies.{c}" for c in params).join(ranks, on="variant", how="left", maintain_order="left")


# Rows whose host needs do not fit the machine (fits=false) are real results, but their
# allocated and requested numbers only cover what was placed: figures mark or skip them.
NOT_FITTING = "host needs do not fit the machine"


def seeds_note(seeds: pl.Series) -> str:
    """How many seeds each drawn point aggregates, for a figure's note.

    ``'mean and 95 % CI over 20 seeds'``; ``'over 3-20 seeds'`` when the counts differ;
    ``'1 seed (no interval)'`` when nothing was repeated.
    """
    lo, hi = int(number(seeds.min())), int(number(seeds.max()))
    if hi <= 1:
        return "1 seed (no interval)"
    count = f"{hi}" if lo == hi else f"{lo}-{hi}"
    return f"mean and 95 % CI over {count} seeds"


# dmem= syntax, [!]size[KMG][:align][@addr]: what sizes a boot-time carve-out.
_DMEM_SYNTAX = r"^\s*!?\d+\s*[KMGTPEkmgtpe]?(?::[^@]*)?(?:@.*)?\s*$"
# The parameters that may hold one (see carve_out).
CARVE_OUT_COLUMNS = ("strategy.dmem", "strategy.boot_pool", "strategy.pool")


def carve_out(frame: pl.DataFrame) -> pl.Expr:
    """Each row's boot-time carve-out in dmem= syntax, or null for a strategy without one.

    dmemfs's and devdax's ``strategy.dmem``; hvo's ``strategy.boot_pool`` when ``strategy.pool=boot``
    (results from before the runtime pool put the share in ``strategy.pool`` itself). Both
    default to the workload's dmem=.
    """
    strategy, columns = pl.col("strategy"), set(frame.columns)
    options = []
    if "strategy.dmem" in columns:
        # devdax takes its pool's share per node in the same syntax.
        options.append(pl.when(strategy.is_in(["dmemfs", "devdax"])).then(pl.col("strategy.dmem").cast(pl.String)))
    if "strategy.pool" in columns:
        pool = pl.col("strategy.pool").cast(pl.String)
        if "strategy.boot_pool" in columns:
            options.append(pl.when((strategy == "hvo") & (pool == "boot"))
                           .then(pl.col("strategy.boot_pool").cast(pl.String)))
        options.append(pl.when((strategy == "hvo") & pool.str.contains(_DMEM_SYNTAX)).then(pool))
    return pl.coalesce(*options) if options else pl.lit(None, pl.String)


def preset_label(frame: pl.DataFrame, manifest: pl.DataFrame) -> pl.Expr:
    """Each row's strategy as the user named it: a preset's name where its parameters match
    (sizes compared by bytes), else ``strategy``. page2m keeps its own name, colour and legend entry.

    The presets are the manifest's preset rows: the parameters each sets are its non-null ones.
    """
    label = pl.col("strategy")
    presets = manifest.filter(pl.col("preset").is_not_null())
    params = [c for c in presets.columns if c.startswith("strategy.")]
    for row in reversed(presets.sort("preset").to_dicts()):  # a few presets: the first name wins
        columns = {c: row[c] for c in params if row[c] is not None}
        if not all(c in frame.columns for c in columns):
            continue
        match = pl.col("strategy") == row["strategy"]
        for column, value in columns.items():
            wanted = pl.select(size_bytes(pl.lit(value))).item()
            match &= (size_bytes(pl.col(column)) == wanted) if wanted is not None else (
                pl.col(column).cast(pl.String) == value)
        label = pl.when(match).then(pl.lit(row["preset"])).otherwise(label)
    return label
