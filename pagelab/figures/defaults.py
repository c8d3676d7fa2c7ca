"""The shipped default configuration of a (strategy, workload) pair, and rows that ran at it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

import polars as pl
from hydra import compose, initialize_config_module

from pagelab.pipeline.config import flatten, register_configs

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


@cache
def default_params(strategy: str, workload: str) -> dict[str, str | None] | None:
    """The ``strategy.*`` and ``workload.*`` values of a default run, as strings.

    None when this installation does not know the strategy or the workload.
    """
    register_configs()
    try:
        with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
            cfg = compose(config_name="config", overrides=[f"strategy={strategy}", f"workload={workload}"])
    except Exception:  # noqa: BLE001 -- Hydra raises several types for an unknown group option
        return None
    params = {**flatten("strategy", cfg.strategy), **flatten("workload", cfg.workload)}
    params.pop("strategy.name", None)
    params.pop("workload.name", None)
    return {k: None if v is None else str(v) for k, v in params.items()}


def at_defaults(
    frame: pl.DataFrame, prefixes: tuple[str, ...] = ("strategy.", "workload."), free: Iterable[str] = ()
) -> pl.DataFrame:
    """The rows of ``frame`` whose parameters equal their (strategy, workload)'s defaults.

    Only parameter columns present in ``frame``, starting with one of ``prefixes`` and not
    in ``free`` (nor chosen by ``--where``, see :func:`chosen`), are compared (as strings;
    null matches null). Rows of an unknown strategy
    or workload are dropped.
    """
    skip = set(free) | _CHOSEN.get()
    params = [c for c in frame.columns if c.startswith(prefixes) and c not in skip]
    pairs = frame.select("strategy", "workload").unique().sort("strategy", "workload").rows()
    wanted = [
        {"strategy": s, "workload": w, **{c: defaults.get(c) for c in params}}
        for s, w in pairs
        if (defaults := default_params(s, w)) is not None
    ]
    keys = ["strategy", "workload", *params]
    target = pl.DataFrame(wanted, schema={k: pl.String for k in keys})
    return frame.join(
        target, left_on=[pl.col(k).cast(pl.String) for k in keys], right_on=keys, how="semi", nulls_equal=True
    )
