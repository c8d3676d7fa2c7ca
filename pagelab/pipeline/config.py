"""Hydra configuration: the workload schema and one config node per strategy, and a run's typed config.

The workload schema is :mod:`pagelab.workloads.config`'s dataclasses. Each strategy's params dataclass is stored as ``strategy/<name>``, so ``strategy=<name>``
works for every installed plugin and a misspelt parameter fails at compose time. A field
typed :class:`pagelab.plugin.Size` is a text field in the node (``8K``, ``2M``) and reaches
the strategy as bytes. The top-level ``plugins`` key (a list of ``.py`` files) is read from
the overrides before composition, since it decides which strategies exist. A composed
config reaches everything below the app as a :class:`RunConfig` (no OmegaConf).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Optional, Union, cast, get_args, get_origin, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from pagelab.errors import PagelabError
from pagelab.pipeline.overrides import check_seed
from pagelab.plugin import Size, format_size
from pagelab.strategies.registry import (
    add_local_plugins,
    installed_strategies,
    unknown_strategy_message,
)
from pagelab.workloads.config import WorkloadConfig, workload_config

PLUGINS_KEY = "plugins"  # conf/config.yaml: local plugin files, a list of paths


def size_fields(params: type) -> dict[str, bool]:
    """The fields of a params dataclass typed ``Size`` or ``Optional[Size]``: name -> optional."""
    try:
        hints = get_type_hints(params)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is no Size
        hints = {}
    out: dict[str, bool] = {}
    for item in dataclasses.fields(params):
        hint = hints.get(item.name, item.type)
        if isinstance(hint, str):  # an annotation get_type_hints could not resolve: read its text
            text = hint.replace(" ", "").replace("pagelab.plugin.", "")
            if text == "Size":
                out[item.name] = False
            elif text in ("Optional[Size]", "Size|None", "None|Size"):
                out[item.name] = True
        elif hint is Size:
            out[item.name] = False
        elif get_origin(hint) in (Union, UnionType) and Size in get_args(hint) and type(None) in get_args(hint):
            out[item.name] = True
    return out


def field_default(item: dataclasses.Field) -> Any:
    """A dataclass field's default (a factory is called); ``dataclasses.MISSING`` if it has none."""
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return dataclasses.MISSING


def _node_default(item: dataclasses.Field) -> Any:
    """A Size field's default as the node's text (8192 -> "8K")."""
    value = field_default(item)
    if value is dataclasses.MISSING:
        return MISSING
    return format_size(value) if isinstance(value, int) and not isinstance(value, bool) else value


def strategy_node(name: str, params: type) -> type:
    """The params dataclass as Hydra's node: a ``name`` field fixed to the strategy's name
    added, and every ``Size`` field turned into text so that ``8K`` composes."""
    sizes = size_fields(params)
    fields: list[tuple[str, Any, Any]] = [("name", str, field(default=name))]
    for item in dataclasses.fields(params):
        if item.name in sizes:
            kind = Optional[str] if sizes[item.name] else str
            fields.append((item.name, kind, field(default=_node_default(item))))
    return dataclasses.make_dataclass(f"{params.__name__}Node", fields, bases=(params,))


def local_plugins_in(overrides: Sequence[str]) -> list[str]:
    """The paths of a ``plugins=[a.py,b.py]`` (or ``+plugins=``, ``plugins=a.py``) override."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])
    except Exception:  # noqa: BLE001 - Hydra reports a malformed override itself
        return []
    paths: list[str] = []
    for override in parsed:
        if override.key_or_group != PLUGINS_KEY or override.is_delete():
            continue
        value = override.value()
        values = value if isinstance(value, list) else [value]
        files = [v for v in values if isinstance(v, str)]
        if len(files) != len(values):
            raise PagelabError(f"{PLUGINS_KEY}: expected a list of .py files, got {override.input_line}")
        paths.extend(files)
    return paths


def _strategy_presets() -> set[str]:
    """The YAML presets of the strategy group (conf/strategy/*.yaml): dmemfs_1g, page2m, ..."""
    from importlib.resources import files

    folder = files("pagelab.conf").joinpath("strategy")
    return {entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def check_strategy_overrides(overrides: Sequence[str]) -> None:
    """Raise PagelabError (one line) for ``strategy=NAME`` naming no installed strategy or preset.

    Sweeps (``strategy=a,b``) are checked name by name; ``glob(...)`` is left to Hydra.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep

    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("-")])
    except Exception:  # noqa: BLE001
        return
    known = {*installed_strategies(), *_strategy_presets()}
    for override in parsed:
        if override.key_or_group != "strategy" or override.is_delete():
            continue
        value = override.value()
        if isinstance(value, ChoiceSweep):
            names = [str(v) for v in value.list]
        elif isinstance(value, str):
            names = [value]
        else:
            continue
        for name in names:
            if name not in known:
                raise PagelabError(unknown_strategy_message(name, _strategy_presets()))


_stored: tuple[tuple[str, type], ...] = ()  # the strategies register_configs stored last


def stored_strategies() -> tuple[tuple[str, type], ...]:
    """The (name, params class) of every strategy :func:`register_configs` stored last."""
    return _stored


def register_configs(overrides: Sequence[str] | None = None) -> None:
    """Store the workload schema and every installed strategy in Hydra's ConfigStore.

    With ``overrides`` (the command line), first load the local plugins its ``plugins=``
    names, and check that every ``strategy=`` names an installed strategy (PagelabError,
    one line, otherwise). Idempotent; the nodes are stored again only when the installed
    strategies changed (a plugin added): each store costs milliseconds, and every composition calls this.
    """
    if overrides is not None:
        add_local_plugins(local_plugins_in(overrides))
    global _stored
    installed = tuple((name, registered.spec.params) for name, registered in installed_strategies().items())
    if installed != _stored:
        store = ConfigStore.instance()
        store.store(group="schema", name="workload", node=WorkloadConfig)
        for name, params in installed:
            store.store(group="strategy", name=name, node=strategy_node(name, params))
        _stored = installed
    if overrides is not None:
        check_strategy_overrides(overrides)


def strategy_params(values: Mapping[str, Any]) -> Any:
    """The selected strategy's params dataclass from the composed ``strategy`` node's values.

    ``Size`` fields are parsed here (``8K`` -> 8192), naming ``strategy.<field>`` on error. A key
    that is no parameter of the strategy (``+strategy.x=1``, which ``PAGELAB_ALLOW_EXTRA_KEYS=1``
    lets through composition) is refused: a strategy's parameters are its dataclass's fields.
    """
    name = values["name"]
    if name not in installed_strategies():
        raise PagelabError(unknown_strategy_message(name, _strategy_presets()))
    params = installed_strategies()[name].spec.params
    known = [item.name for item in dataclasses.fields(params)]
    given = {key: value for key, value in values.items() if key != "name"}
    extra = [key for key in given if key not in known]
    if extra:
        raise PagelabError(f"strategy.{extra[0]}: strategy {name} has no parameter {extra[0]!r} "
                           f"(its parameters: {', '.join(known) or 'none'})")
    for key, optional in size_fields(params).items():
        if key in given and not (optional and given[key] is None):
            given[key] = Size(given[key], f"strategy.{key}")
    return params(**given)


def node_values(node: DictConfig) -> dict[str, Any]:
    """A composed config node's values, resolved, as plain dicts and lists."""
    values = OmegaConf.to_container(node, resolve=True)
    assert isinstance(values, dict), node  # a DictConfig's container is a dict
    return cast(dict[str, Any], values)


def flatten(prefix: str, node: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a config node (or its :func:`node_values`) into ``prefix.key.subkey`` columns."""
    out: dict[str, Any] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key in value:
                walk(f"{path}.{key}", value[key])
        elif isinstance(value, list):  # one text column, as typed: 160G,160G,128G
            out[path] = ",".join(str(v) for v in value)
        else:
            out[path] = value

    walk(prefix, node_values(node) if isinstance(node, DictConfig) else dict(node))
    return out


@dataclass(frozen=True)
class RunConfig:
    """One run's composed config, typed: what :func:`~pagelab.pipeline.simulate.simulate`,
    :mod:`pagelab.workloads` and :mod:`pagelab.fleet` read instead of Hydra's ``DictConfig``."""

    seed: int
    strategy: str  # the strategy's name (a preset's: dmemfs_1g runs as dmemfs)
    params: Any  # the strategy's params dataclass, Size fields in bytes
    workload: WorkloadConfig
    # The results row's strategy.* and workload.* columns: every value as composed (sizes as
    # typed, extra keys included), less the names, which have columns of their own.
    columns: Mapping[str, Any]

    @classmethod
    def of(cls, cfg: DictConfig) -> RunConfig:
        """The typed view of a composed config (the task's: no ``hydra`` node needed).

        Raises :class:`PagelabError` (one line) for a bad seed or strategy parameter. Reads
        each node once (``OmegaConf.to_container``): a sweep's job pays ~0.3 ms here.
        """
        strategy, workload = node_values(cfg.strategy), node_values(cfg.workload)
        columns = {**flatten("strategy", strategy), **flatten("workload", workload)}
        for key in ("strategy.name", "workload.name", "workload.fleet"):  # workload.fleet: null for one host
            columns.pop(key, None)
        return cls(seed=check_seed(cfg.seed), strategy=strategy["name"], params=strategy_params(strategy),
                   workload=workload_config(workload), columns=columns)
