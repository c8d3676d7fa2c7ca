"""Page-cache folios that readahead creates for a cold sequential ``read()`` of a file.

Models Linux 6.18 ``mm/readahead.c`` and ``mm/filemap.c`` for a file system with large
folios (ext4 since 6.16, XFS), read from offset 0 to EOF with ``read()`` calls of a fixed
size, on a 4 KiB-page machine:

- ``filemap_get_pages()``: the first ``read()`` misses and calls ``page_cache_sync_ra()``;
  a later ``read()`` that reaches the folio flagged ``PG_readahead`` calls
  ``filemap_readahead()`` -> ``page_cache_async_ra()`` (``filemap_get_read_batch()`` ends a
  batch at the flagged folio, so the first read to touch it always triggers).
- ``page_cache_sync_ra()``: ``ra->size = get_init_ra_size(req_count, max_pages)``,
  ``async_size = size - req_count`` (or ``size / 2``), ``ra->order = 0``.
- ``page_cache_async_ra()``: ``ra->start += ra->size``, ``ra->size = max(size,
  get_next_ra_size())``, ``ra->order += 2``, window end rounded down to
  ``1 << min(ra->order, ffs(max_pages) - 1)``, ``async_size = size``.
- ``page_cache_ra_order()``: order = ``min(ra->order, max_order, ilog2(ra->size))`` (and
  ``ra->order`` is set to it), walk the window with natural alignment (``__ffs(index)``
  when misaligned), shrink folios so none passes the page holding EOF, and flag the folio
  holding ``start + size - async_size`` (``ra_alloc_folio()``).

A window that would start past the page holding EOF adds nothing, so the flag on the
last window never matters. With ``read_ahead_kb=4`` the 1-page window has ``async_size`` 0,
its flag would land past the window, and every ``read()`` misses and reads one page.

``max_pages`` is ``read_ahead_kb / 4``, widened as ``ractl_max_pages()`` does when the
device's ``io_pages`` is given: a ``read()`` larger than the window may read up to
``min(read pages, io_pages)`` at once. Not modelled: allocation failures and pages already
cached.

``eof="round_up"`` models tmpfs ``huge=always``: every folio has ``max_order`` and the last
one extends past EOF.

How it is vectorised: the windows of a file never depend on its size except that the
window holding the EOF page is cut short and nothing follows it. So the window list of an
endless file is built once per parameter set, up to the point where it turns periodic
(window ``i`` and ``j`` have the same size, order and start modulo the largest alignment
that matters). Per file, a search finds the window holding the EOF page, prefix sums give
the folios of the whole windows before it, and bit arithmetic splits the cut window.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from pagelab.units import ceil_div

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MAX_ORDER_LIMIT = 11  # MAX_XAS_ORDER: xas_split_alloc() cannot split bigger entries
_CYCLE_LIMIT = 1 << 16  # windows simulated before giving up on finding the period

__all__ = ["folio_census"]


def _ilog2(n: int) -> int:
    return n.bit_length() - 1


def _ctz(n: int) -> int:
    return (n & -n).bit_length() - 1


def _get_init_ra_size(size: int, max_pages: int) -> int:
    """mm/readahead.c get_init_ra_size()."""
    newsize = 1 << (size - 1).bit_length()  # roundup_pow_of_two
    if newsize <= max_pages // 32:
        return newsize * 4
    if newsize <= max_pages // 4:
        return newsize * 2
    return max_pages


def _get_next_ra_size(cur: int, max_pages: int) -> int:
    """mm/readahead.c get_next_ra_size()."""
    if cur < max_pages // 16:
        return 4 * cur
    if cur <= max_pages // 2:
        return 2 * cur
    return max_pages


@dataclass(frozen=True)
class _Windows:
    """Readahead windows of an endless file; from ``periodic`` on they repeat every ``period_len`` pages."""

    start: np.ndarray  # int64, first page of each window
    size: np.ndarray  # int64, pages in the window after the natural-boundary trim
    order: np.ndarray  # int64, largest folio order used in the window
    cum: np.ndarray  # int64 (orders, windows + 1): folios of the windows before each index
    periodic: int  # index of the first window of the repeating block
    period_len: int  # pages spanned by one repetition
    period_counts: np.ndarray  # int64 (orders,): folios in one repetition


@functools.lru_cache(maxsize=128)
def _windows(req_pages: int, max_pages: int, max_order: int) -> _Windows:
    """Simulate page_cache_sync_ra()/page_cache_async_ra() until the window list repeats."""
    # Everything a window does depends on its start only modulo the largest alignment in
    # play: the folio order (<= max_order) and the end trim (<= 1 << ctz(max_pages)).
    modulus = 1 << max(max_order, min(max_order + 2, _ctz(max_pages)))
    starts: list[int] = []
    sizes: list[int] = []
    orders: list[int] = []
    seen: dict[tuple[int, int, bool, int], int] = {}

    start, ra_order, size = 0, 0, 0
    marked = False  # False: the next window is a sync one (also the very first)
    while True:
        if marked:  # page_cache_async_ra(), sequential branch
            start += size
            size = max(size, _get_next_ra_size(size, max_pages))
            ra_order += 2
            align = 1 << min(ra_order, _ctz(max_pages))
            end = start + size
            aligned_end = end - end % align
            if aligned_end > start:
                size -= end - aligned_end
            async_size = size
        else:  # page_cache_sync_ra(), start of file or sequential miss
            start += size
            size = _get_init_ra_size(req_pages, max_pages)
            async_size = size - req_pages if size > req_pages else size >> 1
            ra_order = 0
        # page_cache_ra_order() caps the order and stores it back in ra->order.
        ra_order = min(max_order, ra_order, _ilog2(size))
        # The flag lands only if start + size - async_size is inside the window; it is not
        # when a 1-page window has async_size 0, and then the next read misses (sync again).
        marked = async_size > 0

        key = (size, ra_order, marked, start % modulus)
        if key in seen:
            periodic = seen[key]
            period_len = start - starts[periodic]
            break
        if len(starts) >= _CYCLE_LIMIT:
            raise RuntimeError("readahead window list did not become periodic")
        seen[key] = len(starts)
        starts.append(start)
        sizes.append(size)
        orders.append(ra_order)

    start_a = np.asarray(starts, dtype=np.int64)
    size_a = np.asarray(sizes, dtype=np.int64)
    order_a = np.asarray(orders, dtype=np.int64)
    per_window = _split(start_a, start_a + size_a, order_a, max_order)
    cum = np.zeros((max_order + 1, len(starts) + 1), dtype=np.int64)
    np.cumsum(per_window, axis=1, out=cum[:, 1:])
    return _Windows(
        start=start_a,
        size=size_a,
        order=order_a,
        cum=cum,
        periodic=periodic,
        period_len=period_len,
        period_counts=cum[:, -1] - cum[:, periodic],
    )


def _bit_length(x: np.ndarray) -> np.ndarray:
    """Exact bit length of non-negative int64 values (floats would round above 2**53)."""
    x = x.copy()
    n = np.zeros_like(x)
    for shift in (32, 16, 8, 4, 2, 1):
        high = x >> shift
        has = high > 0
        x = np.where(has, high, x)
        n += has * shift
    return n + (x > 0)


def _split(
    a: np.ndarray, b: np.ndarray, cap: np.ndarray, max_order: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Folios per order (rows) that page_cache_ra_order() puts in pages [a, b), order <= cap.

    The kernel's loop (order = cap; if misaligned order = __ffs(index); shrink while the
    folio passes b - 1) is a greedy split into naturally aligned blocks. Let m be the most
    aligned page boundary in [a, b] (alignment capped at 2**cap). Then [a, m) is one block
    per set bit of m - a (ascending), [m, b) is (b - m) >> cap blocks of order cap and then
    one block per set bit of the remainder (descending). Requires a < b. Adds into ``out``.
    """
    one = np.int64(1)
    # Highest j with a multiple of 2**j in [a, b] is the top bit where a - 1 and b differ.
    top = _bit_length(np.where(a > 0, (a - 1) ^ b, 0)) - 1
    j = np.where(a > 0, np.minimum(cap, top), cap)
    m = ((a + (one << j) - 1) >> j) << j
    asc = m - a
    rest = b - m
    mid = rest >> cap
    desc = rest & ((one << cap) - 1)
    if out is None:
        out = np.zeros((max_order + 1, a.shape[0]), dtype=np.int64)
    for k in range(max_order + 1):  # asc and desc have no bits at or above cap
        out[k] += ((asc >> k) & 1) + ((desc >> k) & 1)
    out[cap, np.arange(a.shape[0])] += mid
    return out


def _trim_counts(pages: np.ndarray, w: _Windows, max_order: int) -> np.ndarray:
    """Folios per order (rows) for files of ``pages`` pages, trim-at-EOF mode."""
    present = pages > 0
    last = np.where(present, pages - 1, 0)  # index of the page holding EOF
    n_windows = w.start.shape[0]
    first_periodic = w.start[w.periodic]
    in_cycle = last >= first_periodic

    # Files ending in the repeating block: shift by whole repetitions, then search it.
    reps = np.where(in_cycle, (last - first_periodic) // w.period_len, 0)
    offset = reps * w.period_len
    rel = w.start[w.periodic :] - first_periodic
    idx_cycle = w.periodic + np.searchsorted(rel, last - offset - first_periodic, side="right") - 1
    idx_head = np.searchsorted(w.start[: w.periodic], last, side="right") - 1
    idx = np.clip(np.where(in_cycle, idx_cycle, idx_head), 0, n_windows - 1)

    a = w.start[idx] + offset
    b = np.minimum(a + w.size[idx], last + 1)
    counts = np.take(w.cum, idx, axis=1)
    for k in np.flatnonzero(w.period_counts):
        counts[k] += w.period_counts[k] * reps
    _split(a, b, w.order[idx], max_order, out=counts)
    if not present.all():
        counts[:, ~present] = 0
    return counts


def _validate(read_size: int, read_ahead_kb: int, max_order: int, eof: str, io_pages: int | None) -> None:
    def is_int(v: object) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(read_size) or read_size <= 0:
        raise ValueError(f"read_size must be a positive number of bytes, got {read_size!r}")
    if not is_int(read_ahead_kb) or read_ahead_kb < 4 or read_ahead_kb % 4:
        raise ValueError(f"read_ahead_kb must be a multiple of 4 and >= 4, got {read_ahead_kb!r}")
    if not is_int(max_order) or not 0 <= max_order <= MAX_ORDER_LIMIT:
        raise ValueError(f"max_order must be in 0..{MAX_ORDER_LIMIT}, got {max_order!r}")
    if eof not in ("trim", "round_up"):
        raise ValueError(f"eof must be 'trim' or 'round_up', got {eof!r}")
    if io_pages is not None and (not is_int(io_pages) or io_pages < 1):
        raise ValueError(f"io_pages must be a positive number of pages, got {io_pages!r}")


def _sizes_array(sizes: pl.Series) -> np.ndarray:
    if not isinstance(sizes, pl.Series):
        sizes = pl.Series(sizes)
    if not sizes.dtype.is_integer():
        raise ValueError(f"sizes must be an integer column, got dtype {sizes.dtype}")
    if sizes.null_count():
        raise ValueError(f"sizes has {sizes.null_count()} null value(s)")
    try:
        arr = sizes.cast(pl.Int64, strict=True).to_numpy()
    except pl.exceptions.PolarsError as exc:
        raise ValueError("sizes do not fit in Int64") from exc
    if arr.size and arr.min() < 0:
        raise ValueError("sizes must not be negative")
    return arr


def folio_census(
    sizes: pl.Series,
    *,
    read_size: int = 4096,
    read_ahead_kb: int = 128,
    max_order: int = 9,
    eof: Literal["trim", "round_up"] = "trim",
    io_pages: int | None = None,
) -> pl.DataFrame:
    """Count the page-cache folios a cold sequential ``read()`` of each file leaves behind.

    Args:
        sizes: file sizes in bytes (integer Series, no nulls, >= 0).
        read_size: bytes asked for by each ``read()`` call; sets the first (sync) window.
        read_ahead_kb: the device's ``read_ahead_kb``; the window tops out at this / 4 pages.
        max_order: largest folio order the mapping allows (9 = 2 MiB on x86-64).
        eof: ``"trim"`` (block file systems: no folio past the page holding EOF) or
            ``"round_up"`` (tmpfs ``huge=always``: all folios are ``max_order``).
        io_pages: the device's ``bdi->io_pages`` (``max_sectors_kb / 4``), or None to
            ignore the widening of the window for large reads.

    Returns:
        One row per input size, same order. Columns: pages (Int64, 4 KiB pages covered by
        folios), folios (Int64, total folios), and o0 .. o{max_order} (Int64, folios of
        each order).

    Raises:
        ValueError: on an invalid parameter or size.
    """
    _validate(read_size, read_ahead_kb, max_order, eof, io_pages)
    size_arr = _sizes_array(sizes)
    # ceil(size / 4096) without the overflow of size + 4095 near 2**63.
    pages = (size_arr >> PAGE_SHIFT) + ((size_arr & (PAGE_SIZE - 1)) != 0)

    if eof == "round_up":
        huge = (pages + (1 << max_order) - 1) >> max_order
        counts = np.zeros((max_order + 1, pages.shape[0]), dtype=np.int64)
        counts[max_order] = huge
        pages = huge << max_order
    else:
        req_pages = ceil_div(read_size, PAGE_SIZE)  # req_count of the first read() at offset 0
        max_pages = read_ahead_kb // 4
        if io_pages is not None and req_pages > max_pages and io_pages > max_pages:
            max_pages = min(req_pages, io_pages)  # ractl_max_pages()
        win = _windows(req_pages, max_pages, max_order)
        counts = _trim_counts(pages, win, max_order)

    columns: dict[str, np.ndarray] = {"pages": pages, "folios": counts.sum(axis=0)}
    for k in range(max_order + 1):
        columns[f"o{k}"] = counts[k]
    return pl.DataFrame({name: pl.Series(name, col, dtype=pl.Int64) for name, col in columns.items()})
