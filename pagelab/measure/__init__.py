"""``pagelab measure``: check the models against the running kernel.

One concept per module:

- :mod:`~pagelab.measure.kernel`: mincore, fadvise, pagemap and kpageflags (the folio
  census), /proc/meminfo; thin wrappers over os and ctypes.
- :mod:`~pagelab.measure.storage`: which mount and block device hold a path, and the
  device's ``read_ahead_kb`` and ``io_pages``.
- :mod:`~pagelab.measure.safety`: refusals (Linux, root, memory, disk), the workspace,
  signals turned into cleanup.
- :mod:`~pagelab.measure.sample`: the sizes to measure (a dataset draw or files under a path).
- :mod:`~pagelab.measure.reader`: the fresh helper process that reads and measures files.
- :mod:`~pagelab.measure.pagecache`, :mod:`~pagelab.measure.tmpfs`,
  :mod:`~pagelab.measure.memmap`: the three measurements.
- :mod:`~pagelab.measure.mounts`: private mount namespace, tmpfs mount and unmount.
- :mod:`~pagelab.measure.compare`: model rows beside kernel rows, tables of agreement.
- :mod:`~pagelab.measure.output`: the measurement dataset (schema, provenance, Parquet).

The measurement functions are imported lazily by the command, so importing this
package costs nothing.
"""
