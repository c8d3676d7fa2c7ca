"""Datasets: the catalog, loading by name or path, validation, and expansion.

Kinds and their canonical tables:
    files     size (Int64 bytes), count (Int64 weight)
    vms       memory_bytes (Int64), vcpus (Int64), weight (Float64 share or count)
    mappings  size, rss (Int64 bytes), anon (Boolean)

A reference is a catalog name (``irlam_ufs93``) or a path to ``.parquet``, ``.csv`` or a
plain text file with one size per line (what ``find DIR -type f -printf '%s\\n'`` prints).
The catalog also holds reference points (published numbers that are not datasets), see
:func:`reference_points`; :func:`describe` summarises a dataset for ``pagelab datasets``.
"""

from pagelab.datasets.catalog import (
    KINDS,
    POINTS_KEY,
    POINTS_SCHEMA,
    Dataset,
    catalog,
    datasets_dir,
    point_cards,
    reference_points,
    resolve,
)
from pagelab.datasets.describe import Summary, aggregate_files, describe, weighted_median
from pagelab.datasets.read import boolean_column, integer_column, parquet_metadata, read_raw, read_table
from pagelab.datasets.sample import all_files, resident_anon, sample_anon, sample_files, sample_vms

__all__ = [
    "KINDS",
    "POINTS_KEY",
    "POINTS_SCHEMA",
    "Dataset",
    "Summary",
    "aggregate_files",
    "all_files",
    "boolean_column",
    "catalog",
    "datasets_dir",
    "describe",
    "integer_column",
    "parquet_metadata",
    "point_cards",
    "read_raw",
    "read_table",
    "reference_points",
    "resident_anon",
    "resolve",
    "sample_anon",
    "sample_files",
    "sample_vms",
    "weighted_median",
]
