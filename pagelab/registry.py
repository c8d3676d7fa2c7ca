"""Finding plugins and the strategies they register."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, is_dataclass
from functools import cache

import pluggy

from pagelab.allocator import StrategySpec
from pagelab.errors import PagelabError
from pagelab.hookspecs import PROJECT, PagelabSpecs

AUTOLOAD_OFF = "PAGELAB_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class Registered:
    """A strategy spec together with the plugin that provided it."""

    spec: StrategySpec
    source: str


def make_plugin_manager(
    plugins: Iterable[object] | None = None, *, load_entrypoints: bool = True
) -> pluggy.PluginManager:
    """Build a plugin manager.

    With ``plugins`` given, only those are registered and no entry points are read
    (handy in tests). Otherwise every ``pagelab`` entry point is loaded, built-ins
    included, unless ``PAGELAB_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(PagelabSpecs)
    if plugins is not None:
        for plugin in plugins:
            manager.register(plugin)
    elif load_entrypoints and not os.environ.get(AUTOLOAD_OFF):
        manager.load_setuptools_entrypoints(PROJECT)
    manager.check_pending()
    return manager


def _source(manager: pluggy.PluginManager, plugin: object) -> str:
    """Name a plugin for error messages: distribution and entry point if known."""
    for loaded, dist in manager.list_plugin_distinfo():
        if loaded is plugin:
            return f"{dist.project_name} ({manager.get_name(plugin)})"
    return getattr(plugin, "__name__", None) or repr(plugin)


def collect_strategies(manager: pluggy.PluginManager) -> dict[str, Registered]:
    """Validate every registered strategy and return them sorted by name.

    Raises :class:`PagelabError` on a duplicate name (naming both sources), on a
    name that is not a lowercase identifier, or on params that are not a dataclass.
    """
    found: dict[str, Registered] = {}
    for impl in manager.hook.pagelab_strategies.get_hookimpls():
        source = _source(manager, impl.plugin)
        for spec in impl.function() or ():
            if not isinstance(spec, StrategySpec):
                raise PagelabError(f"plugin {source}: pagelab_strategies returned {spec!r}")
            if not spec.name.isidentifier() or spec.name != spec.name.lower():
                raise PagelabError(f"plugin {source}: strategy name {spec.name!r} must be a lowercase identifier")
            if not is_dataclass(spec.params):
                raise PagelabError(f"plugin {source}: params of strategy {spec.name!r} must be a dataclass")
            if spec.name in found:
                raise PagelabError(
                    f"strategy {spec.name!r} is registered twice: by {found[spec.name].source} and by {source}"
                )
            found[spec.name] = Registered(spec, source)
    return dict(sorted(found.items()))


@cache
def installed_strategies() -> dict[str, Registered]:
    """The strategies of all installed plugins (cached for the process)."""
    return collect_strategies(make_plugin_manager())
