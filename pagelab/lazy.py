"""Names a module imports on first use (PEP 562), so that importing the module costs nothing."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Any


def lazy_export(namespace: MutableMapping[str, Any], exports: Mapping[str, str], name: str) -> Any:
    """``name`` imported from its module in ``exports`` (name -> module) and kept in ``namespace``.

    The body of a module's ``__getattr__``: ``return lazy_export(globals(), _EXPORTS, name)``.
    """
    if name not in exports:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(exports[name]), name)
    namespace[name] = value
    return value
