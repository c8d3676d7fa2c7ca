"""Page-cache requests: files drawn from a files dataset up to a budget, or all of them."""

from __future__ import annotations

import numpy as np
import polars as pl

from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.units import parse_size
from pagelab.workloads.draw import draw_until


def cache_budget(cache: str, installed: int) -> int | None:
    """Bytes of files to cache: a size, a percentage of ``installed``, or None for "all"."""
    text = str(cache).strip()
    if text == "all":
        return None
    if text.endswith("%"):
        try:
            share = float(text[:-1])
        except ValueError:
            raise PagelabError(f"workload.files.cache: expected a size, a percentage or 'all', got {cache!r}") from None
        if not 0 <= share <= 100:
            raise PagelabError(f"workload.files.cache: percentage must be within 0-100%, got {cache!r}")
        return int(installed * share / 100)
    return parse_size(text, "workload.files.cache")


def cached_files(dataset_ref: str, cache: str, installed: int | None, seed: int) -> pl.DataFrame:
    """The cached files as unique (size, count) rows.

    Files are drawn (seeded, count-weighted) until their bytes reach the budget; with
    ``cache=all`` every file of the dataset is cached. ``installed`` may be None only
    for ``cache=all``.
    """
    dataset = datasets.resolve(dataset_ref, "files", "workload.files.dataset")
    budget = None if installed is None else cache_budget(cache, installed)
    if budget is None:
        if str(cache).strip() != "all":
            raise PagelabError("workload.installed=auto needs workload.files.cache=all")
        return datasets.all_files(dataset, seed)
    datasets.read_table(dataset)  # validate before drawing
    try:
        sizes = draw_until(lambda n, rng: datasets.sample_files(dataset, n, rng), budget, seed, inclusive=False)
    except ValueError as error:
        raise PagelabError(f"workload.files.dataset={dataset_ref}: {error}") from None
    values, counts = np.unique(sizes, return_counts=True)
    return pl.DataFrame({"size": values.astype(np.int64), "count": counts.astype(np.int64)})
