"""One run, from its config to its records: config → workload → strategy → placement → results.

- :mod:`~pagelab.pipeline.compose`: overrides in, a composed config out (Hydra set up once, here);
- :mod:`~pagelab.pipeline.config`: the strategy nodes Hydra composes, and :class:`RunConfig`, the
  typed config everything below the app reads (the workload schema is :mod:`pagelab.workloads.config`);
- :mod:`~pagelab.pipeline.overrides`: command-line overrides checked before Hydra sees them;
- :mod:`~pagelab.pipeline.resolvers`: config resolvers the presets use;
- :mod:`~pagelab.pipeline.simulate`: a config in, the results row out;
- :mod:`~pagelab.pipeline.placement`: requests into each node's pools, never past a pool;
- :mod:`~pagelab.pipeline.metrics`: the results row's columns;
- :mod:`~pagelab.pipeline.status`, :mod:`~pagelab.pipeline.job`, :mod:`~pagelab.pipeline.lock`:
  the run's records on disk (``status.json``, ``results.parquet``) and the claims that keep
  two processes from running it twice;
- :mod:`~pagelab.pipeline.terminal`: the run's summary table on a terminal.

Sweeps (:mod:`pagelab.sweep`) run many of these; nothing here imports the sweep package.
"""
