"""pagelab: what each way of managing physical pages costs, on real workloads.

The notebook API:

- :func:`run`: one run from Hydra overrides, returning the results row as a polars DataFrame;
- :func:`compare`: strategies × workloads × seeds, each metric's mean and 95 % interval and
  its difference to a baseline strategy, as a tidy polars DataFrame;
- :class:`PagelabError`: what :func:`run` raises on bad input (one line naming the fault);
- ``__version__``.

Figures from results: each module of :mod:`pagelab.figures` has ``data(summary)`` and
``render(frame)``. Strategy plugins import :mod:`pagelab.plugin`, the plugin API
(docs/plugins.md), not this module.

Names are imported on first use, so that commands which need none of them (``pagelab
scan``) start without loading polars and Hydra.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any


def _source_checkout_conf() -> None:
    """Let ``pagelab.conf`` resolve when this package is the repository's ``pagelab/`` folder.

    The wheel installs ``conf/`` as ``pagelab/conf``; in the repository it sits beside
    ``pagelab/``. Run from the repository root (``python -m pagelab`` puts the current
    directory first on ``sys.path``), the folder shadows the installed package, and Hydra's
    ``pkg://pagelab.conf`` would not be found. Searching the repository root for
    ``pagelab``'s subpackages too finds ``conf/`` as ``pagelab.conf`` again; an installed
    package has no sibling ``conf/__init__.py``, so nothing changes there.
    """
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    if not os.path.isdir(os.path.join(here, "conf")) and os.path.isfile(os.path.join(root, "conf", "__init__.py")):
        __path__.append(root)  # noqa: F821 - a package's __path__ is defined by the import system


_source_checkout_conf()

_EXPORTS = {
    "PagelabError": "pagelab.errors",
    "compare": "pagelab.sweep.compare",
    "run": "pagelab.app",
}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    """Import a documented name from its module on first use (PEP 562).

    A plugin API name (``from pagelab import hookimpl``, as plugins written for pagelab
    0.1's docs do) still resolves, through :mod:`pagelab.plugin`, with a DeprecationWarning.
    """
    if name == "__version__":  # read on first use: importlib.metadata alone takes 40 ms
        from pagelab.version import pagelab_version

        value = pagelab_version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        plugin_api = importlib.import_module("pagelab.plugin")
        if name not in plugin_api.__all__:
            raise AttributeError(f"module 'pagelab' has no attribute {name!r}")
        warnings.warn(f"import {name} from pagelab.plugin, the plugin API; `from pagelab import {name}` "
                      "will go away", DeprecationWarning, stacklevel=2)
        return getattr(plugin_api, name)  # not cached, so that every old import warns
    globals()[name] = value
    return value
