"""pagelab's installed version, as results, datasets and figures record it.

In the base layer, so that every layer can record it without importing the package's
``__init__`` (the notebook API, the top layer), whose ``__version__`` is this too.
"""

from __future__ import annotations

from functools import cache


@cache
def pagelab_version() -> str:
    """The installed distribution's version; ``0+unknown`` in a source tree that is not installed."""
    from importlib.metadata import PackageNotFoundError, version  # 40 ms: only when asked

    try:
        return version("pagelab")
    except PackageNotFoundError:
        return "0+unknown"
