"""The XArray's node memory (lib/xarray.c): what a page-cache-like index of entries costs."""

from __future__ import annotations

import polars as pl

from pagelab.units import ceil_div

XA_SLOTS = 64  # XA_CHUNK_SIZE: 1 << XA_CHUNK_SHIFT (6), include/linux/xarray.h
XA_NODE_BYTES = 576  # sizeof(struct xa_node) on 64-bit


def xarray_bytes(entries: pl.Expr) -> pl.Expr:
    """Memory of the xa_nodes an XArray needs for ``entries`` entries at indices 0..entries-1.

    Each node holds 64 slots; every level up to one root node is counted. A single entry
    at index 0 lives in the XArray's head and needs no node (lib/xarray.c).
    """
    nodes: pl.Expr = pl.lit(0, pl.Int64)
    for level in range(1, 12):  # 64**11 > 2**63
        nodes = nodes + pl.when(entries > XA_SLOTS ** (level - 1)).then(ceil_div(entries, XA_SLOTS**level)).otherwise(0)
    return nodes * XA_NODE_BYTES
