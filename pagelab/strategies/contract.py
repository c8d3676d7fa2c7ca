"""The rules a strategy's result must keep; a break is one line naming the plugin and the rule."""

from __future__ import annotations

import polars as pl

from pagelab.allocator import (
    KERNEL,
    OPTIONAL_COLUMNS,
    OUTPUT_COLUMNS,
    REQUEST_SCHEMA,
    Allocation,
    Machine,
    per_node,
)
from pagelab.errors import PagelabError


def _fail(who: str, rule: str) -> PagelabError:
    return PagelabError(f"strategy {who}: {rule}")


def _first_row(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def checked_allocation(who: str, result: object, requests: pl.DataFrame, machine: Machine) -> Allocation:
    """Validate ``result`` against the interface; return it with Int64 columns and defaults filled in.

    ``requests`` is what the strategy was given. The returned table holds the request
    columns and the strategy's columns, one row per request, in request order.
    """
    if not isinstance(result, Allocation) or not isinstance(result.requests, pl.DataFrame):
        raise _fail(who, f"must return an Allocation holding a polars DataFrame, got {type(result).__name__}")
    table = result.requests
    if table.height != requests.height:
        raise _fail(who, f"returned {table.height} rows for {requests.height} requests")
    given = [c for c in REQUEST_SCHEMA if c in table.columns]
    if given and len(given) < len(REQUEST_SCHEMA):
        dropped = ", ".join(c for c in REQUEST_SCHEMA if c not in table.columns)
        raise _fail(who, f"dropped request column(s) {dropped} (return all request columns or none)")
    for column in given:
        if not table[column].cast(requests[column].dtype, strict=False).equals(requests[column]):
            raise _fail(who, f"changed request column {column!r} (a strategy adds columns, it never edits requests)")
    missing = [c for c in OUTPUT_COLUMNS if c not in table.columns]
    if missing:
        raise _fail(who, f"result lacks column(s) {', '.join(missing)}")
    own = [*OUTPUT_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in table.columns)]
    for column in (c for c in own if c != "pool"):
        series = table[column]
        if not series.dtype.is_integer():
            raise _fail(who, f"column {column!r} must be integers, got {series.dtype}")
        if series.null_count():
            raise _fail(who, f"column {column!r} has nulls (first: row {_first_row(series.is_null())})")
        if (series < 0).any():
            raise _fail(who, f"column {column!r} is negative (first: row {_first_row(series < 0)})")
    out = requests.with_columns(table.select(own)).with_columns(pl.col(c).cast(pl.Int64) for c in own if c != "pool")
    out = out.with_columns(
        pl.lit(KERNEL if c == "pool" else 0, dtype).alias(c) for c, dtype in OPTIONAL_COLUMNS.items() if c not in out.columns
    ).with_columns(pl.col("pool").cast(pl.String))
    short = out["allocated_bytes"] < out["bytes"] * out["count"]
    if short.any():
        raise _fail(who, f"allocated_bytes is below bytes x count (first: row {_first_row(short)})")
    for column in ("allocated_bytes", "objects", "pagetable_bytes", *(c for c in OPTIONAL_COLUMNS if c != "pool")):
        uneven = out[column] % out["count"] != 0
        if uneven.any():
            raise _fail(who, f"column {column!r} is not a multiple of count (first: row {_first_row(uneven)}); "
                        "columns are totals over count identical objects")
    in_kernel = pl.when(pl.col("pool") == KERNEL).then(pl.col("allocated_bytes")).otherwise(0)
    over = out["memmap_freed_bytes"] > out.select(in_kernel + pl.col("pagetable_bytes") + pl.col("descriptor_bytes")).to_series()
    if over.any():
        raise _fail(who, f"memmap_freed_bytes exceeds what the objects take from the kernel (first: row {_first_row(over)})")
    _check_pools(who, result, out, machine)
    return Allocation(out, result.struct_pages, per_node(result.memmap_bytes, machine),
                      per_node(result.descriptor_bytes, machine), dict(result.pools))


def _check_pools(who: str, result: Allocation, out: pl.DataFrame, machine: Machine) -> None:
    """Pools have one non-negative size per node, fit the nodes, and every request names one."""
    for what, value in (("memmap_bytes", result.memmap_bytes), ("descriptor_bytes", result.descriptor_bytes)):
        values = per_node(value, machine)
        if len(values) != machine.nodes or min(values) < 0:
            raise _fail(who, f"{what} needs one non-negative value per node ({machine.nodes}), got {value!r}")
    taken = [0] * machine.nodes
    for name, pool in result.pools.items():
        if name == KERNEL:
            raise _fail(who, f"pool name {KERNEL!r} is the kernel's own; name the strategy's pool otherwise")
        for what, values in (("bytes", pool.bytes), ("stranded", pool.stranded or (0,) * machine.nodes)):
            if len(values) != machine.nodes or min(values) < 0:
                raise _fail(who, f"pool {name!r}: {what} needs one non-negative value per node, got {values!r}")
        if pool.stranded and any(s > b for s, b in zip(pool.stranded, pool.bytes, strict=True)):
            raise _fail(who, f"pool {name!r}: stranded exceeds the pool's size")
        taken = [t + b for t, b in zip(taken, pool.bytes, strict=True)]
    over = [n for n, (t, size) in enumerate(zip(taken, machine.node_bytes, strict=True)) if t > size]
    if over:
        raise _fail(who, f"pools on node {over[0]} add up to more than the node's memory")
    unknown = set(out["pool"].unique().to_list()) - {KERNEL, *result.pools}
    if unknown:
        raise _fail(who, f"requests name pool(s) {', '.join(sorted(unknown))} that the Allocation does not declare")
