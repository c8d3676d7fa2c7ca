"""Atomic file output: readers never see a partial file, a crash never leaves one."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pagelab.errors import PagelabError, WriteError


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    An OSError on the way (ENOSPC, EROFS, EACCES) becomes a :class:`WriteError` naming
    ``path``; the temporary file is removed on every exit path, Ctrl-C included.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise WriteError(path, error) from None
    try:
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        yield Path(tmp)
        os.replace(tmp, path)
    except WriteError:
        raise
    except OSError as error:
        raise WriteError(path, error) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` and atomically move the result to ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def atomic_write_parquet(
    frame: pl.DataFrame, path: Path, metadata: dict[str, str] | None = None
) -> None:
    """Write ``frame`` as zstd Parquet with optional key-value metadata, atomically.

    polars writes it (the same bytes for the same frame and metadata), so that writing a
    dataset needs no pyarrow: importing it costs a short command such as ``scan`` 0.2 s.
    """
    atomic_write(path, lambda tmp: frame.write_parquet(tmp, compression="zstd", metadata=metadata or None))


def atomic_write_json(data: object, path: Path) -> None:
    """Write ``data`` as sorted, indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_dataset(frame: pl.DataFrame, path: Path, metadata: dict[str, str]) -> None:
    """Write a dataset atomically; an unwritable path is a one-line user error."""
    try:
        atomic_write_parquet(frame, path, metadata)
    except OSError as error:
        raise PagelabError(f"{path}: cannot write: {error.strerror or error}") from None
