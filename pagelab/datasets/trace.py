"""The ``vm_timeseries`` dataset: a VM trace's table (one row per VM, month and hour), validated.

The fleet replays it (:mod:`pagelab.fleet.stream`); :func:`pagelab.datasets.read_table` reads
it with this reader too, so that a trace is checked the same way wherever it is named.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pagelab.errors import PagelabError

KIND = "vm_timeseries"
TRACE_SCHEMA = pl.Schema({
    "month": pl.String,
    "vm_id": pl.Int64,
    "hour": pl.Int64,
    "cores": pl.Int64,
    "mem_provisioned_kib": pl.Int64,
    "mem_usage_max_kib": pl.Int64,
})
HOUR = 3600  # the trace's time step, in its Unix-seconds 'hour' column


def read_trace(path: Path) -> pl.DataFrame:
    """Read and validate a ``vm_timeseries`` file: the columns of :data:`TRACE_SCHEMA`, checked.

    Raises :class:`PagelabError` naming the file and the field: a missing column, a column
    of the wrong type, a null or a negative value, an hour not on a whole hour.
    """
    try:
        frame = pl.read_parquet(path)
    except Exception as error:
        raise PagelabError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from None
    for column, dtype in TRACE_SCHEMA.items():
        if column not in frame.columns:
            raise PagelabError(f"{path}: missing column '{column}' (a {KIND} dataset needs {', '.join(TRACE_SCHEMA)})")
        found = frame.schema[column]
        if (dtype == pl.Int64) != found.is_integer() or (dtype == pl.String and found != pl.String):
            raise PagelabError(f"{path}: column '{column}' must be {'integers' if dtype == pl.Int64 else 'text'}, "
                               f"found {found}")
    frame = frame.select(list(TRACE_SCHEMA)).cast(TRACE_SCHEMA)
    if frame.height == 0:
        raise PagelabError(f"{path}: the dataset is empty (no rows)")
    nulls = frame.null_count().row(0, named=True)
    negative = frame.select((pl.col(c) < 0).any() for c in TRACE_SCHEMA if TRACE_SCHEMA[c] == pl.Int64).row(0, named=True)
    for column in TRACE_SCHEMA:
        if nulls[column]:
            raise PagelabError(f"{path}: column '{column}' has {nulls[column]} null values")
        if negative.get(column):
            raise PagelabError(f"{path}: column '{column}' has negative values")
    if (frame["hour"] % HOUR != 0).any():
        raise PagelabError(f"{path}: column 'hour' must hold Unix seconds on whole hours")
    return frame
