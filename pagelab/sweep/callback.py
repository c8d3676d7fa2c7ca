"""The Hydra callback that makes a multirun a pagelab sweep.

Configured in ``conf/config.yaml`` under ``hydra.callbacks``. Start and end hooks run
in the process that launched the sweep; jobs may run elsewhere, so everything the
end hook reports is read from the job folders.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from pagelab.errors import Interrupted, PagelabError
from pagelab.outputs import STATUS
from pagelab.pipeline import lock
from pagelab.pipeline.job import remove_leftovers
from pagelab.sweep.guard import check_run_dir, check_sweep_dir

if TYPE_CHECKING:
    from pagelab.sweep.progress import SweepProgress

# A single run instantiates this callback too: rich and the collector load only for sweeps.


def _exit(error: PagelabError) -> NoReturn:
    # Hydra turns a callback's exceptions into warnings; SystemExit is how one ends the run.
    print(f"pagelab: error: {error}", file=sys.stderr)
    raise SystemExit(2)


def _interrupt_cleanly(sweep_dir: Path) -> None:
    """On SIGINT raise :class:`Interrupted` (exit 130, no traceback) instead of KeyboardInterrupt.

    It unwinds like SystemExit: running jobs record ``interrupted`` (:meth:`Job.run`), the
    batch launcher marks its workers' jobs, temporary files go, and the next run resumes.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # someone (a notebook, a test runner) has a handler of its own: keep it

    def interrupted(signum: int, frame: object) -> None:
        if not getattr(interrupted, "told", False):
            interrupted.told = True  # type: ignore[attr-defined]
            print(f"pagelab: interrupted: finished jobs are kept in {sweep_dir}; "
                  "run the same command again to resume", file=sys.stderr)
        raise Interrupted()

    interrupted.pagelab_sweep = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, interrupted)


def _on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def _preload_when_jobs_run(directory: Path, since: float) -> None:
    """Import what the sweep's end needs (polars' reader, scipy's t, rich) once jobs run.

    This process mostly waits while jobs run; before they do, it is busy composing them.
    """
    while not any(p.stat().st_mtime >= since for p in directory.glob(f"*/{STATUS}")):
        time.sleep(0.2)
    import rich.table  # noqa: F401
    import scipy.special  # noqa: F401

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
        """Lock ``hydra.run.dir``; refuse it when another process holds it, or it holds another config's results."""
        try:
            lock.acquire(Path(config.hydra.run.dir), "hydra.run.dir")
            remove_leftovers(Path(config.hydra.run.dir))
            check_run_dir(config)
        except PagelabError as error:
            _exit(error)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Release ``hydra.run.dir``'s lock (an exit releases it too)."""
        lock.release(Path(config.hydra.run.dir))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Lock the sweep folder and refuse to mix two sweeps in it; Ctrl-C ends the sweep
        cleanly; start the progress bar on a terminal."""
        try:
            lock.acquire(Path(config.hydra.sweep.dir), "sweep folder")
            remove_leftovers(Path(config.hydra.sweep.dir))  # of a process killed while writing
            check_sweep_dir(config)
        except PagelabError as error:
            _exit(error)
        _interrupt_cleanly(Path(config.hydra.sweep.dir))
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
        finally:
            lock.release(Path(config.hydra.sweep.dir))
            if threading.current_thread() is threading.main_thread() and getattr(
                    signal.getsignal(signal.SIGINT), "pagelab_sweep", False):
                signal.signal(signal.SIGINT, signal.default_int_handler)
        print_overview(sweep, Console(highlight=False))
        print_failures(sweep, Console(stderr=True, highlight=False))
        if sweep.count("failed"):
            raise SystemExit(1)
