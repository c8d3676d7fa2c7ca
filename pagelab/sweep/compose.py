"""Every job's config of a sweep from one Hydra composition per distinct set of config-group choices.

Hydra composes each job from scratch (``ConfigLoader.load_sweep_config``): it builds the
defaults list from the job's config-group overrides (``strategy=dmemfs``,
``+experiment=...``), merges the configs it names, then applies the job's value
overrides (``seed=3``, ``workload.dmem='!8G'``) and records the overrides under
``hydra``. Jobs that choose the same config groups differ only in the last two steps.
:class:`BatchComposer` runs the first two through Hydra once per distinct choice (a
*base*) and does the rest per job on a copy, with Hydra's own override parser and
``_apply_overrides_to_config``, so that each job's config equals Hydra's
(``tests/test_batch_compose.py`` checks every job of every preset).

Which overrides are config-group overrides is Hydra's decision (``Overrides`` of its
defaults list, against the sweep's config repository). A job with a Hydra override of
its own (``hydra.*``, rare in a sweep's axes) is composed whole. Copies are cloudpickle
round trips of the base: four times cheaper than ``copy.deepcopy`` for Hydra's large
node, and the dataclasses that back the strategy configs travel to worker processes.
"""

from __future__ import annotations

import copy
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import cloudpickle
from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra._internal.config_repository import IConfigRepository
from hydra._internal.defaults_list import Overrides
from hydra.core.config_loader import ConfigLoader
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write


@dataclass(frozen=True)
class Base:
    """A config Hydra composed for a set of jobs, before their value overrides.

    ``overrides`` are what it was composed with besides the sweep's Hydra overrides;
    ``config`` is the whole composed config and ``task`` its part without ``hydra`` (what
    the task function gets), both pickled.
    """

    index: int
    overrides: tuple[str, ...]
    config: bytes
    task: bytes
    naming: tuple[tuple[str, ...], str, str]  # hydra.job.config.override_dirname: exclude_keys, item_sep, kv_sep
    digest: str  # of ``config``: names the base across sweeps (a worker may outlive one)


@dataclass(frozen=True)
class JobPlan:
    """What turns a base into one job's config: everything Hydra would set differently."""

    num: int  # hydra.job.num
    base: int  # Base.index
    values: tuple[str, ...]  # value overrides, applied in this order
    task: tuple[str, ...]  # hydra.overrides.task
    hydra: tuple[str, ...]  # hydra.overrides.hydra
    dirname: str  # hydra.job.override_dirname


@lru_cache(maxsize=4096)
def _parse(line: str) -> Override:
    """One override parsed by Hydra's parser (cached: a sweep repeats few distinct ones)."""
    [override] = OverridesParser.create().parse_overrides([line])
    return override


def _line(override: Override) -> str:
    """The override as typed (every override parsed from a line has it)."""
    assert override.input_line is not None
    return override.input_line


def _apply(cfg: DictConfig, values: Sequence[str]) -> None:
    if values:
        ConfigLoaderImpl._apply_overrides_to_config([_parse(v) for v in values], cfg)


def job_config(base: Base, plan: JobPlan, cache: dict[str, Any], reuse: DictConfig | None = None) -> DictConfig:
    """The job's whole config, as ``load_sweep_config`` composes it (before the launcher's fields).

    ``cache`` is the sweep config's resolver cache, which Hydra copies into every job so
    that ``${now:...}`` means the same time in all of them. ``reuse``: an earlier job's
    config of the same base whose value overrides set the same keys (:func:`reuse_key`),
    rewritten in place instead of copied.
    """
    if reuse is None:
        cfg = cloudpickle.loads(base.config)
    else:
        cfg = reuse
        OmegaConf.set_readonly(cfg.hydra, False)  # as composed: a launcher made it read-only for its job
    OmegaConf.set_cache(cfg, cache)
    _apply(cfg, plan.values)
    hydra = cfg.hydra
    hydra.overrides.task = list(plan.task)
    if reuse is None or list(hydra.overrides.hydra) != list(plan.hydra):
        hydra.overrides.hydra = list(plan.hydra)
    hydra.job.override_dirname = plan.dirname
    return cfg


def reuse_key(base: Base, plan: JobPlan) -> tuple[object, ...] | None:
    """Jobs with equal keys may rewrite one config in place; None: this job needs a fresh copy.

    Two jobs of one base whose value overrides are plain assignments (``key=value``, not a
    dict, which would merge) to the same keys, in the same order, leave nothing of each
    other behind: every value the first set, the second sets again.
    """
    parsed = [_parse(v) for v in plan.values]
    if any(o.type != OverrideType.CHANGE or isinstance(o.value(), dict) for o in parsed):
        return None
    return (base.digest, plan.hydra, *(o.key_or_group for o in parsed))


def task_config(base: Base, plan: JobPlan, cache: dict[str, Any]) -> DictConfig:
    """The job's config without ``hydra``: what Hydra's ``run_job`` hands the task function."""
    cfg = cloudpickle.loads(base.task)
    OmegaConf.set_cache(cfg, cache)
    _apply(cfg, plan.values)
    return cfg


def set_job_number(cfg: DictConfig, num: int) -> None:
    """Set ``hydra.job.num`` and ``hydra.job.id`` as the joblib launcher does (id ``<job name>_<num>``)."""
    with open_dict(cfg):
        cfg.hydra.job.id = f"{cfg.hydra.job.name}_{num}"
        cfg.hydra.job.num = num


def _references(root: DictConfig) -> list[int]:
    """The reference count of every node of ``root``, in a fixed order (CPython's counts).

    Two walks of the same tree, made while the same references to its root are held, give
    equal lists unless something else came to hold (or let go of) one of its nodes.
    """
    counts, stack = [], [root]
    while stack:
        node = stack.pop()
        counts.append(sys.getrefcount(node))
        content = node.__dict__.get("_content")
        if isinstance(content, dict):
            stack.extend(content.values())
        elif isinstance(content, list):
            stack.extend(content)
    return counts


# Hydra's default hydra.sweep.subdir: the job number, which needs no interpolation parser.
_JOB_NUM = "${hydra.job.num}"


def set_output_dir(cfg: DictConfig) -> str:
    """Set ``hydra.runtime.output_dir`` as ``run_job`` does (``sweep.dir/sweep.subdir``, absolute); return it.

    ``HydraConfig`` must hold this job's config already: the subdir may read it (``${hydra:job.num}``).
    A literal sweep dir and the default subdir are read as they are: resolving them would
    give the same strings, through OmegaConf's interpolation parser, once per job.
    """
    raw = cast(dict[str, Any], OmegaConf.to_container(cfg.hydra.sweep, resolve=False))  # a DictConfig's: a dict
    directory = raw["dir"] if isinstance(raw["dir"], str) and "${" not in raw["dir"] else str(cfg.hydra.sweep.dir)
    subdir = str(cfg.hydra.job.num) if raw["subdir"] == _JOB_NUM else str(cfg.hydra.sweep.subdir)
    output_dir = os.path.abspath(os.path.join(directory, subdir))
    with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
        cfg.hydra.runtime.output_dir = output_dir
    return output_dir


class BatchComposer:
    """Plans and composes the jobs of one sweep (``master``: the sweep's multirun config)."""

    def __init__(self, loader: ConfigLoader, master: DictConfig) -> None:
        self.loader = loader
        self.master = master
        self.config_name = master.hydra.job.config_name
        self.hydra_overrides = tuple(cast(list[str], OmegaConf.to_container(master.hydra.overrides.hydra)))
        self.bases: dict[tuple[str, ...], Base] = {}
        self._by_index: list[Base] = []
        self._value: dict[str, bool] = {}
        self._repo: IConfigRepository | None = None
        self._spare: dict[tuple[object, ...], DictConfig] = {}
        self._spare_counts: dict[tuple[object, ...], list[int]] = {}

    def _is_value(self, override: Override) -> bool:
        """True when Hydra applies ``override`` to the composed config (not to the defaults list)."""
        line = _line(override)
        if line not in self._value:
            if self._repo is None:  # the repository as Hydra builds it (hydra.searchpath included; 1.3 API)
                _, self._repo = self.loader._parse_overrides_and_create_caching_repo(  # type: ignore[attr-defined]
                    self.config_name, list(self.hydra_overrides)
                )
            assert self._repo is not None
            self._value[line] = bool(Overrides(self._repo, [override]).config_overrides)
        return self._value[line]

    def _base(self, overrides: tuple[str, ...]) -> Base:
        if overrides not in self.bases:
            cfg = self.loader.load_configuration(
                config_name=self.config_name, overrides=[*self.hydra_overrides, *overrides], run_mode=RunMode.RUN
            )
            task = copy.deepcopy(cfg)  # as run_job makes the task's config
            with read_write(task), open_dict(task):
                del task["hydra"]
            naming = cfg.hydra.job.config.override_dirname
            blob = cloudpickle.dumps(cfg)
            base = Base(
                len(self.bases), overrides, blob, cloudpickle.dumps(task),
                (tuple(naming.exclude_keys), naming.item_sep, naming.kv_sep), hashlib.sha256(blob).hexdigest(),
            )
            self.bases[overrides] = base
            self._by_index.append(base)
        return self.bases[overrides]

    def plan(self, overrides: Sequence[str], num: int) -> JobPlan:
        """Split a job's overrides into its base's and its own; compose the base if it is new."""
        parsed = [_parse(line) for line in overrides]
        if any(o.is_hydra_override() for o in parsed):
            composed, values = tuple(overrides), []
        else:
            values = [o for o in parsed if self._is_value(o)]
            composed = tuple(_line(o) for o in parsed if not self._is_value(o))
        base = self._base(composed)
        app = [o for o in parsed if not o.is_hydra_override()]
        exclude_keys, item_sep, kv_sep = base.naming
        return JobPlan(
            num=num,
            base=base.index,
            values=tuple(_line(o) for o in values),
            task=tuple(_line(o) for o in app),
            hydra=(*self.hydra_overrides, *(_line(o) for o in parsed if o.is_hydra_override())),
            dirname=get_overrides_dirname(overrides=app, exclude_keys=list(exclude_keys), item_sep=item_sep, kv_sep=kv_sep),
        )

    def base(self, index: int) -> Base:
        """The base with this index."""
        return self._by_index[index]

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        """The job's config, equal to ``load_sweep_config(master, overrides)``.

        A config this returned earlier for a job of the same kind (:func:`reuse_key`) is
        rewritten in place when nothing outside it refers to it or to any of its nodes
        any more (their reference counts are what they were when it was returned): the
        sweeper's validation pass drops each config at once, and then needs no copy.
        Anything still held elsewhere is never touched; the job gets a new copy.
        """
        plan = self.plan(overrides, num=0)
        base = self.base(plan.base)
        key = reuse_key(base, plan)
        if key is None:
            return job_config(base, plan, self.cache())
        spare = self._spare.get(key)
        if spare is not None and _references(spare) != self._spare_counts[key]:
            spare = None  # someone kept it (or a part of it)
        spare = job_config(base, plan, self.cache(), reuse=spare)
        self._spare[key] = spare
        self._spare_counts[key] = _references(spare)  # as at the check above: held by _spare and `spare`
        return spare

    def cache(self) -> dict[str, Any]:
        """The sweep config's resolver cache now (``${now:}`` values resolved so far)."""
        return OmegaConf.get_cache(self.master)
