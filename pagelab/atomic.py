"""Atomic file output: readers never see a partial file, a crash never leaves one."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pagelab.errors import PagelabError


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
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

    Goes through pyarrow so that the key-value metadata is stable and the bytes are
    identical for identical frames.
    """
    table = frame.to_arrow()
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


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
