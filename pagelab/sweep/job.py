"""One job's life cycle on disk: skip it if done, record it, never overwrite other results."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from omegaconf import DictConfig

from pagelab import __version__
from pagelab.errors import PagelabError
from pagelab.sweep import RESULTS, STATUS, SUPERSEDED
from pagelab.sweep.status import Status, config_hash, one_line, read_status, utc_now, write_status

T = TypeVar("T")


class Job:
    """A job's output directory and the ``status.json`` record of its run."""

    def __init__(self, directory: Path, cfg: DictConfig, *, job: int | None = None, overrides: list[str] | None = None):
        self.directory = Path(directory)
        self.config_hash = config_hash(cfg)
        self.job = job
        self.overrides = tuple(overrides or ())

    def _previous(self) -> Status | None:
        try:
            return read_status(self.directory)
        except PagelabError:
            return None  # an unreadable record proves nothing: treat the results as unknown

    def is_done(self) -> bool:
        """True when this very config finished here earlier and its results are still there."""
        previous = self._previous()
        return (
            previous is not None
            and previous.state == "done"
            and previous.config_hash == self.config_hash
            and (self.directory / RESULTS).exists()
        )

    def make_room(self, *, in_sweep: bool) -> None:
        """Make sure running here overwrites no results of another configuration.

        Results of another config (or of an unknown one) are moved to
        ``superseded/<time>_<hash>/`` in a sweep, whose re-run must run the rest, and
        refused in a single run. A failed or unfinished record of this same config is
        simply run again.
        """
        results = self.directory / RESULTS
        if not results.exists():
            return
        previous = self._previous()
        if previous is not None and previous.config_hash == self.config_hash:
            return
        if not in_sweep:
            raise PagelabError(
                f"{self.directory} already holds the results of another configuration; "
                "choose a new hydra.run.dir (or delete that directory)"
            )
        old = previous.config_hash if previous else "unknown"
        stamp = utc_now().replace(":", "-")
        target = self.directory / SUPERSEDED / f"{stamp}_{old}"
        target.mkdir(parents=True, exist_ok=True)
        for name in (RESULTS, STATUS):
            if (self.directory / name).exists():
                os.replace(self.directory / name, target / name)

    def _status(self, state: str, started: str, **fields: object) -> Status:
        return Status(
            state=state,
            config_hash=self.config_hash,
            started=started,
            job=self.job,
            overrides=self.overrides,
            pagelab_version=__version__,
            **fields,  # type: ignore[arg-type]
        )

    def run(self, work: Callable[[], T]) -> T:
        """Record ``running``, call ``work``, then record ``done`` or ``failed`` and re-raise.

        Each record is written atomically, so a job killed at any point leaves either
        its previous record or a complete new one.
        """
        started, tic = utc_now(), time.perf_counter()
        write_status(self.directory, self._status("running", started))
        try:
            value = work()
        except Exception as error:
            write_status(
                self.directory,
                self._status(
                    "failed",
                    started,
                    finished=utc_now(),
                    duration_s=time.perf_counter() - tic,
                    error=one_line(error),
                ),
            )
            raise
        write_status(
            self.directory,
            self._status("done", started, finished=utc_now(), duration_s=time.perf_counter() - tic),
        )
        return value
