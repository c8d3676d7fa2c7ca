"""Overrides in, a composed config out: the one place that sets Hydra up on pagelab's configs.

:func:`compose` is what the notebook API, tests and benchmarks call: the typed
:class:`~pagelab.pipeline.config.RunConfig` for a run with these overrides.
:func:`compose_config` is Hydra's ``DictConfig`` (with the ``hydra`` node if asked), and
:func:`hydra_session` the set-up both run in, for callers that need Hydra's config loader
itself (a sweep's composition, a group's options). The command line's Hydra app composes
through ``@hydra.main`` instead and turns its ``DictConfig`` into a ``RunConfig`` in
:func:`pagelab.pipeline.job.run_job`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from pagelab.errors import PagelabError
from pagelab.pipeline.config import RunConfig, register_configs
from pagelab.pipeline.overrides import hydra_error_line, prepare
from pagelab.pipeline.resolvers import register_resolvers

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from omegaconf import DictConfig

CONFIG_MODULE = "pagelab.conf"
CONFIG_NAME = "config"


@contextmanager
def hydra_session(overrides: Sequence[str] | None = None) -> Iterator[ConfigLoader]:
    """Hydra set up on pagelab's configs for the ``with`` block; yields its config loader.

    Every installed strategy is stored in the ConfigStore and pagelab's resolvers are
    registered; ``overrides`` (the command line's) first load the local plugins a
    ``plugins=`` names and have their ``strategy=`` names checked
    (:func:`~pagelab.pipeline.config.register_configs`). Inside a session already set up
    (an outer ``hydra_session``, or Hydra's app at a sweep's end) that one is used.
    """
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    register_configs(overrides)
    if GlobalHydra.instance().is_initialized():
        yield GlobalHydra.instance().config_loader()
        return
    with initialize_config_module(version_base="1.3", config_module=CONFIG_MODULE):
        yield GlobalHydra.instance().config_loader()


def compose_config(overrides: Sequence[str] = (), *, with_hydra: bool = False) -> DictConfig:
    """Hydra's composition of pagelab's config for ``overrides``, typed as on the command line.

    The overrides pass :func:`~pagelab.pipeline.overrides.prepare` first (``dmem=!16G`` needs
    no quotes, ``+key=`` must name a defined key), so they are accepted and refused as the
    command line accepts and refuses them. ``with_hydra`` keeps the ``hydra`` node (a
    preset's sweep is there). Raises :class:`PagelabError`, one line, on bad input.
    """
    from hydra import compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    typed = prepare(list(overrides))
    try:
        with hydra_session(typed):
            return compose(config_name=CONFIG_NAME, overrides=typed, return_hydra_config=with_hydra)
    except (HydraException, OmegaConfBaseException) as error:
        raise PagelabError(hydra_error_line(error)) from None


def compose_task(loader: ConfigLoader, overrides: Sequence[str]) -> DictConfig:
    """The task's part of Hydra's composition for ``overrides``: its config without ``hydra``.

    Hydra merges its own configs first (logging, launcher, sweeper, help): three quarters
    of the 80 ms a composition takes, and nothing the task's part depends on. This runs
    Hydra's own steps on the task's defaults list alone (compose, struct mode, the value
    overrides) and drops the primary config's ``hydra`` section; tests/test_batch_compose.py
    checks it equal to Hydra's composition less ``hydra`` for every shipped strategy and
    workload. For config-group choices and task values only: an override of ``hydra`` or a
    preset that overrides a Hydra group needs the whole composition. ``loader`` is a
    :func:`hydra_session`'s.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.defaults_list import create_defaults_list
    from omegaconf import OmegaConf, open_dict

    impl = cast(ConfigLoaderImpl, loader)
    parsed, repo = impl._parse_overrides_and_create_caching_repo(CONFIG_NAME, list(overrides))
    defaults = create_defaults_list(repo=repo, config_name=CONFIG_NAME, overrides_list=parsed,
                                    prepend_hydra=False, skip_missing=False)
    cfg = impl._compose_config_from_defaults_list(defaults=defaults.defaults, repo=repo)
    OmegaConf.set_struct(cfg, True)  # as Hydra, before the value overrides: they may not add keys
    ConfigLoaderImpl._apply_overrides_to_config(defaults.config_overrides, cfg)
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def compose(overrides: Sequence[str] = ()) -> RunConfig:
    """The typed config of a run with ``overrides`` (as :func:`compose_config` takes them)."""
    return RunConfig.of(compose_config(overrides))
