"""Inputs for testing strategies: random request tables and machines, large tables, configured strategies."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import polars as pl
from hypothesis import strategies as st

from pagelab.allocator import KINDS, REQUEST_SCHEMA, Machine, Strategy
from pagelab.units import GiB

PiB = 1 << 50

# Requests up to a petabyte each, up to 1,024 identical objects: bytes x count stays below
# 2^60, so any Int64 overflow in a strategy shows as a negative or short column.
request_tables = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, PiB), st.integers(1, 1024)), min_size=1, max_size=40
).map(
    lambda rows: pl.DataFrame(
        {"kind": [r[0] for r in rows], "bytes": [r[1] for r in rows], "count": [r[2] for r in rows], "node": [0] * len(rows)}
    ).cast(REQUEST_SCHEMA)
)

# One to four nodes of 1 GiB to 2 TiB, even and uneven; node 0 has CPUs, the others may not
# (memory-only nodes such as a CXL expander).
machines = st.lists(st.integers(1, 2048).map(lambda g: g * GiB), min_size=1, max_size=4).flatmap(
    lambda sizes: st.lists(st.booleans(), min_size=len(sizes), max_size=len(sizes)).map(
        lambda cpus: Machine(tuple(sizes), (True, *cpus[1:]))
    )
)


def empty_requests() -> pl.DataFrame:
    """A request table with no rows."""
    return pl.DataFrame(schema=REQUEST_SCHEMA)


def petabyte_requests() -> pl.DataFrame:
    """One request of each kind at the sizes where 64-bit arithmetic is tight: a PiB, times 1,024."""
    kinds = [kind for kind in KINDS for _ in range(3)]
    sizes = [PiB, PiB - 1, 1] * len(KINDS)
    counts = [1024, 1, 1024] * len(KINDS)
    return pl.DataFrame({"kind": kinds, "bytes": sizes, "count": counts, "node": [0] * len(kinds)}).cast(REQUEST_SCHEMA)


@cache
def many_requests(n: int = 1_000_000, seed: int = 0) -> pl.DataFrame:
    """``n`` requests of every kind, log-uniform sizes from 1 byte to 1 GiB (numpy, seeded; cached:
    a DataFrame is never changed in place)."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "kind": np.array(KINDS)[rng.integers(0, len(KINDS), n)],
            "bytes": np.exp(rng.uniform(0, np.log(GiB), n)).astype(np.int64),
            "count": rng.integers(1, 8, n),
            "node": np.zeros(n, dtype=np.int64),
        }
    ).cast(REQUEST_SCHEMA)


def configured(name: str, overrides: Sequence[str] = ("workload=laptop",)) -> tuple[Any, Strategy]:
    """Strategy ``name`` with the parameters Hydra composes for ``overrides``: (params, strategy)."""
    from pagelab.pipeline.compose import compose
    from pagelab.strategies.registry import installed_strategies

    params = compose([f"strategy={name}", *overrides]).params
    return params, installed_strategies()[name].spec.factory(params)
