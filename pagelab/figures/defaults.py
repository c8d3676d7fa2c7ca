"""Rows that ran at their (strategy, workload)'s shipped defaults, by the sweep manifest.

The defaults come from the manifest's defaults rows (:mod:`pagelab.sweep.manifest`, written
by ``pagelab collect``), never from composing a config here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import polars as pl

from pagelab.figures.common import defaults_rows

# Columns the user chose values for (``pagelab figures --where``): no figure holds them to defaults.
_CHOSEN: ContextVar[frozenset[str]] = ContextVar("pagelab_chosen_columns", default=frozenset())


@contextmanager
def chosen(columns: Iterable[str]) -> Iterator[None]:
    """Within the block, :func:`at_defaults` leaves ``columns`` free (the user filtered them)."""
    token = _CHOSEN.set(frozenset(columns))
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def at_defaults(
    frame: pl.DataFrame,
    manifest: pl.DataFrame,
    prefixes: tuple[str, ...] = ("strategy.", "workload."),
    free: Iterable[str] = (),
) -> pl.DataFrame:
    """The rows of ``frame`` whose parameters equal their (strategy, workload)'s defaults.

    Only parameter columns present in ``frame``, starting with one of ``prefixes`` and not
    in ``free`` (nor chosen by ``--where``, see :func:`chosen`), are compared (as strings;
    null matches null, and a parameter the defaults lack is null). Rows of a pair the
    manifest has no defaults for (an unknown strategy or workload) are dropped.
    """
    skip = set(free) | _CHOSEN.get()
    params = [c for c in frame.columns if c.startswith(prefixes) and c not in skip]
    keys = ["strategy", "workload", *params]
    rows = defaults_rows(manifest)
    target = rows.select(
        [pl.col(k).cast(pl.String) if k in rows.columns else pl.lit(None, pl.String).alias(k) for k in keys]
    )
    return frame.join(
        target, left_on=[pl.col(k).cast(pl.String) for k in keys], right_on=keys, how="semi", nulls_equal=True
    )
