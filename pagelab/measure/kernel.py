"""The kernel's user-space views of the page cache: mincore, fadvise, pagemap, kpageflags.

Everything here is a thin wrapper over one system call or one /proc file, through ``os``
and ``ctypes`` (Python's ``mmap`` module hides the mapping's address, which pagemap needs).
The folio census follows kernel-measurements.md: map the file ``MAP_SHARED``, fault in the
pages that are already cached (``MADV_RANDOM`` first, so no fault starts readahead), read
each page's PFN from ``/proc/self/pagemap`` and its flags from ``/proc/kpageflags``; a folio
is a page that is not ``COMPOUND_TAIL`` plus the run of tail pages after it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np

from pagelab.errors import PagelabError
from pagelab.units import ceil_div

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MAX_XAS_ORDER = 11  # MAX_PAGECACHE_ORDER never exceeds this (xas_split_alloc limit)

# include/uapi/linux/kernel-page-flags.h
KPF_COMPOUND_HEAD = 15
KPF_COMPOUND_TAIL = 16
KPF_THP = 22
# Documentation/admin-guide/mm/pagemap.rst
PM_PRESENT = np.uint64(1 << 63)
PM_PFN_MASK = np.uint64((1 << 55) - 1)

MADV_RANDOM = 1
MADV_POPULATE_READ = 22  # Linux 5.14; older kernels fall back to touching each page
_MAP_FAILED = ctypes.c_void_p(-1).value

KPAGEFLAGS = "/proc/kpageflags"
PAGEMAP = "/proc/self/pagemap"


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


_LIBC: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The C library, loaded once (only on first use, so importing works off Linux)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = _libc()
    return _LIBC


def _os_error(what: str, path: Path | str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}", str(path))


class CensusRace(PagelabError):
    """The page cache changed while a census was being taken: measure that file again."""


def _read_bytes() -> int | None:
    """Bytes this process made the block layer read (/proc/self/io), None if not accounted."""
    try:
        with open("/proc/self/io") as handle:
            for line in handle:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def page_count(size: int) -> int:
    """4 KiB pages that hold ``size`` bytes: ceil(size / 4096)."""
    return ceil_div(size, PAGE_SIZE)


class FileMapping:
    """A ``PROT_READ, MAP_SHARED`` mapping of a file's first ``pages`` pages, by address."""

    def __init__(self, path: Path, pages: int) -> None:
        self.path = path
        self.pages = pages
        self.length = pages * PAGE_SIZE
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            addr = libc().mmap(None, self.length, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, _MAP_FAILED):
                raise _os_error("mmap", path)
        finally:
            os.close(fd)  # the mapping keeps the file referenced
        self.addr: int = addr

    def close(self) -> None:
        """Unmap (a page that stays mapped cannot be evicted)."""
        if self.addr:
            libc().munmap(self.addr, self.length)
            self.addr = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advise(self, advice: int, first: int = 0, count: int | None = None) -> None:
        """madvise() on pages [first, first + count)."""
        count = self.pages - first if count is None else count
        if libc().madvise(self.addr + first * PAGE_SIZE, count * PAGE_SIZE, advice) != 0:
            raise _os_error(f"madvise({advice})", self.path)

    def resident(self) -> np.ndarray:
        """mincore(): one bool per page, True where the page cache holds it (like fincore)."""
        vec = (ctypes.c_ubyte * self.pages)()
        if libc().mincore(self.addr, self.length, vec) != 0:
            raise _os_error("mincore", self.path)
        return (np.ctypeslib.as_array(vec) & 1).astype(bool)

    def populate(self, first: int, count: int) -> None:
        """Map cached pages [first, first + count) into our page tables without new I/O."""
        try:
            self.advise(MADV_POPULATE_READ, first, count)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            for page in range(first, first + count):  # pre-5.14 kernels: touch each page
                ctypes.c_char.from_address(self.addr + page * PAGE_SIZE).value  # noqa: B018

    def pagemap(self) -> np.ndarray:
        """The /proc/self/pagemap entry (u64) of every page of the mapping."""
        with open(PAGEMAP, "rb", buffering=0) as handle:
            raw = os.pread(handle.fileno(), self.pages * 8, (self.addr >> PAGE_SHIFT) * 8)
        return np.frombuffer(raw, dtype=np.uint64)


def resident_pages(path: Path, size: int) -> int:
    """Pages of ``path``'s first ``size`` bytes that are in the page cache (mincore)."""
    pages = page_count(size)
    if pages == 0:
        return 0
    with FileMapping(path, pages) as mapping:
        return int(mapping.resident().sum())


def evict(path: Path, size: int, sync: bool = True) -> int:
    """``POSIX_FADV_DONTNEED`` the whole file (after fsync if ``sync``); return the pages still cached."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if sync:
            os.fsync(fd)  # DONTNEED drops only clean pages
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return resident_pages(path, size)


def kpageflags(pfns: np.ndarray) -> np.ndarray:
    """/proc/kpageflags of each PFN; one pread per run of consecutive PFNs."""
    flags = np.zeros(pfns.shape[0], dtype=np.uint64)
    if pfns.shape[0] == 0:
        return flags
    breaks = np.flatnonzero(np.diff(pfns.astype(np.int64)) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [pfns.shape[0]]))
    with open(KPAGEFLAGS, "rb", buffering=0) as handle:
        fd = handle.fileno()
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            raw = os.pread(fd, (hi - lo) * 8, int(pfns[lo]) * 8)
            flags[lo:hi] = np.frombuffer(raw, dtype=np.uint64)
    return flags


def _bit(flags: np.ndarray, bit: int) -> np.ndarray:
    return ((flags >> np.uint64(bit)) & np.uint64(1)).astype(bool)


def _tails_after(pfn: int, limit: int) -> int:
    """How many COMPOUND_TAIL pages follow ``pfn`` in physical memory (at most ``limit``)."""
    if limit <= 0:
        return 0
    flags = kpageflags(np.arange(pfn + 1, pfn + 1 + limit, dtype=np.uint64))
    not_tail = np.flatnonzero(~_bit(flags, KPF_COMPOUND_TAIL))
    return int(not_tail[0]) if not_tail.size else limit


def _runs(mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, count) of each run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    for lo, hi in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        yield lo, hi - lo


def folio_census(path: Path, size: int, max_order: int) -> tuple[int, np.ndarray]:
    """Census of the folios caching ``path``: (resident pages, folios per order 0..max_order).

    Needs root (PFNs in pagemap need CAP_SYS_ADMIN; /proc/kpageflags is root-only). Only
    pages already cached are faulted in, so the census adds nothing to the page cache. The
    last folio is followed past the mapping in physical memory, so a tmpfs ``huge=always``
    folio that extends past EOF is counted whole.
    """
    counts = np.zeros(max_order + 1, dtype=np.int64)
    pages = page_count(size)
    if pages == 0:
        return 0, counts
    with FileMapping(path, pages) as mapping:
        mapping.advise(MADV_RANDOM)  # a fault must never start readahead
        resident = mapping.resident()
        before = _read_bytes()
        for first, count in _runs(resident):
            mapping.populate(first, count)
        # A page reclaimed between mincore() and the fault would be read back in a new
        # folio; the block layer accounts that read to us, so any read here voids the census.
        if _read_bytes() != before:
            raise CensusRace(f"{path}: a page was read from disk during the census (reclaimed meanwhile)")
        entries = mapping.pagemap()
        present = (entries & PM_PRESENT) != 0
        if not np.array_equal(present, resident):
            raise CensusRace(f"{path}: the page cache changed during the census (reclaim)")
        pfns = entries[present] & PM_PFN_MASK
        if pfns.size and not pfns.any():
            raise PagelabError("/proc/self/pagemap hides PFNs: the folio census needs CAP_SYS_ADMIN (root)")
        flags = kpageflags(pfns)
        tail = _bit(flags, KPF_COMPOUND_TAIL)
        index = np.flatnonzero(present)
        # A folio starts at every page that is not a tail, and (defensively) wherever the
        # file index or the PFN does not continue the previous page.
        starts = ~tail
        if pfns.size:
            starts[1:] |= (np.diff(index) != 1) | (np.diff(pfns.astype(np.int64)) != 1)
            starts[0] = True
        first_pages = np.flatnonzero(starts)
        lengths = np.diff(np.append(first_pages, pfns.size))
        compound = _bit(flags, KPF_COMPOUND_HEAD) | tail
        if lengths.size and index[-1] == pages - 1 and compound[-1]:
            # The folio holding the last page may continue past the mapping (tmpfs
            # huge=always rounds up): follow its tail pages in physical memory.
            lengths[-1] += _tails_after(int(pfns[-1]), (1 << max_order) - int(lengths[-1]))
    orders = np.log2(np.maximum(lengths, 1)).astype(np.int64) if lengths.size else lengths
    bad = (lengths != (1 << orders)) | (orders > max_order)
    if bad.any():
        raise CensusRace(
            f"{path}: a folio of {int(lengths[bad][0])} pages (not a power of two up to order "
            f"{max_order}): the page cache changed during the census"
        )
    np.add.at(counts, orders, 1)
    return int(resident.sum()), counts


def meminfo(refresh: bool = False) -> dict[str, int]:
    """/proc/meminfo in bytes. ``refresh`` first folds the per-CPU vmstat deltas (root).

    Without the fold, counters such as Shmem lag by up to a few hundred KiB per CPU
    (vm_stat_diff batching), which would blur a per-file measurement.
    """
    if refresh:
        with open("/proc/sys/vm/stat_refresh") as handle:  # reading it flushes every CPU's deltas
            handle.read()
    values: dict[str, int] = {}
    with open("/proc/meminfo") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            fields = rest.split()
            if fields:
                values[name] = int(fields[0]) * (1024 if fields[1:] == ["kB"] else 1)
    return values


def pmd_order() -> int:
    """Largest page-cache folio order: the PMD order (9 on x86-64), at most 11."""
    try:
        pmd = int(Path("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size").read_text())
    except (OSError, ValueError):
        return 8  # MAX_PAGECACHE_ORDER without THP
    return min(pmd.bit_length() - 1 - PAGE_SHIFT, MAX_XAS_ORDER)
