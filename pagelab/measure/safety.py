"""The rules every measurement obeys: refuse early, stay in its own folder, clean up always.

- Off Linux, or without the privilege a step needs, refuse with one line naming what is
  missing (:class:`~pagelab.errors.PagelabError`).
- Memory is bounded: a sample whose page cache would not fit in half of MemAvailable is
  refused before anything is written (the other half is headroom, so reclaim does not
  evict the files while they are measured).
- Files live in a :func:`workspace` that pagelab creates and removes; SIGTERM and SIGHUP
  are turned into an exception so that cleanup runs for them as for Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pagelab.errors import PagelabError
from pagelab.measure.kernel import KPAGEFLAGS, PAGE_SIZE, meminfo
from pagelab.units import format_bytes

WORKSPACE_PREFIX = "pagelab-measure-"


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; raised like Ctrl-C so that every ``finally`` runs."""


def require_linux(what: str) -> None:
    """Refuse off Linux, and on kernels whose base page is not 4 KiB (the models assume it)."""
    if not sys.platform.startswith("linux"):
        raise PagelabError(f"{what} needs Linux (mincore, /proc/self/pagemap, /proc/meminfo); this is {sys.platform}")
    page = os.sysconf("SC_PAGE_SIZE")
    if page != PAGE_SIZE:
        raise PagelabError(f"{what} needs 4 KiB base pages (the models assume them); this kernel uses {page}")


def is_root() -> bool:
    """True when we can read /proc/kpageflags and see PFNs (root, CAP_SYS_ADMIN)."""
    return os.geteuid() == 0 and os.access(KPAGEFLAGS, os.R_OK)


def require_root(what: str, because: str) -> None:
    """Refuse without root: ``because`` names the privileged interface."""
    if os.geteuid() != 0:
        raise PagelabError(f"{what} needs root ({because}); running as uid {os.geteuid()}")


def check_memory(needed: int, what: str) -> None:
    """Refuse when ``needed`` bytes exceed half of MemAvailable."""
    available = meminfo().get("MemAvailable", 0)
    if needed > available // 2:
        raise PagelabError(
            f"{what} needs {format_bytes(needed)} of memory, more than half of MemAvailable "
            f"({format_bytes(available)}); use a smaller sample"
        )


def check_disk(directory: Path, needed: int) -> None:
    """Refuse when ``directory``'s file system lacks ``needed`` bytes (plus 64 MiB)."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    if needed + (64 << 20) > free:
        raise PagelabError(f"{directory}: needs {format_bytes(needed)} of free space, has {format_bytes(free)}")


@contextmanager
def workspace(parent: Path) -> Iterator[Path]:
    """A fresh directory under ``parent``, removed afterwards, whatever happens.

    Refuses to remove it while anything is mounted below it (a mount must never leak
    out of its private namespace; if it did, removing files through it would be wrong).
    """
    from pagelab.measure.storage import mounts_under

    parent = Path(parent)
    if not parent.is_dir():
        raise PagelabError(f"--dir {parent}: not a directory")
    try:
        path = Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX, dir=parent))
    except OSError as exc:
        raise PagelabError(f"--dir {parent}: cannot create a folder there: {exc.strerror}") from None
    try:
        yield path
    finally:
        leaked = mounts_under(path)
        if leaked:
            raise PagelabError(f"{path}: still mounted: {', '.join(leaked)}; left in place")
        shutil.rmtree(path, ignore_errors=True)


_received: int | None = None  # the signal that raised Interrupted, until a context exit sees it


def raise_interrupted(signum: int, _frame: object) -> None:
    """Signal handler: raise :class:`Interrupted` once, so that every ``finally`` runs.

    Later SIGTERM/SIGHUP are ignored while cleaning up: a dying multi-threaded parent
    sends ``PR_SET_PDEATHSIG`` once per exiting thread, and a second exception would
    cut an unmount or a removal short. SIGKILL still works. The signal is also recorded,
    because an exception raised while Python runs a ``__del__`` (a ``Popen`` collected at
    that instant) is printed and dropped; :func:`cleanup_on_signals` raises it again.
    """
    global _received
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _received = signum
    raise Interrupted(f"signal {signal.Signals(signum).name}")


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Interrupted` (main thread only) for the duration.

    A signal whose exception was swallowed on the way is raised again when the block
    ends, so nothing after the block (an output write) runs as if it had not come.
    """
    import threading

    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, raise_interrupted) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    except BaseException:
        _received = None  # it reached the block's end as an exception: nothing was lost
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if _received is not None:
        signum, _received = _received, None
        raise Interrupted(f"signal {signal.Signals(signum).name}")
