"""Hook specifications: what a pagelab plugin can provide.

A plugin is a module (or object) with functions marked ``@hookimpl`` (from
:mod:`pagelab.plugin`) and is found through the ``pagelab`` entry-point group::

    [project.entry-points.pagelab]
    page8k = "my_package.page8k"

or as a local file (``plugins=[page8k.py]``, ``PAGELAB_PLUGINS``); see pagelab/strategies/registry.py.
docs/writing-strategies.md ("Hook reference") documents every hook with its signature, and
a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pagelab.allocator import StrategySpec

PROJECT = "pagelab"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class PagelabSpecs:
    """Hooks pagelab calls. Every hook is prefixed ``pagelab_``."""

    @hookspec
    def pagelab_strategies(self) -> Iterable[StrategySpec]:
        """Return the strategies this plugin provides.

        Example::

            @hookimpl
            def pagelab_strategies():
                return [StrategySpec("page8k", Page8kParams, Page8k)]

        Names must be unique across all installed plugins; pagelab sorts them, so
        the order plugins load in never matters.
        """
        return ()
