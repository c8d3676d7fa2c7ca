"""pagelab: what each way of managing physical pages costs, on real workloads.

The documented API for plugins and notebooks:

- :class:`StrategySpec`, :class:`Machine`, :class:`Allocation`, :class:`Pool`, :data:`hookimpl`:
  write a strategy plugin (see ``docs/plugins.md``);
- expression helpers :func:`round_up`, :func:`ceil_div`, :func:`mapping_tables`,
  :func:`uniform_allocation`, :func:`guests_in_pool`, :func:`memmap`, :func:`xarray_bytes`,
  :func:`folio_census`;
- boot-time reservations in ``dmem=`` syntax: :func:`parse_dmem`, :func:`carveout_per_node`;
- :func:`run`: one run from Hydra overrides, returning the results row.

Names are imported on first use, so that commands which need none of them (``pagelab
scan``) start without loading polars and Hydra.
"""

from __future__ import annotations

import importlib
from typing import Any


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pagelab")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


_EXPORTS = {
    "Allocation": "pagelab.allocator",
    "KERNEL": "pagelab.allocator",
    "Machine": "pagelab.allocator",
    "Pool": "pagelab.allocator",
    "StrategySpec": "pagelab.allocator",
    "ceil_div": "pagelab.allocator",
    "default_section_size": "pagelab.allocator",
    "guests_in_pool": "pagelab.allocator",
    "is_mapped": "pagelab.allocator",
    "memmap": "pagelab.allocator",
    "mapping_tables": "pagelab.allocator",
    "round_up": "pagelab.allocator",
    "uniform_allocation": "pagelab.allocator",
    "xarray_bytes": "pagelab.allocator",
    "PagelabError": "pagelab.errors",
    "carveout_per_node": "pagelab.reservation",
    "parse_dmem": "pagelab.reservation",
    "folio_census": "pagelab.readahead",
    "hookimpl": "pagelab.hookspecs",
    "run": "pagelab.app",
}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    """Import a documented name from its module on first use (PEP 562)."""
    if name == "__version__":  # read on first use: importlib.metadata alone takes 40 ms
        value = _version()
    elif name not in _EXPORTS:
        raise AttributeError(f"module 'pagelab' has no attribute {name!r}")
    else:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
