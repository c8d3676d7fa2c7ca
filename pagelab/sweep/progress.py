"""A progress bar over a running sweep, fed by the ``status.json`` files its jobs write.

Jobs may run in this process, in joblib workers or on cluster nodes, so the parent
learns about them only from disk: a thread polls the job folders a few times a second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from pagelab.outputs import STATUS

POLL_SECONDS = 0.25
# Launchers that log one line per job ("\t#3 : strategy=base4k ..."): the bar replaces those.
LAUNCHER_LOGGERS = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher._core",
    "pagelab.sweep.batch",
)


class _NoJobLines(logging.Filter):
    """Drops a launcher's per-job INFO lines; its warnings and errors pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not str(record.msg).lstrip().startswith("#")


class StatusTally:
    """Counts of done, failed and running jobs in a sweep folder, re-reading only changed files.

    A job finished before ``since`` counts as done only if it is done (a resumed sweep
    skips it); an older failure or interrupted run is not counted until it runs again.
    """

    def __init__(self, directory: Path, since: float):
        self.directory = Path(directory)
        self.since = since
        self._seen: dict[Path, tuple[int, str]] = {}  # status file -> (mtime_ns, state)

    def _state(self, path: Path) -> str | None:
        try:
            mtime = path.stat().st_mtime_ns
            cached = self._seen.get(path)
            if cached and cached[0] == mtime:
                return cached[1]
            state = json.loads(path.read_text()).get("state", "unknown")
        except (OSError, ValueError, AttributeError):
            return None  # vanished or being replaced: count it on the next poll
        self._seen[path] = (mtime, state)
        if state != "done" and mtime < self.since * 1e9:
            return None
        return state

    def counts(self) -> Counter[str]:
        """How many jobs are in each state now."""
        # Hydra's sweep subdir is one level (the job number) unless a user nests it.
        states = (self._state(path) for path in self.directory.glob(f"*/{STATUS}"))
        return Counter(state for state in states if state is not None)


class SweepProgress:
    """A rich progress bar of finished jobs out of ``total`` (None: unknown), with counts."""

    def __init__(self, directory: Path, total: int | None, console: Console | None = None):
        self.tally = StatusTally(directory, since=time.time())
        self.total = total
        self.progress = Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[done]} done[/] [red]{task.fields[failed]} failed[/]"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            # In-process jobs log to stdout: print those lines above the bar, not through it.
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self.task = self.progress.add_task("sweep", total=total, done=0, failed=0)
        self._stop = threading.Event()
        self._filter = _NoJobLines()
        self._thread = threading.Thread(target=self._poll, name="pagelab-sweep-progress", daemon=True)

    def refresh(self) -> None:
        """Read the job folders and redraw the bar."""
        counts = self.tally.counts()
        done, failed = counts["done"], counts["failed"]
        self.progress.update(self.task, completed=done + failed, done=done, failed=failed)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.refresh()

    def start(self) -> None:
        """Show the bar, silence the launchers' per-job lines, and start polling."""
        for name in LAUNCHER_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)
        self.progress.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop polling, draw the final counts and release the terminal."""
        self._stop.set()
        self._thread.join()
        self.refresh()
        self.progress.stop()
        for name in LAUNCHER_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)
