"""Page-cache residency and folio census of files after a cold sequential read.

For each read size, batch by batch: evict the batch's files (``POSIX_FADV_DONTNEED``
after fsync, checked with mincore), then one fresh helper process (``reader.py``) opens
each file, reads it to EOF with ``read()`` calls of that size, and at once records the
resident pages (mincore, like ``fincore``) and, as root, the folio census (pagemap +
kpageflags). The files are copies or generated files in a workspace pagelab made;
nothing else is evicted, read for measurement or modified.

The predictions use this machine's facts: the ``read_ahead_kb`` of the device under the
workspace, the PMD order as the largest folio, and the ``read()`` size used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from polars._typing import PolarsDataType

from pagelab.errors import PagelabError
from pagelab.measure import compare, kernel
from pagelab.measure.output import Measurement, finish, provenance
from pagelab.measure.safety import (
    check_disk,
    check_memory,
    cleanup_on_signals,
    is_root,
    require_linux,
    workspace,
)
from pagelab.measure.sample import Sample
from pagelab.measure.storage import Mount, Readahead, mount_of, readahead_of
from pagelab.units import format_bytes

_CHUNK = 1 << 20
_EVICT_TRIES = 5
_MEASURE_TRIES = 3
# One helper process reads a batch; the batch is evicted again before the next one, so
# the page cache the measurement holds at any time stays below BATCH_BYTES.
BATCH_BYTES = 256 << 20
BATCH_FILES = 2048


def schema(max_order: int) -> dict[str, PolarsDataType]:
    """Columns of a pagecache measurement, in order."""
    columns: dict[str, PolarsDataType] = {
        "measure": pl.String,
        "source": pl.String,  # kernel | base4k | folio
        "fs_type": pl.String,
        "read_size": pl.Int64,
        "read_ahead_kb": pl.Int64,  # null on tmpfs (no readahead)
        "file": pl.Int64,
        "size": pl.Int64,
        "resident_pages": pl.Int64,  # pages of [0, size) in the page cache (mincore)
        "pages": pl.Int64,  # pages in the file's folios (census; null without root)
        "bytes": pl.Int64,  # pages * 4096
        "folios": pl.Int64,
    }
    columns.update({name: pl.Int64 for name in compare.order_columns(max_order)})
    return columns


def batches(sizes: list[int]) -> list[list[int]]:
    """File indices, in order, in batches of at most BATCH_FILES files and BATCH_BYTES of
    page cache (a bigger file is a batch of its own)."""
    out: list[list[int]] = [[]]
    held = 0
    for index, size in enumerate(sizes):
        footprint = kernel.page_count(size) * kernel.PAGE_SIZE
        if out[-1] and (held + footprint > BATCH_BYTES or len(out[-1]) >= BATCH_FILES):
            out.append([])
            held = 0
        out[-1].append(index)
        held += footprint
    return out


def _make_files(sample: Sample, directory: Path) -> list[Path]:
    """Write (or copy) the sample's files into ``directory`` as f000000, f000001, ..."""
    paths = []
    block = b"\x5a" * _CHUNK
    for index, size in enumerate(sample.sizes.tolist()):
        path = directory / f"f{index:06d}"
        if sample.sources:
            try:
                shutil.copyfile(sample.sources[index], path, follow_symlinks=False)
            except OSError as exc:
                raise PagelabError(f"{sample.sources[index]}: cannot copy: {exc.strerror}") from None
            if path.stat().st_size != size:
                raise PagelabError(f"{sample.sources[index]}: changed size while being copied")
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                left = size
                while left:
                    left -= os.write(fd, block[: min(left, _CHUNK)])
            finally:
                os.close(fd)
        paths.append(path)
    return paths


def _evict(paths: list[Path], sizes: list[int], sync: bool) -> None:
    """Drop every file from the page cache and check with mincore that nothing is left."""
    for path, size in zip(paths, sizes, strict=True):
        left = kernel.evict(path, size, sync=sync)
        for attempt in range(_EVICT_TRIES):
            if left == 0:
                break
            time.sleep(0.02 * (attempt + 1))  # writeback may still hold a page
            left = kernel.evict(path, size, sync=True)
        if left:
            raise PagelabError(f"{path}: {left} page(s) stay cached after POSIX_FADV_DONTNEED (mapped elsewhere?)")


def read_and_measure(paths: list[Path], sizes: list[int], read_size: int, max_order: int) -> list[list[int] | None]:
    """Run one fresh helper process over ``paths``: read each file, then measure it at once.

    Returns per file ``[resident]`` or, when ``max_order`` >= 0, ``[resident, o0, ..., oN]``;
    None where the page cache changed under the census.
    """
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    listing = "".join(f"{size}\t{path}\n" for path, size in zip(paths, sizes, strict=True))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pagelab.measure.reader", str(read_size), str(max_order)],
            input=listing,
            text=True,
            capture_output=True,
            env=env,
            check=False,  # the exit status is turned into a one-line error below
        )
    except OSError as exc:
        raise PagelabError(f"cannot start the reader process {sys.executable}: {exc.strerror}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise PagelabError(f"the reader process failed (exit {done.returncode}): {last}")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    if len(rows) != len(paths):
        raise PagelabError(f"the reader process measured {len(rows)} of {len(paths)} files")
    return rows


def _measure(
    paths: list[Path], sizes: list[int], read_size: int, max_order: int, *, evict: bool, sync: bool
) -> tuple[list[list[int]], int]:
    """Evict, read in a fresh process and measure every file, batch by batch.

    A file whose pages are not all resident right after its full read lost them to
    reclaim between the read and the measurement (each read() found every page in the
    cache), so it is evicted and measured again, up to _MEASURE_TRIES times. A census
    that disagrees with the model is never retried. Returns the rows and how many files
    needed another try. ``evict`` is False on tmpfs, whose pages are the files.
    """
    rows: list[list[int] | None] = [None] * len(paths)
    retried: set[int] = set()
    for batch in batches(sizes):
        todo = batch
        for attempt in range(_MEASURE_TRIES if evict else 1):
            if evict:
                _evict([paths[i] for i in todo], [sizes[i] for i in todo], sync and attempt == 0)
            measured = read_and_measure([paths[i] for i in todo], [sizes[i] for i in todo], read_size, max_order)
            for index, row in zip(todo, measured, strict=True):
                rows[index] = row
            todo = [i for i in todo if (got := rows[i]) is None or got[0] != kernel.page_count(sizes[i])]
            if not todo:
                break
            retried.update(todo)
        if evict:  # bound the page cache held at once
            _evict([paths[i] for i in batch], [sizes[i] for i in batch], False)
    failed = [i for i, row in enumerate(rows) if row is None]
    if failed:
        raise PagelabError(f"{paths[failed[0]]}: the page cache kept changing during the census")
    return rows, len(retried)  # type: ignore[return-value]


def _kernel_frame(
    rows: list[list[int]], sample: Sample, mount: Mount, readahead: Readahead | None, read_size: int, max_order: int
) -> pl.DataFrame:
    """Kernel rows of one read size from the helper's ``[resident(, o0..oN)]`` lists."""
    n = len(rows)
    table = np.asarray(rows, dtype=np.int64).reshape(n, -1)
    census = table.shape[1] > 1
    orders = {
        f"o{k}": pl.Series(f"o{k}", table[:, k + 1] if census else [None] * n, pl.Int64) for k in range(max_order + 1)
    }
    frame = pl.DataFrame({"resident_pages": table[:, 0], **orders})
    return frame.with_columns(
        measure=pl.lit("pagecache"),
        source=pl.lit("kernel"),
        fs_type=pl.lit(mount.fstype),
        read_size=pl.lit(read_size, pl.Int64),
        read_ahead_kb=pl.lit(readahead.read_ahead_kb if readahead else None, pl.Int64),
        file=pl.Series(np.arange(n, dtype=np.int64)),
        size=pl.Series(sample.sizes),
        pages=compare.pages_expr(max_order),
        folios=pl.sum_horizontal(compare.order_columns(max_order)) if census else pl.lit(None, pl.Int64),
    ).with_columns(bytes=pl.col("pages") * kernel.PAGE_SIZE)


def folio_mode(mount: Mount, readahead: Readahead | None) -> compare.FolioMode:
    """How the folio strategy models files on ``mount``.

    Block file systems: the readahead ramp, or order-0 when ``read_ahead_kb`` is below one
    page (``ra_pages`` 0: every miss reads one page, ``force_page_cache_ra()``). tmpfs: no
    readahead; the folios come from the writes, ``huge=always`` rounds every file up to
    PMD folios (``eof: round_up``), and anything else is compared with order-0
    (``within_size`` sizes folios by the write, which no strategy models).
    """
    if not mount.in_memory:
        return "readahead" if readahead is None or readahead.read_ahead_kb >= 4 else "order0"
    return "round_up" if mount.option("huge", "never") == "always" else "order0"


def damon_pageout_active() -> bool:
    """Is a DAMON scheme paging memory out (it reclaims cold, unmapped page cache)?"""
    try:
        for kdamond in Path("/sys/kernel/mm/damon/admin/kdamonds").glob("[0-9]*"):
            if (kdamond / "state").read_text().strip() != "on":
                continue
            for action in kdamond.glob("contexts/*/schemes/*/action"):
                if action.read_text().strip() == "pageout":
                    return True
    except OSError:
        return False
    return False


def measure_pagecache(
    sample: Sample, read_sizes: list[int], parent: Path, *, census: bool | None = None
) -> Measurement:
    """Measure ``sample`` in a workspace under ``parent`` once per read size; see the module doc.

    ``census`` defaults to "when root"; asking for it without root is refused. Memory:
    one batch (at most 256 MiB, or one larger file) is cached at a time, except on tmpfs
    where the whole sample is memory; either must fit in half of MemAvailable.
    """
    require_linux("pagelab measure pagecache")
    if not read_sizes or min(read_sizes) <= 0:
        raise PagelabError(f"--read-size: must be positive, got {read_sizes}")
    root = is_root()
    if census is None:
        census = root
    elif census and not root:
        raise PagelabError("the folio census needs root (/proc/kpageflags and PFNs in /proc/self/pagemap)")
    parent = Path(parent)
    if not parent.is_dir():
        raise PagelabError(f"--dir {parent}: not a directory")
    mount = mount_of(parent)
    readahead: Readahead | None = None if mount.in_memory else readahead_of(parent)
    max_order = kernel.pmd_order()
    sizes = sample.sizes.tolist()
    if mount.in_memory:
        footprint = sum(kernel.page_count(s) for s in sizes) * kernel.PAGE_SIZE
        check_memory(footprint, f"a sample of {len(sizes)} files on {mount.describe}")
    else:
        largest = max(sum(kernel.page_count(sizes[i]) for i in b) for b in batches(sizes)) * kernel.PAGE_SIZE
        check_memory(largest, "the largest batch of the page-cache sample")
        check_disk(parent, int(sample.sizes.sum()))

    kernel_parts = []
    remeasured = 0
    census_order = max_order if census else -1
    with cleanup_on_signals(), workspace(parent) as directory:
        paths = _make_files(sample, directory)
        for number, read_size in enumerate(read_sizes):
            rows, retried = _measure(paths, sizes, read_size, census_order, evict=not mount.in_memory, sync=number == 0)
            remeasured += retried
            kernel_parts.append(_kernel_frame(rows, sample, mount, readahead, read_size, max_order))

    columns = schema(max_order)
    measured = pl.concat([part.select(list(columns)) for part in kernel_parts])
    mode = folio_mode(mount, readahead)
    frame = compare.with_predictions(
        measured,
        group="read_size",
        folio_mode=lambda _value: mode,
        read_ahead_kb=readahead.read_ahead_kb if readahead else None,
        max_order=max_order,
        io_pages=readahead.io_pages if readahead else None,
    )
    frame = finish(frame, columns, ["read_size", "file", "source"])
    comparisons = [("resident pages", "base4k", "resident")]
    if census:
        comparisons.append(("folio census", "folio", "census"))
        if not compare.large_folios_seen(frame, max_order) and mode != "order0":
            comparisons.append(("folio census", "base4k", "census"))  # the order-0 fallback
    summary, differences = compare.agreement(frame, group="read_size", max_order=max_order, comparisons=comparisons)
    notes = _notes(frame, mount, readahead, read_sizes, census, max_order, mode, remeasured)
    metadata = provenance(
        "pagecache",
        fs=mount.describe,
        device=readahead.device if readahead else None,
        read_ahead_kb=readahead.read_ahead_kb if readahead else None,
        io_pages=readahead.io_pages if readahead else None,
        max_order=max_order,
        read_sizes=",".join(str(r) for r in read_sizes),
        sample=sample.origin,
        census="yes" if census else "no (needs root)",
        folio_model=mode,
    )
    return Measurement(frame, metadata, {"agreement": summary, "differences": differences}, tuple(notes))


def _notes(
    frame: pl.DataFrame,
    mount: Mount,
    readahead: Readahead | None,
    read_sizes: list[int],
    census: bool,
    max_order: int,
    mode: compare.FolioMode,
    remeasured: int,
) -> list[str]:
    """What a reader of the agreement table must know about this machine and run."""
    notes = []
    if not census:
        notes.append("folio census skipped: it needs root (/proc/kpageflags, PFNs in /proc/self/pagemap)")
    if mount.in_memory:
        notes.append(
            f"{mount.describe}: the page cache is the file itself, so nothing was evicted and no "
            "readahead ran; the folios are the ones the writes allocated"
        )
    if census and not compare.large_folios_seen(frame, max_order):
        predicted = (
            frame.filter(pl.col("source") == "folio")
            .select(pl.sum_horizontal(compare.order_columns(max_order)[1:]).sum())
            .item()
        )
        if mode == "order0":
            why = "order-0 is also the folio prediction for this file system"
        elif predicted:
            why = "the folio model predicts large ones: the file system does not use them"
        else:
            why = "the folio model predicts none for these sizes either"
        notes.append(
            f"{mount.describe} used no large folios for these files (every folio is order 0; {why}): "
            "the census is compared against order-0 (base4k)"
        )
    if readahead is not None and mode == "readahead":
        window = readahead.read_ahead_kb // 4
        io_pages = readahead.io_pages or 0
        for read_size in read_sizes:
            req = kernel.page_count(read_size)
            if req > window and io_pages > window:
                notes.append(
                    f"read size {format_bytes(read_size)} exceeds the {readahead.read_ahead_kb} KiB window and the "
                    f"device's io_pages ({io_pages}) is larger still: the kernel widens the window to "
                    f"{min(req, io_pages)} pages (ractl_max_pages()), and so does the folio model"
                )
    if readahead is not None and readahead.read_ahead_kb < 4:
        notes.append(
            f"read_ahead_kb is {readahead.read_ahead_kb}: readahead is off, every miss reads one page "
            "(order 0); the folio prediction is order-0"
        )
    if remeasured:
        why = "a DAMON pageout scheme is active here" if damon_pageout_active() else "memory pressure"
        notes.append(
            f"{remeasured} file(s) lost pages to reclaim between their read and the census ({why}) and were "
            "evicted and measured again"
        )
    return notes
