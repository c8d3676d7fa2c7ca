"""Datasets: the catalog, loading by name or path, validation, and expansion.

Kinds and their canonical tables:
    files     size (Int64 bytes), count (Int64 weight)
    vms       memory_bytes (Int64), vcpus (Int64), weight (Float64 share or count)
    mappings  size, rss (Int64 bytes), anon (Boolean)

A reference is a catalog name (``irlam_ufs93``) or a path to ``.parquet``, ``.csv`` or a
plain text file with one size per line (what ``find DIR -type f -printf '%s\\n'`` prints).
The catalog also holds reference points (published numbers that are not datasets), see
:func:`reference_points`; :func:`describe` summarises a dataset for ``pagelab datasets``.

Producers of datasets live here too: :mod:`~pagelab.datasets.scan` (``pagelab scan``, a
directory tree's file sizes) and :mod:`~pagelab.datasets.procs` (``pagelab scan-procs``,
the running processes' mappings).

Names are imported on first use, so that ``pagelab scan`` starts its walk before polars loads.
"""

from __future__ import annotations

from typing import Any

from pagelab.lazy import lazy_export

_EXPORTS = {
    "KINDS": "pagelab.datasets.cards",
    "POINTS_KEY": "pagelab.datasets.cards",
    "POINTS_SCHEMA": "pagelab.datasets.cards",
    "Dataset": "pagelab.datasets.cards",
    "catalog": "pagelab.datasets.cards",
    "datasets_dir": "pagelab.datasets.cards",
    "point_cards": "pagelab.datasets.cards",
    "reference_points": "pagelab.datasets.cards",
    "resolve": "pagelab.datasets.cards",
    "Summary": "pagelab.datasets.summary",
    "aggregate_files": "pagelab.datasets.summary",
    "describe": "pagelab.datasets.summary",
    "weighted_median": "pagelab.datasets.summary",
    "boolean_column": "pagelab.datasets.read",
    "integer_column": "pagelab.datasets.read",
    "parquet_metadata": "pagelab.datasets.read",
    "read_raw": "pagelab.datasets.read",
    "read_table": "pagelab.datasets.read",
    "all_files": "pagelab.datasets.sample",
    "resident_anon": "pagelab.datasets.sample",
    "sample_anon": "pagelab.datasets.sample",
    "sample_files": "pagelab.datasets.sample",
    "sample_vms": "pagelab.datasets.sample",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a dataset function from its module on first use (PEP 562)."""
    return lazy_export(globals(), _EXPORTS, name)
