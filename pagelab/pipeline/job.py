"""One job's life cycle on disk: skip it if done, run it, record it, never overwrite other results."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

from omegaconf import DictConfig

from pagelab.errors import PagelabError
from pagelab.outputs import RESULTS, STATUS, SUPERSEDED
from pagelab.pipeline import lock
from pagelab.pipeline.config import RunConfig
from pagelab.pipeline.simulate import Outcome, simulate
from pagelab.pipeline.status import (
    Status,
    config_hash,
    one_line,
    read_status,
    utc_now,
    write_status,
)
from pagelab.version import pagelab_version

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
            pagelab_version=pagelab_version(),
            **fields,  # type: ignore[arg-type]
        )

    def claim(self) -> AbstractContextManager[None]:
        """Hold the job folder's lock (:mod:`pagelab.pipeline.lock`) for a ``with`` block.

        Raises :class:`~pagelab.pipeline.lock.FolderBusy` naming the other process when a
        live one holds it: two sweeps into one folder never run a job twice.
        """
        return lock.hold(self.directory, "job folder" if self.job is not None else "hydra.run.dir")

    def _finish(self, state: str, started: str, tic: float, error: str | None = None) -> None:
        """Write the final record; if the disk refuses it, leave nothing that contradicts it.

        A ``done`` that cannot be written would leave ``running`` beside finished results:
        the results go instead (their record is what makes them trusted), then the
        ``running`` record, so the folder reads as a job not yet run.
        """
        record = self._status(state, started, finished=utc_now(), duration_s=time.perf_counter() - tic, error=error)
        try:
            write_status(self.directory, record)
        except OSError:
            for name in (RESULTS, STATUS):
                try:
                    os.unlink(self.directory / name)
                except OSError:
                    pass
            raise

    def run(self, work: Callable[[], T]) -> T:
        """Record ``running``, call ``work``, then record ``done``, ``failed`` or ``interrupted`` and re-raise.

        Each record is written atomically, so a job killed at any point leaves either
        its previous record or a complete new one. Ctrl-C (KeyboardInterrupt, or the
        sweep's :class:`~pagelab.errors.Interrupted`) records ``interrupted``.
        """
        started, tic = utc_now(), time.perf_counter()
        remove_leftovers(self.directory)
        write_status(self.directory, self._status("running", started))
        try:
            value = work()
        except Exception as error:
            self._finish("failed", started, tic, one_line(error))
            raise
        except BaseException:  # KeyboardInterrupt, SystemExit: the job stopped before its end
            try:
                self._finish("interrupted", started, tic, "interrupted")
            except OSError:
                pass  # a full disk: _finish left a folder that reads as not run; the interrupt wins
            raise
        self._finish("done", started, tic)
        return value


def remove_leftovers(directory: Path) -> None:
    """Remove the temporary files (``.<name>.*.tmp``, :func:`pagelab.atomic.atomic_path`) a
    killed process left in a job folder; call it only while holding the folder's lock."""
    for leftover in Path(directory).glob(".*.tmp"):
        try:
            leftover.unlink()
        except OSError:
            pass


def mark_interrupted(directories: list[Path]) -> int:
    """Record ``interrupted`` for every job folder whose record says ``running`` and whose
    lock no live process holds (a worker stopped by Ctrl-C); return how many.

    A worker still alive keeps its lock and writes its own record.
    """
    marked = 0
    for directory in directories:
        try:
            previous = read_status(directory)
        except PagelabError:
            continue
        if previous is None or previous.state != "running":
            continue
        try:
            with lock.hold(directory, "job folder"):
                previous = read_status(directory)  # as it is now that no one else writes it
                if previous is not None and previous.state == "running":
                    remove_leftovers(directory)
                    write_status(directory, dataclasses.replace(previous, state="interrupted", finished=utc_now(),
                                                               error="interrupted"))
                    marked += 1
        except PagelabError:
            continue  # busy, or the disk refuses: the record stays "running", which resume treats alike
    return marked


def run_job(cfg: DictConfig, output_dir: Path, *, show: bool = True) -> Outcome:
    """Simulate the task's config, write ``results.parquet`` into ``output_dir`` atomically, print the summary.

    The row has no key-value metadata: the same row gives the same bytes.
    """
    from pagelab.atomic import atomic_write_parquet
    from pagelab.errors import check_interrupted

    outcome = simulate(RunConfig.of(cfg))  # the task's DictConfig, typed once, here
    check_interrupted()  # a Ctrl-C Python swallowed during the run: write nothing
    # Beside the row, the run's other tables (a fleet's hourly timeline), first: the row marks a finished run.
    for name, table in outcome.tables.items():
        atomic_write_parquet(table, output_dir / f"{name}.parquet")
    atomic_write_parquet(outcome.row, output_dir / RESULTS)
    if show:
        from pagelab.pipeline.terminal import print_summary

        print_summary(outcome.row)
    return outcome
