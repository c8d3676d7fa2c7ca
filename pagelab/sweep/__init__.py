"""Sweeps: plan, launch and collect many runs of :mod:`pagelab.pipeline`.

Modules, one concept each:

- :mod:`~pagelab.sweep.plan`: how many jobs a multirun launches (the progress bar's total);
- :mod:`~pagelab.sweep.guard`: refusing to mix two different sweeps in one directory;
- :mod:`~pagelab.sweep.compose`: every job's config from one composition per base;
- :mod:`~pagelab.sweep.worker`: a chunk of jobs run in one process, as Hydra runs each;
- :mod:`~pagelab.sweep.batch`: the batch launcher (``hydra/launcher=batch``) behind
  ``hydra_plugins.pagelab_launcher``;
- :mod:`~pagelab.sweep.progress`: a progress bar over a running sweep's jobs;
- :mod:`~pagelab.sweep.callback`: the Hydra callback that ties them to a multirun;
- :mod:`~pagelab.sweep.collect`: every job's results into ``summary.parquet``;
- :mod:`~pagelab.sweep.manifest`: what figures need besides the rows (defaults, presets,
  colours) into ``manifest.parquet``;
- :mod:`~pagelab.sweep.seeds`: each configuration's mean and interval over its seeds;
- :mod:`~pagelab.sweep.tables`: the terminal tables of a collected sweep;
- :mod:`~pagelab.sweep.compare`: ``pagelab compare``, strategies side by side with intervals.

The records of each run (``status.json``, ``results.parquet``, claims) are the pipeline's
(:mod:`pagelab.pipeline.job`). This package imports nothing heavy at import time.
"""
