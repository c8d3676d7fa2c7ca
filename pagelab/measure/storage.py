"""Which file system and block device hold a path, and that device's readahead limits.

The readahead window of a file is copied at open() from its backing device info
(``file_ra_state_init()``: ``ra->ra_pages = inode_to_bdi(inode)->ra_pages``), so the
``read_ahead_kb`` that matters is the one of the device under the file's own file system,
found from ``st_dev``, never a guess such as "the first disk".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pagelab.errors import PagelabError

MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs", "shmem", "hugetlbfs"})
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo."""

    mountpoint: str
    fstype: str
    source: str
    major: int
    minor: int
    super_options: tuple[str, ...]

    def option(self, name: str, default: str | None = None) -> str | None:
        """Value of a super-block option such as ``huge`` (``default`` when absent)."""
        for item in self.super_options:
            key, _, value = item.partition("=")
            if key == name:
                return value
        return default

    @property
    def in_memory(self) -> bool:
        """True for tmpfs and the like: the page cache is the only copy, nothing to evict."""
        return self.fstype in MEMORY_FILESYSTEMS

    @property
    def describe(self) -> str:
        """``ext4 on /dev/vda`` or ``tmpfs (huge=never)``."""
        if self.fstype == "tmpfs":
            return f"tmpfs (huge={self.option('huge', 'never')})"
        return f"{self.fstype} on {self.source}"


def _unescape(text: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


def mounts() -> list[Mount]:
    """Every mount this process sees, in mountinfo order."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            left, _, right = line.rstrip("\n").partition(" - ")
            fields, tail = left.split(), right.split()
            major, minor = (int(x) for x in fields[2].split(":"))
            found.append(
                Mount(
                    mountpoint=_unescape(fields[4]),
                    fstype=tail[0],
                    source=_unescape(tail[1]) if len(tail) > 1 else "",
                    major=major,
                    minor=minor,
                    super_options=tuple(tail[2].split(",")) if len(tail) > 2 else (),
                )
            )
    return found


def mount_of(path: Path) -> Mount:
    """The mount that holds ``path``: same device, longest mount point that is a prefix."""
    real = os.path.realpath(path)
    dev = os.stat(real).st_dev
    best: Mount | None = None
    for mount in mounts():
        if (mount.major, mount.minor) != (os.major(dev), os.minor(dev)):
            continue
        prefix = mount.mountpoint.rstrip("/") + "/"
        if (real + "/").startswith(prefix) and (best is None or len(mount.mountpoint) >= len(best.mountpoint)):
            best = mount
    if best is None:
        raise PagelabError(f"{path}: no mount in /proc/self/mountinfo has device {os.major(dev)}:{os.minor(dev)}")
    return best


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (a workspace must have none before it is removed)."""
    real = os.path.realpath(path).rstrip("/") + "/"
    return [m.mountpoint for m in mounts() if (m.mountpoint.rstrip("/") + "/").startswith(real)]


@dataclass(frozen=True)
class Readahead:
    """The readahead limits of one backing device, in pages and as sysfs shows them."""

    device: str  # major:minor of the bdi
    read_ahead_kb: int
    io_pages: int | None  # bdi->io_pages = max_sectors_kb / 4; None if not a block queue


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def readahead_of(path: Path) -> Readahead:
    """``read_ahead_kb`` and ``io_pages`` of the device backing ``path``'s file system.

    Looks up ``/sys/class/bdi/MAJ:MIN`` (whole disks, device mapper, loop, NFS, FUSE
    register their bdi under the st_dev numbers); a partition uses its disk's bdi.
    """
    dev = os.stat(path).st_dev
    name = f"{os.major(dev)}:{os.minor(dev)}"
    block = Path("/sys/dev/block") / name
    if (block / "partition").exists():  # a partition: the bdi is its disk's
        disk = (block / "..").resolve()
        name = (disk / "dev").read_text().strip()
        block = disk
    kb = _read_int(Path("/sys/class/bdi") / name / "read_ahead_kb")
    if kb is None:
        kb = _read_int(block / "queue" / "read_ahead_kb")
    if kb is None:
        raise PagelabError(
            f"{path}: cannot find read_ahead_kb of its device {name} "
            f"({mount_of(path).describe}): no /sys/class/bdi/{name}"
        )
    max_sectors_kb = _read_int(block / "queue" / "max_sectors_kb")
    return Readahead(name, kb, None if max_sectors_kb is None else max_sectors_kb // 4)
