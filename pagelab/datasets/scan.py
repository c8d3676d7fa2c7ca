"""Scan a directory tree or a tarball into a ``files`` dataset: sizes only, no names.

A tree is walked by GNU ``find`` itself, which prints one short line of numbers per
entry (type, size, 512-byte blocks, device, inode, links; never a path). Polars
parses that output in vectorised batches while find is still walking, and find's
error messages are sorted into skip reasons. A tarball is listed from its headers
in one streaming pass, without extracting anything.

Nothing heavy is imported with this module: ``pagelab scan`` starts find first
(:func:`prestart`) and loads polars while find walks.
"""

from __future__ import annotations

import argparse
import atexit
import bz2
import gzip
import json
import lzma
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn, Self, cast

from pagelab.errors import PagelabError
from pagelab.units import format_bytes

if TYPE_CHECKING:
    import polars as pl
    from polars._typing import PolarsDataType

KIND = "files"

# Skip reasons, as they appear in the summary and in the Parquet metadata.
SYMLINK = "symlink"
HARDLINK = "hardlink"
FIFO = "fifo"
SOCKET = "socket"
DEVICE = "device"
OTHER_TYPE = "other_type"
OTHER_FILESYSTEM = "other_filesystem"
PERMISSION = "permission"
VANISHED = "vanished"
LOOP = "loop"
ERROR = "error"

# find's %y letters for entries that are neither regular files nor directories.
_TYPE_REASONS = {"l": SYMLINK, "p": FIFO, "s": SOCKET, "b": DEVICE, "c": DEVICE}
# One line per entry, space separated, numbers only (names never leave find): type, size,
# 512-byte blocks, device, inode, hard-link count. Only files with several links can repeat
# and only a directory's device matters (a mount point is a skip), so the others print
# constants there: shorter lines, which find writes and polars parses faster (10 % of a walk).
FIND_FORMAT = r"%y %s %b %D %i %n\n"
_DIRECTORY_FORMAT = r"d 0 0 %D 0 1\n"
_SINGLE_LINK_FORMAT = r"%y %s %b %D 0 1\n"
FIND_EXPRESSION = ("(", "-type", "d", "-printf", _DIRECTORY_FORMAT, "-o", "-links", "1", "-printf", _SINGLE_LINK_FORMAT,
                   "-o", "-printf", FIND_FORMAT, ")")


def _walk_schema() -> dict[str, PolarsDataType]:
    import polars as pl

    return {"type": pl.String, "size": pl.Int64, "blocks": pl.Int64, "dev": pl.UInt64, "ino": pl.UInt64,
            "links": pl.UInt64}


def files_schema() -> dict[str, PolarsDataType]:
    """The columns of a files scan: apparent size and allocated bytes (null for a tarball)."""
    import polars as pl

    return {"size": pl.Int64, "allocated": pl.Int64}

_CHUNK = 1 << 20  # one read of find's output
_TAIL_SECONDS = 0.005  # how often the reader looks for more of find's output in its file
_BATCH = 256 << 10  # parse find's output in batches of about this many bytes, while find walks


@dataclass(frozen=True)
class FilesScan:
    """The result of a scan: one row per distinct regular file, plus what was skipped."""

    frame: pl.DataFrame
    source: str
    skipped: dict[str, int] = field(default_factory=dict)
    compression: str | None = None
    messages: tuple[str, ...] = ()

    @property
    def files(self) -> int:
        """Number of distinct regular files counted."""
        return self.frame.height

    @property
    def total_bytes(self) -> int:
        """Sum of apparent sizes in bytes."""
        return int(self.frame["size"].sum())

    def metadata(self, name: str) -> dict[str, str]:
        """Parquet key-value metadata: dataset name, kind, source and skip counts."""
        meta = {"name": name, "kind": KIND, "source": self.source, "skipped": json.dumps(self.skipped, sort_keys=True)}
        if self.compression is not None:
            meta["compression"] = self.compression
        return meta

    def summary(self) -> str:
        """A few human-readable lines: files, bytes, and skipped entries by reason."""
        text = f"scanned {self.source}: {self.files:,} files, {format_bytes(self.total_bytes)}"
        allocated = self.frame["allocated"]
        if allocated.null_count() == 0:
            text += f" ({format_bytes(int(allocated.sum()))} allocated)"
        lines = [text]
        if self.skipped:
            lines.append("skipped: " + ", ".join(f"{why} {n:,}" for why, n in sorted(self.skipped.items())))
        lines.extend(f"  {message}" for message in self.messages)
        return "\n".join(lines)


@contextmanager
def progress_bar(enabled: bool, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; with ``enabled`` it drives a rich progress display on stderr.

    ``total`` given: a bar in bytes; otherwise a spinner with a running count.
    """
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    if total is None:
        columns = [SpinnerColumn(), TextColumn("{task.description} {task.completed:,.0f}"), TimeElapsedColumn()]
    else:
        columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


# ------------------------------------------------------------------------------- tree


@cache
def _gnu_find() -> str:
    """Path of GNU find; a PagelabError if it is missing or not GNU (no -printf)."""
    find = shutil.which("find")
    if find is not None:
        probe = subprocess.run([find, "--version"], capture_output=True, text=True, check=False)
        if "GNU findutils" in probe.stdout:
            return find
    raise PagelabError("scanning a tree needs GNU find (package findutils) on PATH")


def classify_find_message(line: str) -> str | None:
    """Map one line of find's stderr (LC_ALL=C) to a skip reason; None for warnings."""
    if line.startswith("find: warning:"):
        return None
    if line.endswith(": Permission denied"):
        return PERMISSION
    if line.endswith(": No such file or directory"):
        return VANISHED
    if "File system loop detected" in line or line.endswith(": Too many levels of symbolic links"):
        return LOOP
    return ERROR


def parse_walk(data: bytes) -> pl.DataFrame:
    """Parse find's ``FIND_FORMAT`` lines into columns type, size, blocks, dev, ino, links."""
    import polars as pl

    if not data:
        return pl.DataFrame(schema=_walk_schema())
    return pl.read_csv(data, has_header=False, separator=" ", quote_char=None, schema=_walk_schema())


def _drain_lines(stream: IO[bytes], into: list[str]) -> None:
    """Read ``stream`` to the end, appending its decoded lines to ``into``."""
    for raw in stream:
        into.append(raw.decode("utf-8", "replace").rstrip("\n"))


class TreeWalk:
    """A running ``find`` over one tree; :meth:`finish` turns it into a :class:`FilesScan`.

    Background threads drain find's output from the start and parse it in batches,
    so the walk goes on while the caller does other work (imports, say). find writes
    to ``output``, an unlinked temporary file, when given: it never waits for this
    process then (a pipe fills whenever an import holds the GIL).
    """

    def __init__(
        self, process: subprocess.Popen[bytes], root_dev: int, cross_filesystems: bool, *, read_now: bool = True,
        output: IO[bytes] | None = None,
    ) -> None:
        """Wrap a started find. With ``read_now`` False its output is left unread until
        :meth:`finish`, so find pauses once the pipe is full (tests use this to change
        the tree in the middle of a walk)."""
        assert (process.stdout is not None or output is not None) and process.stderr is not None
        self.process = process
        self.root_dev = root_dev
        self.cross_filesystems = cross_filesystems
        self.entries = 0
        self._output = output
        self._frames: list[pl.DataFrame] = []
        self._errors: list[str] = []
        self._failure: BaseException | None = None
        self._stderr = threading.Thread(target=_drain_lines, args=(process.stderr, self._errors), daemon=True)
        self._stdout = threading.Thread(target=self._read_stdout, daemon=True)
        self._stderr.start()
        if read_now:
            self._stdout.start()

    def _chunks(self) -> Iterator[bytes]:
        """find's output as it comes: from the pipe, or from the file until find has exited."""
        if self._output is None:
            assert self.process.stdout is not None
            fd = self.process.stdout.fileno()
            while chunk := os.read(fd, _CHUNK):
                yield chunk
            return
        fd, offset = self._output.fileno(), 0
        while True:
            ended = self.process.poll() is not None  # before reading: then nothing comes after
            # pread: find shares the file's offset, so reading must not move it.
            while chunk := os.pread(fd, _CHUNK, offset):
                offset += len(chunk)
                yield chunk
            if ended:
                return
            time.sleep(_TAIL_SECONDS)

    def _read_stdout(self) -> None:
        """Read find's output to the end, parsing whole lines in batches."""
        pending: list[bytes] = []
        size = 0
        try:
            for chunk in self._chunks():
                pending.append(chunk)
                size += len(chunk)
                self.entries += chunk.count(b"\n")
                if size >= _BATCH:
                    data = b"".join(pending)
                    cut = data.rfind(b"\n") + 1
                    self._frames.append(parse_walk(data[:cut]))
                    pending, size = [data[cut:]], len(data) - cut
            self._frames.append(parse_walk(b"".join(pending)))
        except BaseException as exc:  # handed to finish(), which re-raises it
            self._failure = exc

    def finish(self, progress: bool = False) -> FilesScan:
        """Wait for find to end, then tally distinct files and skips by reason."""
        if self._stdout.ident is None:
            self._stdout.start()
        try:
            with progress_bar(progress, "scanning: entries") as advance:
                shown = 0
                while self._stdout.is_alive():
                    self._stdout.join(0.1)
                    advance(self.entries - shown)
                    shown = self.entries
            self.process.wait()
            self._stderr.join()
        finally:
            if self.process.poll() is None:  # interrupted: do not leave find running
                self.process.kill()
                self.process.wait()
            if self._output is not None:
                self._output.close()
        if self._failure is not None:
            raise self._failure
        if self.process.returncode not in (0, 1):  # GNU find: 1 means "some entries failed"
            raise PagelabError(f"find stopped abnormally (exit status {self.process.returncode})")
        import polars as pl

        return _tally_walk(pl.concat(self._frames), self._errors, self.root_dev, self.cross_filesystems)


# Walks prestart() began, by (absolute path, cross_filesystems), until start_tree_walk adopts them.
_EARLY: dict[tuple[str, bool], TreeWalk] = {}


class _Unreadable(Exception):
    pass


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Unreadable(message)


def prestart(argv: list[str]) -> None:
    """Start the walk ``pagelab scan ARGV`` asks for now, before the command imports polars.

    find then walks while Python loads the rest; :func:`start_tree_walk` adopts the walk
    when the command asks for the same tree, and a walk nobody adopts is stopped at exit.
    Arguments this does not understand are left to the command, which starts its own walk.
    """
    parser = _QuietParser(add_help=False)
    parser.add_argument("path", nargs="?")
    for option in ("--tar", "-o", "--name"):
        parser.add_argument(option)
    parser.add_argument("--cross-filesystems", action="store_true")
    parser.add_argument("-h", "--help", action="store_true")
    try:
        args, _ = parser.parse_known_args(argv)
    except _Unreadable:
        return
    if args.path is None or args.tar is not None or args.help:
        return
    try:
        walk = _start_walk(Path(args.path), args.cross_filesystems, read_now=True)
    except PagelabError:
        return  # the command reports it
    if not _EARLY:
        atexit.register(stop_early_walks)
    _EARLY[(os.path.abspath(args.path), args.cross_filesystems)] = walk


def stop_early_walks() -> None:
    """Stop every walk :func:`prestart` began that no command adopted (the command failed first)."""
    for walk in _EARLY.values():
        if walk.process.poll() is None:
            walk.process.kill()
            walk.process.wait()
    _EARLY.clear()


def start_tree_walk(path: Path, *, cross_filesystems: bool = False, read_now: bool = True) -> TreeWalk:
    """Start ``find`` over ``path`` (a symlink given as ``path`` itself is followed).

    Symlinks inside the tree are never followed; without ``cross_filesystems`` the
    walk stays on the file system that holds ``path``. See :class:`TreeWalk`. A walk
    :func:`prestart` began over the same tree is returned instead of a new one.
    """
    early = _EARLY.pop((os.path.abspath(path), cross_filesystems), None) if read_now else None
    return early if early is not None else _start_walk(Path(path), cross_filesystems, read_now=read_now)


# Kernel interfaces and other file systems whose "files" hold no stored data: their sizes
# are placeholders (4096 or 0 in /proc and /sys), never a page-cache workload.
PSEUDO_FILESYSTEMS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
    "efivarfs", "fusectl", "mqueue", "nsfs", "proc", "pstore", "rpc_pipefs", "securityfs",
    "selinuxfs", "sysfs", "tracefs",
})


def filesystem_type(dev: int) -> str | None:
    """The type of the file system mounted from device ``dev`` (``/proc/self/mountinfo``); None if unknown."""
    wanted = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo") as mountinfo:
            for line in mountinfo:
                fields = line.split()
                if len(fields) > 2 and fields[2] == wanted and " - " in line:
                    return line.split(" - ", 1)[1].split()[0]
    except OSError:
        return None
    return None


def _start_walk(path: Path, cross_filesystems: bool, *, read_now: bool) -> TreeWalk:
    try:
        root = os.stat(path)
    except FileNotFoundError:
        raise PagelabError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise PagelabError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(root.st_mode):
        raise PagelabError(f"{path}: not a directory (scan a tree, or a tarball with --tar)")
    fstype = filesystem_type(root.st_dev)
    if fstype in PSEUDO_FILESYSTEMS:
        raise PagelabError(f"{path}: a {fstype} file system holds no stored files (its sizes are placeholders)")
    root_dev = root.st_dev
    # A relative start such as "!" or "-name" would be read as an expression.
    start = str(path) if path.is_absolute() else os.path.join(".", str(path))
    command = [_gnu_find(), "-H", start, *([] if cross_filesystems else ["-xdev"]), *FIND_EXPRESSION]
    output = tempfile.TemporaryFile(prefix="pagelab-scan-") if read_now else None
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if output is None else output,
        stderr=subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C"},
    )
    return TreeWalk(process, root_dev, cross_filesystems, read_now=read_now, output=output)


def scan_tree(path: Path, *, cross_filesystems: bool = False, progress: bool = False) -> FilesScan:
    """Scan a directory tree: distinct regular files' sizes, and skips by reason."""
    return start_tree_walk(path, cross_filesystems=cross_filesystems).finish(progress)


def _tally_walk(walk: pl.DataFrame, errors: list[str], root_dev: int, cross_filesystems: bool) -> FilesScan:
    """Turn find's parsed output and its messages into a :class:`FilesScan`."""
    import polars as pl

    skipped: Counter[str] = Counter()
    if not cross_filesystems:
        # -xdev still lists mount points (and bind-mounted files), just not below them.
        foreign = walk["dev"] != root_dev
        skipped[OTHER_FILESYSTEM] = int(foreign.sum())
        walk = walk.filter(~foreign)
    for kind, count in walk.group_by("type").len().iter_rows():
        if kind not in ("f", "d"):
            skipped[_TYPE_REASONS.get(kind, OTHER_TYPE)] += count
    files = walk.filter(pl.col("type") == "f")
    # Only files with several links can repeat: deduplicating just those is cheap.
    linked = files.filter(pl.col("links") > 1).unique(subset=["dev", "ino"], maintain_order=True)
    distinct = pl.concat([files.filter(pl.col("links") <= 1), linked])
    skipped[HARDLINK] = files.height - distinct.height
    unknown: list[str] = []
    for line in errors:
        reason = classify_find_message(line)
        if reason is not None:
            skipped[reason] += 1
        if reason == ERROR and len(unknown) < 5:
            unknown.append(line)
    frame = distinct.select("size", allocated=pl.col("blocks") * 512)
    return FilesScan(frame, "tree", {k: v for k, v in sorted(skipped.items()) if v}, messages=tuple(unknown))


# -------------------------------------------------------------------------------- tar

_MAGIC = ((b"\x1f\x8b", "gz"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zst"))


class _StrictTarInfo(tarfile.TarInfo):
    """TarInfo that turns a bad or missing header into an error.

    Plain tarfile takes any unreadable header past the start for the end of the
    archive, which would let a truncated or corrupt tarball pass as a shorter one.
    Only the end-of-archive marker (a zero block) still ends the listing.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        """Read one header; raise ReadError unless it is valid or the end marker."""
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.EOFHeaderError:  # type: ignore[attr-defined]  # in tarfile, not in typeshed
            raise
        except tarfile.HeaderError as exc:
            if tarfile_.offset == 0:
                raise tarfile.ReadError(f"no tar header at the start ({exc})") from None
            raise tarfile.ReadError(f"{exc} at byte {tarfile_.offset}: truncated or corrupt") from None


def detect_compression(head: bytes) -> str | None:
    """Name the compression from a file's first bytes: gz, xz, bz2, zst, or None."""
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def _decompressed(raw: IO[bytes], compression: str) -> IO[bytes]:
    """A streaming reader of ``raw`` decompressed."""
    if compression == "gz":
        # A binary file like the others; typeshed leaves IO[bytes] out of GzipFile's bases.
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if compression == "xz":
        return lzma.LZMAFile(raw)
    if compression == "bz2":
        return bz2.BZ2File(raw)
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def _open_tar(raw: IO[bytes], compression: str | None) -> tarfile.TarFile:
    """Open a tar for listing: seekable for a plain file, stream mode ("r|") otherwise."""
    if compression is None:
        return tarfile.open(fileobj=raw, mode="r:", tarinfo=_StrictTarInfo)
    return tarfile.open(fileobj=_decompressed(raw, compression), mode="r|", tarinfo=_StrictTarInfo, bufsize=1 << 15)


def _member_reason(member: tarfile.TarInfo) -> str | None:
    """Skip reason for a member that is not a regular file; None for files and directories."""
    if member.isreg() or member.isdir():
        return None
    if member.islnk():
        return HARDLINK
    if member.issym():
        return SYMLINK
    if member.isfifo():
        return FIFO
    if member.ischr() or member.isblk():
        return DEVICE
    return OTHER_TYPE


def _read_members(
    raw: IO[bytes], compression: str | None, advance: Callable[[int], None]
) -> tuple[list[int], Counter[str]]:
    """Sizes of the regular members, and the other members counted by skip reason."""
    sizes: list[int] = []
    skipped: Counter[str] = Counter()
    seen = 0
    with _open_tar(raw, compression) as archive:
        while (member := archive.next()) is not None:
            # A listing needs no index: keep memory flat. (TarFile.members is missing from typeshed.)
            archive.members.clear()  # type: ignore[attr-defined]
            if member.isreg():
                sizes.append(member.size)
            elif (reason := _member_reason(member)) is not None:
                skipped[reason] += 1
            advance(raw.tell() - seen)
            seen = raw.tell()
    return sizes, skipped


def scan_tar(path: Path, *, progress: bool = False) -> FilesScan:
    """List a tarball (plain, gz, xz, bz2 or zst) from its headers, extracting nothing.

    Regular members give one row each, sized from their headers; hard-link members
    (LNKTYPE) point at a member already counted and are skipped as ``hardlink``. A
    tar holds no allocation, so ``allocated`` is null.
    """
    import polars as pl
    import zstandard

    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise PagelabError(f"{path}: not a regular file")
        with open(path, "rb") as raw:
            compression = detect_compression(raw.read(8))
            raw.seek(0)
            with progress_bar(progress, "reading tar", os.fstat(raw.fileno()).st_size) as advance:
                sizes, skipped = _read_members(raw, compression, advance)
    except FileNotFoundError:
        raise PagelabError(f"{path}: no such file or directory") from None
    except PermissionError:
        raise PagelabError(f"{path}: permission denied") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise PagelabError(f"{path}: not a readable tarball: {detail}") from None
    frame = pl.DataFrame({"size": sizes, "allocated": [None] * len(sizes)}, schema=files_schema())
    return FilesScan(frame, "tar", dict(sorted(skipped.items())), compression=compression or "none")
