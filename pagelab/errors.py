"""The one exception type that reaches users as a one-line message."""

from __future__ import annotations

import sys
from typing import Any


class PagelabError(Exception):
    """A problem with the user's input or environment, reported as one line, exit code 2.

    The message must name what is at fault (file, row, field or parameter) so the
    user can fix it without a traceback.
    """


# Exit codes of a single run (README, "Exit codes").
EXIT_BAD_INPUT = 2  # a PagelabError: the input is at fault, nothing was written
EXIT_DOES_NOT_FIT = 3  # the run's results were written, with fits=false
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + the signal's number, as shells report it


class WriteError(PagelabError, OSError):
    """An output path could not be written (ENOSPC, EROFS, EACCES, ...): one line naming it.

    Also an OSError, so that callers that handle I/O errors keep doing so.
    """

    def __init__(self, path: object, error: OSError) -> None:
        super().__init__(f"{path}: cannot write: {error.strerror or error}")
        self.errno = error.errno


class Interrupted(SystemExit):
    """Ctrl-C in a sweep: unwinds like SystemExit (no traceback) with exit code 130."""

    def __init__(self) -> None:
        super().__init__(EXIT_INTERRUPTED)


_interrupt_seen = False  # a Ctrl-C came, even one Python swallowed


def note_interrupts() -> None:
    """Remember every Ctrl-C of this process, including one Python swallows.

    A KeyboardInterrupt raised inside a callback (an import lock's, a weakref's) cannot
    propagate: CPython prints it as "Exception ignored" and goes on, and the run would then
    finish as if never interrupted. Such an interrupt is recorded here, without the
    traceback, and :func:`check_interrupted` raises it again at the next safe point.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def on_sigint(signum: int, frame: object) -> None:
        global _interrupt_seen
        _interrupt_seen = True
        raise KeyboardInterrupt

    def on_unraisable(unraisable: Any, default: Any = sys.unraisablehook) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            default(unraisable)

    signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = on_unraisable


def check_interrupted() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came that was swallowed on its way."""
    if _interrupt_seen:
        raise KeyboardInterrupt
