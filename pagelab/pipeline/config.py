"""Hydra configuration: the workload schema and one config node per strategy.

Each strategy's params dataclass is stored as ``strategy/<name>``, so ``strategy=<name>``
works for every installed plugin and a misspelt parameter fails at compose time. A field
typed :class:`pagelab.plugin.Size` is a text field in the node (``8K``, ``2M``) and reaches
the strategy as bytes. The top-level ``plugins`` key (a list of ``.py`` files) is read from
the overrides before composition, since it decides which strategies exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Optional, Union, get_args, get_origin, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from pagelab.errors import PagelabError
from pagelab.plugin import Size, format_size
from pagelab.strategies.registry import (
    add_local_plugins,
    installed_strategies,
    unknown_strategy_message,
)

PLUGINS_KEY = "plugins"  # conf/config.yaml: local plugin files, a list of paths


@dataclass
class FilesConfig:
    """Page cache: files drawn from a ``files`` dataset."""

    dataset: Optional[str] = None  # catalog name or path; null: no page cache
    # RAM the page cache may take (a size or a percentage of installed memory): files are
    # cached in draw order while the strategy's allocation of the next one still fits.
    # "all": every file of the dataset, whatever it takes (the footprint view).
    cache: str = "50%"


@dataclass
class AnonConfig:
    """Anonymous memory of processes: mappings from a ``mappings`` dataset, or of one size."""

    total: str = "0"  # a size or a percentage of installed memory
    mapping_size: str = "2M"  # used when there is no dataset
    # catalog name or path of a mappings dataset: resident anonymous mappings drawn until
    # their RSS reaches total, each a request of its RSS (docs/datasets.md); null: mapping_size
    dataset: Optional[str] = None


@dataclass
class GuestsConfig:
    """Virtual machines drawn from a ``vms`` dataset and packed onto the nodes."""

    dataset: Optional[str] = None  # null: no guests
    vmm_fixed: str = "218M"  # per-guest host memory besides page tables (KubeVirt)
    vmm_per_vcpu: str = "8M"
    # first_fit: each guest on the first node with room, going on past guests that fit
    # nowhere; best_fit: on the node it leaves with the least room; stop_at_first_misfit.
    policy: str = "first_fit"
    # Guests offered: drawn until their memory adds up to this many times the installed
    # memory, enough to fill every pool (the same sequence for every strategy and policy).
    candidates: float = 4.0


@dataclass
class FleetConfig:
    """A fleet of identical hosts over time (workload=fleet, docs/fleet.md); hosts=0: one host."""

    hosts: int = 0  # H; 0: not a fleet run
    hours: int = 720  # T: hours simulated from the stream's first hour
    # vm_timeseries dataset: replay its VMs (arrival, departure, hourly usage); vms dataset:
    # a synthetic stream of that mix (Poisson arrivals, lognormal lifetimes).
    dataset: str = "bitbrains_rnd_2013_hourly"
    month: Optional[str] = None  # trace: one month of it (2013-7, 2013-8, 2013-9); null: all
    policy: str = "first_fit"  # first_fit, best_fit or most_free (the host with the most room)
    overcommit_ratio: float = 1.0  # guest memory sold per byte of room; managed strategies only
    # Synthetic stream. Arrival rate: vms over the hours if vms > 0, else the rate at which
    # provisioned memory in use reaches `load` times the fleet's installed memory (Little's law).
    vms: int = 0
    load: float = 1.0
    lifetime_mean_hours: float = 168.0  # lognormal lifetime: its mean, and sigma of its log
    lifetime_sigma: float = 1.0
    usage_dataset: str = "bitbrains_rnd_2013_hourly"  # per-VM usage/provisioned, by hour of day
    usage_month: str = "2013-7"
    search: bool = True  # find hosts_needed (the smallest fleet with no rejection)


@dataclass
class WorkloadConfig:
    """A machine and what runs on it. Sizes use the kernel's syntax: 4K, 128M, 16G."""

    name: str = MISSING
    installed: str = MISSING  # a size, or "auto": just large enough for the files at 4 KiB
    nodes: int = 1  # installed memory is split evenly over the nodes, unless node_sizes is set
    node_sizes: Optional[list[str]] = None  # one size per node, for uneven nodes
    memory_only_nodes: list[int] = field(default_factory=list)  # nodes without CPUs (a CXL expander)
    memory_model: str = "sparsemem_vmemmap"
    section_size: str = "128M"
    reserve: str = "0"  # per node with CPUs: host kernel and daemons
    # Part of node 0's reserve that memblock has taken before dmem= runs (kernel image,
    # initrd, firmware tables): on our CI VM, dmesg's "Memory: ... 497048K reserved" less the
    # 393216K memmap of its 192 sections (docs/models.md; `pagelab measure memmap` reads it).
    boot_reserved: str = "101M"
    thp: str = "madvise"  # /sys/kernel/mm/transparent_hugepage/enabled: never, madvise or always
    dmem: str = "0"  # the dmem= a provider would boot this machine with (dmemfs default)
    files: FilesConfig = field(default_factory=FilesConfig)
    anon: AnonConfig = field(default_factory=AnonConfig)
    guests: GuestsConfig = field(default_factory=GuestsConfig)
    fleet: Optional[FleetConfig] = None  # null: one host (every workload but fleet)


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
        if not all(isinstance(v, str) for v in values):
            raise PagelabError(f"{PLUGINS_KEY}: expected a list of .py files, got {override.input_line}")
        paths.extend(values)
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


def register_configs(overrides: Sequence[str] | None = None) -> None:
    """Store the workload schema and every installed strategy in Hydra's ConfigStore.

    With ``overrides`` (the command line), first load the local plugins its ``plugins=``
    names, and check that every ``strategy=`` names an installed strategy (PagelabError,
    one line, otherwise). Idempotent: storing the same node twice replaces it.
    """
    if overrides is not None:
        add_local_plugins(local_plugins_in(overrides))
    store = ConfigStore.instance()
    store.store(group="schema", name="workload", node=WorkloadConfig)
    for name, registered in installed_strategies().items():
        store.store(group="strategy", name=name, node=strategy_node(name, registered.spec.params))
    if overrides is not None:
        check_strategy_overrides(overrides)


def strategy_params(cfg: DictConfig) -> Any:
    """Instantiate the selected strategy's params dataclass from the composed config.

    ``Size`` fields are parsed here (``8K`` -> 8192), naming ``strategy.<field>`` on error.
    """
    name = cfg.strategy.name
    if name not in installed_strategies():
        raise PagelabError(unknown_strategy_message(name, _strategy_presets()))
    registered = installed_strategies()[name]
    values = OmegaConf.to_container(cfg.strategy, resolve=True)
    values.pop("name")
    for key, optional in size_fields(registered.spec.params).items():
        if key in values and not (optional and values[key] is None):
            values[key] = Size(values[key], f"strategy.{key}")
    return registered.spec.params(**values)


def flatten(prefix: str, node: DictConfig) -> dict[str, Any]:
    """Flatten a config node into ``prefix.key.subkey`` columns (resolved values)."""
    out: dict[str, Any] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key in value:
                walk(f"{path}.{key}", value[key])
        elif isinstance(value, list):  # one text column, as typed: 160G,160G,128G
            out[path] = ",".join(str(v) for v in value)
        else:
            out[path] = value

    walk(prefix, OmegaConf.to_container(node, resolve=True))
    return out
