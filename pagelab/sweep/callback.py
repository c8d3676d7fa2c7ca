"""The Hydra callback that makes a multirun a pagelab sweep.

Configured in ``conf/config.yaml`` under ``hydra.callbacks``. Start and end hooks run
in the process that launched the sweep; jobs may run elsewhere, so everything the
end hook reports is read from the job folders.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from pagelab.errors import PagelabError
from pagelab.sweep import STATUS
from pagelab.sweep.guard import check_run_dir, check_sweep_dir

if TYPE_CHECKING:
    from pagelab.sweep.progress import SweepProgress

# A single run instantiates this callback too: rich and the collector load only for sweeps.


def _exit(error: PagelabError) -> NoReturn:
    # Hydra turns a callback's exceptions into warnings; SystemExit is how one ends the run.
    print(f"pagelab: error: {error}", file=sys.stderr)
    raise SystemExit(2)


def _on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def _preload_when_jobs_run(directory: Path, since: float) -> None:
    """Import what the sweep's end needs (polars' reader, scipy's t, rich) once jobs run.

    This process mostly waits while jobs run; before they do, it is busy composing them.
    """
    while not any(p.stat().st_mtime >= since for p in directory.glob(f"*/{STATUS}")):
        time.sleep(0.2)
    import rich.table  # noqa: F401
    import scipy.stats  # noqa: F401

    import pagelab.sweep.collect  # noqa: F401
    import pagelab.sweep.tables  # noqa: F401


class SweepCallback(Callback):
    """Guards output folders, shows progress, and collects and reports the sweep at its end."""

    def __init__(self, progress: bool = True) -> None:
        self.show_progress = progress
        self._progress: SweepProgress | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle callbacks to their workers; the progress bar stays here.
        return {"show_progress": self.show_progress, "_progress": None}

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Refuse a run into a folder that holds another config's results."""
        try:
            check_run_dir(config)
        except PagelabError as error:
            _exit(error)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Refuse to mix two sweeps in one folder; start the progress bar on a terminal."""
        try:
            check_sweep_dir(config)
        except PagelabError as error:
            _exit(error)
        threading.Thread(target=_preload_when_jobs_run, args=(Path(config.hydra.sweep.dir), time.time()),
                         name="pagelab-sweep-preload", daemon=True).start()
        if self.show_progress and _on_terminal():
            from pagelab.sweep.plan import job_overrides
            from pagelab.sweep.progress import SweepProgress

            try:
                jobs = job_overrides(config)
            except Exception:  # the bar can do without a total; the sweeper reports bad overrides
                jobs = None
            self._progress = SweepProgress(Path(config.hydra.sweep.dir), None if jobs is None else len(jobs))
            self._progress.start()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write ``summary.parquet``, print the overview and every failure; exit 1 on failures."""
        from rich.console import Console

        from pagelab.sweep.collect import collect
        from pagelab.sweep.tables import print_failures, print_overview

        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        try:
            sweep = collect(Path(config.hydra.sweep.dir))
        except PagelabError as error:
            _exit(error)
        print_overview(sweep, Console(highlight=False))
        print_failures(sweep, Console(stderr=True, highlight=False))
        if sweep.count("failed"):
            raise SystemExit(1)
