"""pagelab: what each way of managing physical pages costs, on real workloads.

The documented API for plugins and notebooks:

- :class:`StrategySpec`, :class:`Machine`, :class:`Allocation`, :data:`hookimpl`:
  write a strategy plugin (see ``docs/plugins.md``);
- expression helpers :func:`round_up`, :func:`ceil_div`, :func:`pagetable_bytes`,
  :func:`uniform_allocation`, :func:`memmap`, :func:`folio_census`;
- :func:`run`: one run from Hydra overrides, returning the results row.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pagelab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from pagelab.allocator import (  # noqa: E402
    Allocation,
    Machine,
    StrategySpec,
    ceil_div,
    default_section_size,
    is_mapped,
    memmap,
    pagetable_bytes,
    round_up,
    uniform_allocation,
)
from pagelab.errors import PagelabError  # noqa: E402
from pagelab.readahead import folio_census  # noqa: E402
from pagelab.hookspecs import hookimpl  # noqa: E402


def run(overrides: list[str] | None = None, **kwargs):  # type: ignore[no-untyped-def]
    """Run one configuration; see :func:`pagelab.app.run`."""
    from pagelab.app import run as _run

    return _run(overrides, **kwargs)


__all__ = [
    "Allocation",
    "Machine",
    "PagelabError",
    "StrategySpec",
    "__version__",
    "ceil_div",
    "default_section_size",
    "folio_census",
    "hookimpl",
    "is_mapped",
    "memmap",
    "pagetable_bytes",
    "round_up",
    "run",
    "uniform_allocation",
]
