"""Refuse to mix runs: a sweep directory holds one sweep, a run directory one config.

Both checks run before Hydra writes anything into the directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pagelab.errors import PagelabError
from pagelab.outputs import MULTIRUN_YAML
from pagelab.pipeline.job import Job


def _identity(config: DictConfig) -> dict[str, Any]:
    """What makes two sweeps the same: the command line's task overrides and the grid."""
    params = OmegaConf.select(config, "hydra.sweeper.params")
    return {
        "overrides": list(OmegaConf.select(config, "hydra.overrides.task") or []),
        "params": OmegaConf.to_container(params, resolve=False) if params is not None else None,
    }


def check_sweep_dir(config: DictConfig) -> None:
    """Raise :class:`PagelabError` if ``hydra.sweep.dir`` holds a different sweep.

    Re-running the same sweep there resumes it; changing its grid would mix job
    numbers of two sweeps, so a new directory is needed instead.
    """
    directory = Path(config.hydra.sweep.dir)
    saved = directory / MULTIRUN_YAML
    if not saved.exists():
        return
    try:
        earlier = _identity(OmegaConf.load(saved))  # type: ignore[arg-type]
    except Exception as error:  # omegaconf and yaml raise many types
        raise PagelabError(f"{saved}: not a readable Hydra multirun config ({error})") from None
    if earlier != _identity(config):
        typed = " ".join(earlier["overrides"]) or "no overrides"
        raise PagelabError(
            f"hydra.sweep.dir={directory} holds another sweep ({typed}); re-run that sweep to resume it, "
            "or choose a new hydra.sweep.dir"
        )


def check_run_dir(config: DictConfig) -> None:
    """Raise :class:`PagelabError` if ``hydra.run.dir`` holds another config's results."""
    Job(Path(config.hydra.run.dir), config).make_room(in_sweep=False)
