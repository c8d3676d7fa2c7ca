"""``--where KEY=VALUE`` filters over results rows, shared by ``pagelab plot`` and ``pagelab figures``.

A value matches as the column holds it: sizes by their bytes (``workload.installed=512G``
matches a run typed ``512G`` or ``524288M``; ``installed_bytes=512G`` works too), numbers
by value, booleans as true/false/yes/no, anything else as text. ``KEY=a,b`` keeps rows
with either value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pagelab.errors import PagelabError
from pagelab.figures.common import size_bytes

_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


@dataclass(frozen=True)
class Where:
    """One filter: a results column and the values it may take."""

    column: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.column}={','.join(self.values)}"


def parse_where(texts: Sequence[str]) -> list[Where]:
    """``["workload.installed=512G", "strategy=base4k,dmemfs"]`` as filters; bad syntax raises."""
    out = []
    for text in texts:
        column, sep, values = text.partition("=")
        if not sep or not column or not values:
            raise PagelabError(f"--where {text}: expected COLUMN=VALUE[,VALUE...]")
        out.append(Where(column.strip(), tuple(v.strip() for v in values.split(","))))
    return out


def _matches(frame: pl.DataFrame, where: Where) -> pl.Expr:
    dtype = frame.schema[where.column]
    column = pl.col(where.column)
    wanted = pl.Series(where.values, dtype=pl.String)
    if dtype == pl.Boolean:
        lowered = [v.lower() for v in where.values]
        if not set(lowered) <= _TRUE | _FALSE:
            raise PagelabError(f"--where {where}: {where.column} is true or false")
        return column.is_in([v in _TRUE for v in lowered])
    if dtype.is_numeric():
        as_size = pl.DataFrame({"v": wanted}).select(size_bytes(pl.col("v")))["v"]
        as_number = wanted.cast(pl.Float64, strict=False)
        numbers = as_size.cast(pl.Float64).fill_null(as_number)
        if numbers.null_count():
            bad = wanted.filter(numbers.is_null()).to_list()
            raise PagelabError(f"--where {where}: {where.column} is a number; not a number or size: {', '.join(bad)}")
        return column.cast(pl.Float64).is_in(numbers.to_list())
    sizes = pl.DataFrame({"v": wanted}).select(size_bytes(pl.col("v")))["v"]
    if sizes.null_count() == 0:  # sizes are compared by their bytes, text as text
        return size_bytes(column).is_in(sizes.to_list()) | column.cast(pl.String).is_in(where.values)
    return column.cast(pl.String).is_in(where.values)


def apply_where(frame: pl.DataFrame, wheres: Sequence[Where]) -> pl.DataFrame:
    """The rows of ``frame`` that pass every filter; an unknown column or no match raises one line."""
    for where in wheres:
        if where.column not in frame.columns:
            near = [c for c in frame.columns if where.column.split(".")[-1] in c][:8]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise PagelabError(f"--where {where}: the results have no column {where.column}{hint}")
        kept = frame.filter(_matches(frame, where))
        if kept.height == 0:
            seen = frame.select(pl.col(where.column).cast(pl.String).unique().sort())[where.column].to_list()
            shown = ", ".join("null" if v is None else v for v in seen[:12]) + (", ..." if len(seen) > 12 else "")
            raise PagelabError(f"--where {where}: no rows match ({where.column} takes {shown})")
        frame = kept
    return frame
