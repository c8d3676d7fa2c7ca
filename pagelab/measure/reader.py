"""The fresh reader: ``python -m pagelab.measure.reader READ_SIZE MAX_ORDER`` (one process per batch).

For each ``size<TAB>path`` line on stdin it opens the file, reads it to EOF with
``read()`` calls of exactly READ_SIZE bytes (``readv`` with one buffer takes the same
``filemap_read()`` path), closes it, and at once records what the page cache holds:
one JSON line ``[resident]``, or with MAX_ORDER >= 0 (root) ``[resident, o0, ..., oN]``.

Why one process for many files is as good as one process per file: the readahead state
lives in ``struct file`` (``file->f_ra``, zeroed by ``file_ra_state_init()`` at open),
so every open starts cold whatever the process did before; nothing per process feeds
readahead. The tests check this against the kernel.

Why measure at once, in the same process: page cache that nobody maps can be reclaimed
at any moment (on our VMs a DAMON ``pageout`` scheme takes unmapped cold page cache),
so the census follows the read within milliseconds instead of after the whole batch.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pagelab.errors import PagelabError
from pagelab.measure import kernel


def read_sequentially(path: str, views: list[memoryview]) -> None:
    """Read ``path`` from offset 0 to EOF with fixed-size read() calls, in a fresh open()."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        while os.readv(fd, views):
            pass
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    """Read and measure every file named on stdin; one JSON line per file on stdout."""
    read_size, max_order = int(argv[0]), int(argv[1])
    views = [memoryview(bytearray(read_size))]
    out = sys.stdout
    for line in sys.stdin:
        size_text, _, path = line.rstrip("\n").partition("\t")
        size = int(size_text)
        read_sequentially(path, views)
        try:
            if max_order >= 0:
                resident, counts = kernel.folio_census(Path(path), size, max_order)
                row: list[int] | None = [resident, *counts.tolist()]
            else:
                row = [kernel.resident_pages(Path(path), size)]
        except kernel.CensusRace:
            row = None  # the page cache changed under the census: the parent measures it again
        out.write(json.dumps(row) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except PagelabError as error:  # one line for the parent to pass on
        print(error, file=sys.stderr)
        sys.exit(2)
