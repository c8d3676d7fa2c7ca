"""Private tmpfs mounts: a mount namespace of our own, and mount/umount through libc.

A worker process calls :func:`enter_private_namespace` first: ``unshare(CLONE_NEWNS)``
and then ``mount --make-rprivate /``, so nothing it mounts propagates to the host and
every mount disappears with the namespace when the worker exits, however it exits
(Ctrl-C, SIGTERM, SIGKILL, a crash). ``PR_SET_PDEATHSIG`` ends the worker if its parent
dies. The worker also unmounts in ``finally``; the namespace is the second line of defence.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pagelab.errors import PagelabError

CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_PRIVATE = 1 << 18
MS_REC = 0x4000
MNT_DETACH = 0x2
PR_SET_PDEATHSIG = 1


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.unshare.argtypes = [ctypes.c_int]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise PagelabError(f"{what}: {os.strerror(err)}")


def enter_private_namespace() -> None:
    """Move this process into a new mount namespace that shares nothing back with the host."""
    libc = _libc()
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS) (needs CAP_SYS_ADMIN)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")


@contextmanager
def tmpfs(target: Path, options: str) -> Iterator[Path]:
    """Mount a tmpfs on ``target`` with ``options`` (``huge=always,size=...``); always unmount."""
    libc = _libc()
    _check(
        libc.mount(b"pagelab-tmpfs", os.fsencode(target), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()),
        f"mount -t tmpfs -o {options} {target}",
    )
    try:
        yield target
    finally:
        if libc.umount2(os.fsencode(target), 0) != 0:
            libc.umount2(os.fsencode(target), MNT_DETACH)  # busy: detach; it goes with the namespace
