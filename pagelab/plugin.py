"""The API for strategy plugins: everything a plugin may import, and nothing else.

A strategy plugin imports from this module only (``from pagelab.plugin import ...``);
docs/plugins.md documents each name (a test keeps the two in step). Names are imported on
first use, so importing this module costs nothing.

Sizes in parameters: type a params field ``Size`` and ``strategy.page_size=8K`` works on
the command line as it does for the built-ins; the strategy receives bytes (an ``int``)::

    @dataclass
    class Page8kParams:
        page_size: Size = Size("8K")
"""

from __future__ import annotations

from typing import Any

from pagelab.lazy import lazy_export
from pagelab.units import parse_size

_EXPORTS = {
    "Allocation": "pagelab.allocator",
    "GUEST_MEMORY": "pagelab.allocator",
    "KERNEL": "pagelab.allocator",
    "KINDS": "pagelab.allocator",
    "Machine": "pagelab.allocator",
    "Pool": "pagelab.allocator",
    "StrategySpec": "pagelab.allocator",
    "THP_KINDS": "pagelab.models.pagetables",
    "ceil_div": "pagelab.units",
    "default_section_size": "pagelab.models.memmap",
    "guests_in_pool": "pagelab.models.shapes",
    "is_mapped": "pagelab.models.pagetables",
    "mapping_tables": "pagelab.models.pagetables",
    "memmap": "pagelab.models.memmap",
    "round_up": "pagelab.units",
    "uniform_allocation": "pagelab.models.shapes",
    "xarray_bytes": "pagelab.models.xarray",
    "checked_allocation": "pagelab.strategies.contract",
    "PagelabError": "pagelab.errors",
    "hookimpl": "pagelab.strategies.hookspecs",
    "carveout_per_node": "pagelab.models.reservation",
    "parse_dmem": "pagelab.models.reservation",
    "folio_census": "pagelab.models.readahead",
    "KiB": "pagelab.units",
    "MiB": "pagelab.units",
    "GiB": "pagelab.units",
    "TiB": "pagelab.units",
    "parse_size": "pagelab.units",
}

# The kernel's binary suffixes, largest first (lib/cmdline.c memparse()).
_SUFFIXES = (("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10))


def format_size(n: int) -> str:
    """Bytes in the kernel's syntax, exactly: ``8192 -> "8K"``, ``3 << 20 -> "3M"``, ``1000 -> "1000"``."""
    n = int(n)
    for suffix, unit in _SUFFIXES:
        if n and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


class Size(int):
    """A byte count that parameters accept in the kernel's syntax (``8K``, ``2M``, ``0x1000``).

    ``Size("8K") == 8192``. Type a params dataclass field ``Size`` (or ``Optional[Size]``)
    and pagelab stores it in Hydra's node as text, parses ``strategy.<field>=16K`` with
    :func:`parse_size` and hands the strategy an int; a bad value is one line naming
    ``strategy.<field>``. A ``Size`` is an ``int``, so it needs no conversion in the strategy.
    """

    def __new__(cls, value: int | str = 0, what: str = "size") -> Size:
        return super().__new__(cls, parse_size(value, what))

    def __repr__(self) -> str:
        return f"Size({format_size(self)!r})"


__all__ = sorted([*_EXPORTS, "Size", "format_size"])


def __getattr__(name: str) -> Any:
    """Import a documented name from its module on first use (PEP 562)."""
    return lazy_export(globals(), _EXPORTS, name)
