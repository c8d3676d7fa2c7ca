"""Finding plugins and the strategies they register.

Three sources, in this order (the first to claim a plugin name or strategy name keeps it):

1. the built-ins, ``pagelab_plugins.<name>`` for each name in ``pagelab_plugins.BUILTINS``,
   registered directly so that ``PAGELAB_DISABLE_PLUGIN_AUTOLOAD`` never turns them off;
2. the ``pagelab`` entry points of installed distributions, sorted by name, unless
   ``PAGELAB_DISABLE_PLUGIN_AUTOLOAD`` is set (as pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``);
3. local plugin files: the ``PAGELAB_PLUGINS`` environment variable (paths separated by
   ``os.pathsep``), then the ``plugins=[...]`` config key.

A plugin that fails to import, marks a hook pluggy does not know, raises in its hook or
returns something that is not a list of :class:`StrategySpec` is skipped: it becomes a
:class:`Fault`, one line naming the plugin and the fault, and every other strategy works.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, is_dataclass
from functools import cache
from pathlib import Path

import pluggy

from pagelab.allocator import StrategySpec
from pagelab.errors import PagelabError
from pagelab.strategies.hookspecs import PROJECT, PagelabSpecs
from pagelab.version import pagelab_version

AUTOLOAD_OFF = "PAGELAB_DISABLE_PLUGIN_AUTOLOAD"
LOCAL_PLUGINS = "PAGELAB_PLUGINS"
_WARNED = "PAGELAB_PLUGIN_FAULTS_WARNED"  # set once the faults were printed: warn once per command
BUILTIN_PACKAGE = "pagelab_plugins"
BUILTIN = "built-in"
DISTRIBUTION = "distribution"
LOCAL = "local file"


@dataclass(frozen=True)
class PluginInfo:
    """One plugin: its name, where it comes from and which hooks it implements."""

    name: str  # entry-point name, built-in module name, or a local file's path
    kind: str  # BUILTIN, DISTRIBUTION or LOCAL
    source: str  # "pagelab 0.1.0 (built-in)", "pagelab-zoned 0.1.0", or the file's path
    version: str  # the distribution's version ("" for a local file)
    hooks: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registered:
    """A strategy spec together with the plugin that provided it."""

    spec: StrategySpec
    source: str  # the plugin's source, for messages and ``pagelab plugins``
    plugin: str = ""  # the plugin's name


@dataclass(frozen=True)
class Fault:
    """A plugin that was skipped, and why, in one line."""

    plugin: str
    message: str  # "plugin NAME (SOURCE): what is wrong"

    def __str__(self) -> str:
        return self.message


@dataclass
class Registry:
    """What loading found: strategies sorted by name, the plugins, and the ones skipped."""

    strategies: dict[str, Registered]
    plugins: list[PluginInfo] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def fault_for(self, strategy: str) -> Fault | None:
        """The fault of the plugin a missing ``strategy`` most likely comes from: same name."""
        for fault in self.faults:
            if strategy in (fault.plugin, Path(fault.plugin).stem):
                return fault
        return None


def _one_line(error: BaseException) -> str:
    """An exception as one line: type and first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class _Loader:
    """Registers plugins one by one into a manager, turning each failure into a Fault."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(PROJECT)
        self.manager.add_hookspecs(PagelabSpecs)
        self.infos: dict[str, PluginInfo] = {}  # plugin name -> info, registration order
        self.faults: list[Fault] = []

    def fault(self, name: str, source: str, what: str) -> None:
        label = name if name == source else f"{name} ({source})"
        self.faults.append(Fault(name, f"plugin {label}: {what}"))

    def add(self, plugin: object, info: PluginInfo) -> None:
        """Register ``plugin``; a hook pluggy rejects or does not know skips it."""
        if self.manager.get_plugin(info.name) is not None or self.manager.is_registered(plugin):
            return  # a stale entry point naming a built-in, or a file listed twice
        try:
            self.manager.register(plugin, name=info.name)
        except pluggy.PluginValidationError as error:
            self.fault(info.name, info.source, _one_line(error))
            return
        hooks = tuple(sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or ()))
        unknown = [h for h in hooks if not getattr(self.manager.hook, h).has_spec()]
        if unknown:  # what check_pending() would raise for every plugin at once
            self.manager.unregister(plugin)
            known = ", ".join(sorted(self._spec_names()))
            self.fault(info.name, info.source, f"unknown hook {', '.join(unknown)} (pagelab's hooks: {known})")
            return
        if not hooks:
            self.manager.unregister(plugin)
            self.fault(info.name, info.source, "implements no hook (mark pagelab_strategies with @hookimpl)")
            return
        self.infos[info.name] = PluginInfo(info.name, info.kind, info.source, info.version, hooks)

    def _spec_names(self) -> list[str]:
        return [name for name in vars(PagelabSpecs) if name.startswith(f"{PROJECT}_")]

    def builtins(self) -> None:
        from pagelab_plugins import BUILTINS

        version = pagelab_version()
        for name in BUILTINS:
            source = f"pagelab {version} ({BUILTIN})"
            try:
                module = importlib.import_module(f"{BUILTIN_PACKAGE}.{name}")
            except Exception as error:  # noqa: BLE001 - one broken built-in must not stop the rest
                self.fault(name, source, f"cannot be imported: {_one_line(error)}")
                continue
            self.add(module, PluginInfo(name, BUILTIN, source, version))

    def entry_points(self) -> None:
        from importlib.metadata import entry_points

        # Sorted, so that which of two clashing plugins wins never depends on install order.
        for point in sorted(entry_points(group=PROJECT), key=lambda p: (p.name, p.value)):
            if point.value.split(":")[0].split(".")[0] == BUILTIN_PACKAGE:
                continue  # metadata of an older pagelab that listed its built-ins as entry points
            dist = point.dist
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            version = dist.version if dist is not None else ""
            source = f"{dist_name} {version}".strip()
            if self.manager.get_plugin(point.name) is not None:
                self.fault(point.name, source, f"plugin name {point.name!r} is taken by {self.infos[point.name].source}")
                continue
            try:
                plugin = point.load()
            except Exception as error:  # noqa: BLE001
                self.fault(point.name, source, f"entry point {point.value} cannot be imported: {_one_line(error)}")
                continue
            self.add(plugin, PluginInfo(point.name, DISTRIBUTION, source, version))

    def local(self, paths: Iterable[str]) -> None:
        for text in paths:
            path = Path(text).expanduser().resolve()
            name = str(path)
            if not path.is_file():
                self.fault(text, text, "no such file (a local plugin is a .py file)")
                continue
            # A module name per path, so two my_strategy.py in different folders do not clash.
            digest = hashlib.sha1(name.encode()).hexdigest()[:8]
            module_name = f"pagelab_local_{path.stem}_{digest}"
            try:
                module = sys.modules.get(module_name) or _import_file(module_name, path)
            except Exception as error:  # noqa: BLE001
                self.fault(name, name, f"cannot be imported: {_one_line(error)}")
                continue
            self.add(module, PluginInfo(name, LOCAL, name, ""))


def _import_file(module_name: str, path: Path) -> object:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not a Python module: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def local_plugin_paths(extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Local plugin files: ``PAGELAB_PLUGINS`` (``os.pathsep``-separated), then ``extra``."""
    from_env = [p for p in os.environ.get(LOCAL_PLUGINS, "").split(os.pathsep) if p.strip()]
    return tuple(dict.fromkeys([*from_env, *extra]))


def make_plugin_manager(
    plugins: Iterable[object] | None = None,
    *,
    load_entrypoints: bool = True,
    local: Sequence[str] = (),
) -> pluggy.PluginManager:
    """Build a plugin manager (faults are on ``manager.pagelab_faults``).

    With ``plugins`` given, only those are registered (handy in tests). Otherwise the
    built-ins, then the ``pagelab`` entry points (unless ``load_entrypoints`` is false or
    ``PAGELAB_DISABLE_PLUGIN_AUTOLOAD`` is set), then the local plugin files ``local``.
    """
    loader = _Loader()
    if plugins is not None:
        for number, plugin in enumerate(plugins):
            name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}#{number}"
            loader.add(plugin, PluginInfo(name, LOCAL, name, ""))
    else:
        loader.builtins()
        if load_entrypoints and not os.environ.get(AUTOLOAD_OFF):
            loader.entry_points()
        loader.local(local)
    manager = loader.manager
    manager.pagelab_infos = loader.infos  # type: ignore[attr-defined]
    manager.pagelab_faults = loader.faults  # type: ignore[attr-defined]
    return manager


def _validated(specs: object, source: str) -> list[StrategySpec]:
    """The specs one plugin returned, or PagelabError naming the first thing wrong."""
    if specs is None:
        return []
    if isinstance(specs, (str, bytes, StrategySpec)) or not isinstance(specs, Iterable):
        raise PagelabError(f"pagelab_strategies must return a list of StrategySpec, got {type(specs).__name__}")
    out = list(specs)
    for spec in out:
        if not isinstance(spec, StrategySpec):
            raise PagelabError(f"pagelab_strategies returned {type(spec).__name__} {spec!r:.60}, not a StrategySpec")
        if not isinstance(spec.name, str) or not spec.name.isidentifier() or spec.name != spec.name.lower():
            raise PagelabError(f"strategy name {spec.name!r} must be a lowercase identifier")
        if not (isinstance(spec.params, type) and is_dataclass(spec.params)):
            raise PagelabError(f"params of strategy {spec.name!r} must be a dataclass type")
        if not callable(spec.factory):
            raise PagelabError(f"factory of strategy {spec.name!r} is not callable")
    return out


def load(manager: pluggy.PluginManager) -> Registry:
    """Call every plugin's ``pagelab_strategies`` hook and validate what it returns.

    Each plugin is called through pluggy's hook caller, restricted to that plugin
    (``subset_hook_caller``), so that a plugin that raises or returns the wrong type is
    named and skipped. A strategy name claimed twice is kept by the first plugin (built-ins
    first) and is a fault of the second, naming both.
    """
    infos: dict[str, PluginInfo] = dict(getattr(manager, "pagelab_infos", {}))
    faults: list[Fault] = list(getattr(manager, "pagelab_faults", []))
    found: dict[str, Registered] = {}
    # A registered plugin always has a name; get_name is None only for one that is not.
    plugins = [(name, p) for p in manager.get_plugins() if (name := manager.get_name(p)) is not None]
    order = {name: n for n, name in enumerate(infos)}
    plugins.sort(key=lambda item: order.get(item[0], len(order)))
    for name, plugin in plugins:
        info = infos.get(name) or PluginInfo(name, LOCAL, name, "")
        label = name if name == info.source else f"{name} ({info.source})"
        others = [p for _, p in plugins if p is not plugin]
        try:
            caller = manager.subset_hook_caller("pagelab_strategies", remove_plugins=others)
            specs = [spec for result in caller() for spec in _validated(result, info.source)]
        except Exception as error:  # noqa: BLE001 - a plugin's bug must not stop the others
            faults.append(Fault(name, f"plugin {label}: {error if isinstance(error, PagelabError) else _one_line(error)}"))
            infos.pop(name, None)
            continue
        names = []
        for spec in specs:
            if spec.name in found:
                faults.append(Fault(name, f"plugin {label}: strategy {spec.name!r} is registered twice: "
                                          f"by {found[spec.name].source} and by {info.source}; kept the first"))
                continue
            found[spec.name] = Registered(spec, info.source, name)
            names.append(spec.name)
        infos[name] = PluginInfo(info.name, info.kind, info.source, info.version, info.hooks, tuple(sorted(names)))
    return Registry(dict(sorted(found.items())), list(infos.values()), faults)


def collect_strategies(manager: pluggy.PluginManager) -> dict[str, Registered]:
    """The strategies of ``manager``'s plugins, sorted by name (faults skipped silently)."""
    return load(manager).strategies


_extra_local: list[str] = []


def add_local_plugins(paths: Sequence[str]) -> None:
    """Load the local plugin files ``paths`` too (the ``plugins=[...]`` config key).

    Also exported to ``PAGELAB_PLUGINS``, so that sweep workers started later load them.
    Clears the cached registry when it adds a path.
    """
    new = [str(Path(p).expanduser().resolve()) for p in paths]
    new = [p for p in new if p not in local_plugin_paths(_extra_local)]
    if not new:
        return
    _extra_local.extend(new)
    os.environ[LOCAL_PLUGINS] = os.pathsep.join(local_plugin_paths(new))
    registry.cache_clear()
    installed_strategies.cache_clear()


@cache
def registry() -> Registry:
    """Every installed plugin, loaded once per process; faults are warned about once on stderr."""
    found = load(make_plugin_manager(local=local_plugin_paths(_extra_local)))
    if not os.environ.get(_WARNED):
        for fault in found.faults:
            print(f"pagelab: warning: {fault.message}; skipped", file=sys.stderr)
        if found.faults:
            os.environ[_WARNED] = "1"  # a sweep's worker processes inherit it and stay quiet
    return found


@cache
def installed_strategies() -> dict[str, Registered]:
    """The strategies of all installed plugins (cached for the process)."""
    return registry().strategies


def unknown_strategy_message(name: str, presets: Iterable[str] = ()) -> str:
    """One line for ``strategy=NAME`` that names no strategy: the broken plugin, or what exists."""
    found = registry()
    fault = found.fault_for(name)
    if fault is not None:
        return f"strategy {name!r} is not available: {fault.message}"
    names = ", ".join(sorted({*found.strategies, *presets}))
    broken = f"; skipped plugin(s): {', '.join(f.plugin for f in found.faults)}" if found.faults else ""
    return (f"unknown strategy {name!r}; installed: {names}{broken}. A plugin whose entry point was "
            "just added needs `pip install` again (its metadata lists the entry point)")
