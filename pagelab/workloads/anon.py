"""Anonymous memory drawn from a ``mappings`` dataset (``pagelab scan-procs`` output).

Resident anonymous mappings are drawn (seeded, each mapping equally likely, with
replacement) until their RSS would pass the budget ``workload.anon.total``. Each drawn
mapping becomes one request of its RSS rounded up to 4 KiB: the memory it really
occupies, laid out as if its resident pages were contiguous. A strategy with larger
pages then rounds each mapping up to its page, so that is the least it can waste;
scattered resident pages (clustering's ``anon_fill``) cost more.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.workloads.draw import draw_until

_STREAM = 0x5EED  # offsets the seed of the anon draw


def sampled_mappings(dataset_ref: str, budget: int, seed: int) -> pl.DataFrame:
    """Drawn anonymous mappings as unique (size, count) rows, sorted; at most ``budget`` bytes."""
    dataset = datasets.resolve(dataset_ref, "mappings", "workload.anon.dataset")
    datasets.resident_anon(dataset)  # validate before drawing
    try:
        # A stream of its own: the page-cache draw uses the plain seed.
        sizes = draw_until(lambda n, rng: datasets.sample_anon(dataset, n, rng), budget, seed + _STREAM, inclusive=False)
    except ValueError as error:
        raise PagelabError(f"workload.anon.dataset={dataset_ref}: {error}") from None
    values, counts = np.unique(sizes, return_counts=True)
    return pl.DataFrame({"size": values.astype(np.int64), "count": counts.astype(np.int64)})
