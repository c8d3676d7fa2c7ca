"""The kernel's rules, one per module, as strategies and measurements use them.

- :mod:`~pagelab.models.memmap`: struct pages per present memory section (mm/sparse.c);
- :mod:`~pagelab.models.pagetables`: host page tables and EPT/NPT, in whole pages per level;
- :mod:`~pagelab.models.xarray`: xa_node memory of an index (lib/xarray.c);
- :mod:`~pagelab.models.readahead`: page-cache folio sizes from readahead (mm/readahead.c);
- :mod:`~pagelab.models.reservation`: the ``dmem=`` boot parameter and its carve-out per node;
- :mod:`~pagelab.models.shapes`: allocation shapes strategies share (uniform granules, a guest pool).

They depend on the allocator interface (:mod:`pagelab.allocator`) and the units only.
"""
