"""The ``status.json`` record of one job: its state, error, timing and config hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pagelab.errors import PagelabError
from pagelab.outputs import STATUS

# running: started and not finished (or killed); done: results written; failed: see error;
# interrupted: stopped by Ctrl-C (SIGINT) or SIGTERM, to be run again on resume.
STATES = ("running", "done", "failed", "interrupted")


def config_hash(cfg: DictConfig) -> str:
    """SHA-256 (first 16 hex digits) of the resolved job config.

    ``cfg`` is the job's config as the task gets it: Hydra's own node (output paths,
    launcher, timestamps) is not part of it, so a job keeps its hash across re-runs.
    """
    # Resolve node by node, skipping ``hydra``: its values may not be resolvable yet.
    container = {
        key: OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
        for key in cfg
        if key != "hydra"
    }
    text = json.dumps(container, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def utc_now() -> str:
    """The current time as ISO 8601 UTC with microseconds (sortable as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def one_line(error: BaseException) -> str:
    """An exception as one line: the message of a PagelabError, else ``Type: message``."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(error, PagelabError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True)
class Status:
    """What ``status.json`` holds for one job."""

    state: str
    config_hash: str
    started: str
    finished: str | None = None
    duration_s: float | None = None
    error: str | None = None
    job: int | None = None  # Hydra's job number in a sweep; None for a single run
    overrides: tuple[str, ...] = ()
    pid: int = dataclasses.field(default_factory=os.getpid)
    host: str = dataclasses.field(default_factory=socket.gethostname)
    pagelab_version: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON values."""
        record = dataclasses.asdict(self)
        record["overrides"] = list(self.overrides)
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Status:
        """Parse a record; unknown keys are ignored so that newer files still read."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in names}
        values["overrides"] = tuple(values.get("overrides") or ())
        status = cls(**values)
        if status.state not in STATES:
            raise ValueError(f"unknown state {status.state!r}")
        return status


def write_status(directory: Path, status: Status) -> None:
    """Write ``directory/status.json`` atomically."""
    from pagelab.atomic import (
        atomic_write_json,  # it loads polars, which a status alone does not need
    )

    atomic_write_json(status.to_json(), Path(directory) / STATUS)


def read_status(directory: Path) -> Status | None:
    """The job's record, or None when it has none.

    Raises :class:`PagelabError` naming the file when it is not a valid record.
    """
    path = Path(directory) / STATUS
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return Status.from_json(json.loads(text))
    except (ValueError, TypeError, AttributeError) as error:
        raise PagelabError(f"{path}: not a pagelab status record ({error})") from None
