"""How many jobs a multirun will launch, computed the way Hydra's basic sweeper does."""

from __future__ import annotations

from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def job_overrides(config: DictConfig) -> list[list[str]] | None:
    """Every job's overrides, in launch order; None for sweepers other than the basic one.

    Mirrors ``BasicSweeper.sweep``: the sweeper's ``params`` first, then the command
    line's task overrides (which win), expanded into their cartesian product.
    """
    if OmegaConf.select(config, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.params  # a mapping of override key to value (a DictConfig)
    pairs = cast("dict[str, Any]", OmegaConf.to_container(params, resolve=True)) if params else {}
    arguments = [f"{key}={value}" for key, value in pairs.items()]
    arguments += list(config.hydra.overrides.task)
    # glob() choices need the config loader; it exists while Hydra runs the sweep.
    loader = GlobalHydra.instance().config_loader() if GlobalHydra.instance().is_initialized() else None
    overrides = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    [jobs] = BasicSweeper.split_arguments(overrides, None)
    return jobs
