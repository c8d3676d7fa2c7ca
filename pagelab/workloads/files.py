"""Page-cache requests: files drawn from a files dataset to fill a RAM budget, or all of them."""

from __future__ import annotations

import numpy as np
import polars as pl

from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.units import parse_size_or_share
from pagelab.workloads.draw import draw_until


def cache_budget(cache: str, installed: int) -> int | None:
    """RAM the page cache may take: a size, a percentage of ``installed``, or None for "all"."""
    if cache.strip() == "all":
        return None
    return parse_size_or_share(cache, "workload.files.cache", installed, most=100)


def every_file(dataset_ref: str, seed: int) -> pl.DataFrame:
    """Every file of the dataset as unique (size, count) rows: ``cache=all``."""
    return datasets.all_files(datasets.resolve(dataset_ref, "files", "workload.files.dataset"), seed)


def file_candidates(dataset_ref: str, budget: int, seed: int) -> np.ndarray:
    """Files in draw order (seeded, count-weighted) until their bytes pass ``budget``.

    A strategy allocates at least a file's bytes, so these are enough to fill a page
    cache of ``budget`` bytes of RAM; placement caches the prefix that fits.
    """
    dataset = datasets.resolve(dataset_ref, "files", "workload.files.dataset")
    datasets.read_table(dataset)  # validate before drawing
    try:
        return draw_until(lambda n, rng: datasets.sample_files(dataset, n, rng), budget, seed, inclusive=True)
    except ValueError as error:
        raise PagelabError(f"workload.files.dataset={dataset_ref}: {error}") from None
