"""The API for strategy plugins: everything a plugin may import, and nothing else.

A strategy plugin imports from this module only (``from pagelab.plugin import ...``);
docs/plugins.md documents each name. Names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Allocation": "pagelab.allocator",
    "GUEST_MEMORY": "pagelab.allocator",
    "KERNEL": "pagelab.allocator",
    "KINDS": "pagelab.allocator",
    "Machine": "pagelab.allocator",
    "Pool": "pagelab.allocator",
    "StrategySpec": "pagelab.allocator",
    "ceil_div": "pagelab.allocator",
    "default_section_size": "pagelab.allocator",
    "guests_in_pool": "pagelab.allocator",
    "is_mapped": "pagelab.allocator",
    "mapping_tables": "pagelab.allocator",
    "memmap": "pagelab.allocator",
    "round_up": "pagelab.allocator",
    "uniform_allocation": "pagelab.allocator",
    "xarray_bytes": "pagelab.allocator",
    "PagelabError": "pagelab.errors",
    "hookimpl": "pagelab.hookspecs",
    "carveout_per_node": "pagelab.reservation",
    "parse_dmem": "pagelab.reservation",
    "folio_census": "pagelab.readahead",
    "KiB": "pagelab.units",
    "MiB": "pagelab.units",
    "GiB": "pagelab.units",
    "TiB": "pagelab.units",
    "parse_size": "pagelab.units",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a documented name from its module on first use (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pagelab.plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
