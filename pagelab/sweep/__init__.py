"""Sweeps: per-job status records, resume, the sweep summary, progress and presets' sweeper.

Modules, one concept each:

- :mod:`~pagelab.sweep.status`: the ``status.json`` record of one job and its config hash;
- :mod:`~pagelab.sweep.job`: one job's life cycle on disk (skip if done, record, never overwrite);
- :mod:`~pagelab.sweep.collect`: every job's results into ``summary.parquet``;
- :mod:`~pagelab.sweep.tables`: the terminal tables of a collected sweep;
- :mod:`~pagelab.sweep.progress`: a progress bar over a running sweep's jobs;
- :mod:`~pagelab.sweep.plan`: how many jobs a multirun launches (the progress bar's total);
- :mod:`~pagelab.sweep.guard`: refusing to mix two different sweeps in one directory;
- :mod:`~pagelab.sweep.callback`: the Hydra callback that ties them to a multirun;
- :mod:`~pagelab.sweep.resolvers`: config resolvers the presets use;
- :mod:`~pagelab.sweep.compose`: every job's config from one composition per base;
- :mod:`~pagelab.sweep.worker`: a chunk of jobs run in one process, as Hydra runs each;
- :mod:`~pagelab.sweep.batch`: the batch launcher (``hydra/launcher=batch``) behind
  ``hydra_plugins.pagelab_launcher``.

This package imports nothing heavy at import time: jobs import it on every run.
"""

from __future__ import annotations

RESULTS = "results.parquet"
STATUS = "status.json"
SUMMARY = "summary.parquet"
SEEDS = "seeds.parquet"  # one row per configuration: mean and 95 % interval over its seeds
# Hydra saves a sweep's config here before it launches the jobs.
MULTIRUN_YAML = "multirun.yaml"
# Results of an earlier configuration are moved here, never overwritten.
SUPERSEDED = "superseded"
# The batch launcher records the configs it composed (once per base) here.
COMPOSED = "composed.yaml"
