"""What to measure: file sizes drawn from a dataset (seeded), or the files under a path.

Only sizes leave this module for datasets; for a path, the source files are listed so
they can be copied into the workspace (never measured, evicted or modified in place).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pagelab.datasets import resolve, sample_files
from pagelab.errors import PagelabError


@dataclass(frozen=True)
class Sample:
    """Sizes to measure, and where they came from (for the output's metadata)."""

    sizes: np.ndarray  # int64 bytes, one per file, in file order
    origin: str  # "dataset irlam_ufs93, 40 files, seed 0" or "copies of 12 files under PATH"
    sources: tuple[Path, ...] = ()  # files to copy (path mode), same order as sizes


def from_dataset(name: str, n: int, seed: int) -> Sample:
    """``n`` sizes drawn from the ``files`` dataset ``name`` with ``seed``."""
    if n <= 0:
        raise PagelabError(f"--sample: must be a positive number of files, got {n}")
    dataset = resolve(name, "files", "--dataset")
    sizes = sample_files(dataset, n, np.random.default_rng(seed)).astype(np.int64)
    return Sample(sizes, f"dataset {dataset.name}, {n} files, seed {seed}")


def from_sizes(sizes: list[int] | np.ndarray, origin: str = "given sizes") -> Sample:
    """Explicit sizes (the Python API and the tests)."""
    arr = np.asarray(sizes, dtype=np.int64)
    if arr.ndim != 1 or arr.size == 0:
        raise PagelabError("sizes: need at least one file size")
    if (arr < 0).any():
        raise PagelabError(f"sizes: must not be negative, got {int(arr.min())}")
    return Sample(arr, origin)


def from_path(path: Path, n: int | None, seed: int) -> Sample:
    """Regular files under ``path`` (one file system, symlinks not followed), optionally ``n`` of them."""
    path = Path(path)
    try:
        top = os.lstat(path)
    except OSError as exc:
        raise PagelabError(f"{path}: {exc.strerror}") from None
    found: list[tuple[str, int]] = []
    if stat.S_ISREG(top.st_mode):
        found.append((str(path), top.st_size))
    elif stat.S_ISDIR(top.st_mode):
        for dirpath, dirs, names in os.walk(path, onerror=None):
            # Stay on PATH's file system, like `pagelab scan`.
            dirs[:] = [d for d in dirs if _same_device(os.path.join(dirpath, d), top.st_dev)]
            for name in names:
                full = os.path.join(dirpath, name)
                try:
                    info = os.lstat(full)
                except OSError:
                    continue  # vanished
                if stat.S_ISREG(info.st_mode) and os.access(full, os.R_OK):
                    found.append((full, info.st_size))
    else:
        raise PagelabError(f"{path}: not a regular file or a directory")
    if not found:
        raise PagelabError(f"{path}: no readable regular files")
    found.sort()  # deterministic order whatever the directory order
    if n is not None:
        if n <= 0:
            raise PagelabError(f"--sample: must be a positive number of files, got {n}")
        if n < len(found):
            pick = np.sort(np.random.default_rng(seed).choice(len(found), size=n, replace=False))
            found = [found[i] for i in pick.tolist()]
    sizes = np.array([size for _, size in found], dtype=np.int64)
    return Sample(
        sizes, f"copies of {len(found)} files under the given path (no names kept)", tuple(Path(p) for p, _ in found)
    )


def _same_device(path: str, dev: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_dev == dev
