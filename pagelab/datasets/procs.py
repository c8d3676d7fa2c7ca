"""Read ``/proc/*/smaps`` into a ``mappings`` dataset: sizes only, no names, paths or pids.

One row per mapping: ``size``, ``rss`` and ``pss`` (bytes), ``anon`` (True unless the
mapping is backed by a file), ``anon_bytes`` (the "Anonymous:" field) and ``huge``
(AnonHugePages). A mapping counts as anonymous when it has no inode (heap, stack,
anonymous memory, and the kernel's [vdso]/[vvar]) or is shared anonymous memory,
which the kernel shows as ``/dev/zero (deleted)`` or ``[anon_shmem:...]``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pagelab.units import format_bytes

KIND = "mappings"
PERMISSION = "permission"
EXITED = "exited"
ERROR = "error"

# smaps field name -> output column; every one is "<number> kB".
_FIELDS = {"Size": "size", "Rss": "rss", "Pss": "pss", "Anonymous": "anon_bytes", "AnonHugePages": "huge"}
_NUMERIC = ("size", "rss", "pss", "anon_bytes", "huge")
SCHEMA = {
    "size": pl.Int64,
    "rss": pl.Int64,
    "anon": pl.Boolean,
    "pss": pl.Int64,
    "anon_bytes": pl.Int64,
    "huge": pl.Int64,
}
_SHARED_ANON = ("/dev/zero", "[anon_shmem:")


@dataclass(frozen=True)
class ProcsScan:
    """Mappings of every process read, how many processes were read, and the skips."""

    frame: pl.DataFrame
    processes: int
    skipped: dict[str, int] = field(default_factory=dict)

    def metadata(self, name: str) -> dict[str, str]:
        """Parquet key-value metadata: dataset name, kind, source, counts of processes."""
        return {
            "name": name,
            "kind": KIND,
            "source": "proc",
            "processes": str(self.processes),
            "skipped": json.dumps(self.skipped, sort_keys=True),
        }

    def summary(self) -> str:
        """Human-readable lines: processes and mappings read, and processes skipped."""
        size, rss = (int(self.frame[c].sum()) for c in ("size", "rss"))
        lines = [
            f"read {self.processes:,} processes: {self.frame.height:,} mappings, "
            f"{format_bytes(size)} mapped, {format_bytes(rss)} resident"
        ]
        if self.skipped:
            parts = ", ".join(f"{reason} {count:,}" for reason, count in sorted(self.skipped.items()))
            total = sum(self.skipped.values())
            lines.append(f"skipped {total:,} process{'' if total == 1 else 'es'} ({parts})")
            if self.skipped.get(PERMISSION) and os.geteuid() != 0:
                lines.append("not root: only this user's processes were read")
        return "\n".join(lines)


class _Columns:
    """Column lists being filled, one entry per mapping."""

    def __init__(self) -> None:
        self.values: dict[str, list[int]] = {name: [] for name in _NUMERIC}
        self.anon: list[bool] = []

    def frame(self) -> pl.DataFrame:
        """The collected rows as a ``mappings`` table."""
        return pl.DataFrame({**self.values, "anon": self.anon}, schema=SCHEMA)


def _is_anon(header: str) -> bool:
    """Whether a mapping header line (``start-end perms offset dev inode [path]``) is anonymous."""
    parts = header.split(None, 5)
    inode = parts[4] if len(parts) > 4 else "0"
    return inode == "0" or (len(parts) == 6 and parts[5].startswith(_SHARED_ANON))


def parse_smaps(text: str, columns: _Columns) -> int:
    """Append the mappings of one ``smaps`` text to ``columns``; return how many.

    Field lines are ``Name:  value kB``; any other line holding a space before its
    first colon is a mapping header (its device field ``fe:00`` holds the colon).
    """
    values, anon = columns.values, columns.anon
    count = 0
    for line in text.splitlines():
        head, _, rest = line.partition(":")
        column = _FIELDS.get(head)
        if column is not None:
            values[column][-1] = int(rest.split()[0]) * 1024
        elif " " in head:
            anon.append(_is_anon(line))
            for name in _NUMERIC:
                values[name].append(0)
            count += 1
    return count


def _has_exited(pid_dir: Path) -> bool:
    """Whether the process is gone or a zombie (state Z or X in ``stat``)."""
    try:
        with open(pid_dir / "stat", "rb") as handle:
            state = handle.read().rpartition(b")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in (b"Z", b"X")


def read_smaps(pid_dir: Path) -> str | None:
    """The text of ``pid_dir/smaps``, or None if the process has exited.

    A kernel thread gives an empty text. Raises PermissionError for another user's
    process when not root.
    """
    try:
        with open(pid_dir / "smaps", "rb") as handle:
            text = handle.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # No mappings: a kernel thread, or a process that exited (its memory is gone).
    return None if not text and _has_exited(pid_dir) else text


def scan_procs(proc: Path = Path("/proc")) -> ProcsScan:
    """Read every process's mappings that may be read; count the others by reason."""
    columns = _Columns()
    skipped: Counter[str] = Counter()
    processes = 0
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            text = read_smaps(proc / entry)
        except PermissionError:
            skipped[PERMISSION] += 1
            continue
        except OSError:
            skipped[ERROR] += 1
            continue
        if text is None:
            skipped[EXITED] += 1
            continue
        parse_smaps(text, columns)
        processes += 1
    return ProcsScan(columns.frame(), processes, dict(sorted(skipped.items())))
