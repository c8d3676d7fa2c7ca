"""The names of the files pagelab writes and reads: one job's, one sweep's.

A run writes ``results.parquet`` and ``status.json`` into its directory; ``pagelab collect``
gathers a sweep's into ``summary.parquet``, ``seeds.parquet`` and ``manifest.parquet`` at its root.
"""

from __future__ import annotations

RESULTS = "results.parquet"
STATUS = "status.json"
SUMMARY = "summary.parquet"
SEEDS = "seeds.parquet"  # one row per configuration: mean and 95 % interval over its seeds
# Per strategy (and preset) and workload of a summary: its defaults, presets and declared
# colour, what figures read instead of composing configs (pagelab.sweep.manifest).
MANIFEST = "manifest.parquet"
# Hydra saves a sweep's config here before it launches the jobs.
MULTIRUN_YAML = "multirun.yaml"
# Results of an earlier configuration are moved here, never overwritten.
SUPERSEDED = "superseded"
# The batch launcher records the configs it composed (once per base) here.
COMPOSED = "composed.yaml"
