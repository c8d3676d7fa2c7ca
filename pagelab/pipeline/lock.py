"""Folder locks: one pagelab process at a time writes into a run, sweep or job folder.

A lock is ``fcntl.flock`` on ``<folder>/.pagelab.lock``, which holds the owner's pid,
host and command so that a refusal can name it. The kernel drops a flock when its owner
exits, however it exits (SIGKILL and the OOM killer included), so a lock left by a dead
process is stale by construction and the next process simply takes it over. flock(2)
locks belong to an open file description, so two opens in one process conflict too:
:func:`hold` counts nested holds of one folder by this process instead.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import shlex
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pagelab.errors import PagelabError

LOCK = ".pagelab.lock"

# realpath of a lock file -> [fd, nested holds] for the locks this process holds.
_HELD: dict[str, list[int]] = {}


class FolderBusy(PagelabError):
    """Another live pagelab process holds the folder's lock."""


def _command() -> str:
    argv = getattr(sys, "orig_argv", sys.argv)
    return shlex.join(argv)[:300]


def owner_of(path: Path) -> str:
    """The lock file's owner as text ("pid 123 on host (command)"), or "unknown"."""
    try:
        owner = json.loads(Path(path).read_text() or "{}")
        return f"pid {owner['pid']} on {owner['host']} ({owner['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process"


def _open_locked(path: Path, directory: Path, what: str) -> int:
    """Open and flock ``path``; raise FolderBusy naming the owner when it is held."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusy(
                f"{what} {directory} is in use by pagelab {owner_of(path)}; wait for it to end or choose another folder"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        # Its previous holder removed the file between our open and flock: lock the new one.
        os.close(fd)


def acquire(directory: Path, what: str = "folder") -> None:
    """Lock ``directory`` (created if missing) for this process, or raise :class:`FolderBusy`.

    ``what`` names the folder's role in the refusal ("hydra.run.dir", "sweep folder").
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOCK
        key = os.path.realpath(path)
        if key in _HELD:
            _HELD[key][1] += 1
            return
        fd = _open_locked(path, directory, what)
    except OSError as error:
        raise PagelabError(f"{directory}: cannot lock: {error.strerror or error}") from None
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": _command()})
    try:  # best effort: the lock holds without its owner's name (a full disk)
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode(), 0)
    except OSError:
        pass
    _HELD[key] = [fd, 1]


def release(directory: Path) -> None:
    """Undo one :func:`acquire` of ``directory``; the last one removes the lock file."""
    key = os.path.realpath(Path(directory) / LOCK)
    held = _HELD.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] > 0:
        return
    del _HELD[key]
    try:
        os.unlink(key)  # while still locked: a waiter that opened it retries on the new file
    except OSError:
        pass
    os.close(held[0])


@contextmanager
def hold(directory: Path, what: str = "folder") -> Iterator[None]:
    """Hold ``directory``'s lock for the ``with`` block."""
    acquire(directory, what)
    try:
        yield
    finally:
        release(directory)


@atexit.register
def _release_all() -> None:
    for key in list(_HELD):
        _HELD[key][1] = 1
        release(Path(key).parent)
