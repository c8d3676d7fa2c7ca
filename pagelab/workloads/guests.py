"""Guest candidates: a seeded sequence of VMs, long enough to fill the machine."""

from __future__ import annotations

import numpy as np
import polars as pl

from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.workloads.draw import draw_until


def guest_candidates(dataset_ref: str, memory: int, seed: int) -> pl.DataFrame:
    """VMs in the order they arrive: ``guest`` (0, 1, ...), ``memory_bytes``, ``vcpus``.

    Guests are drawn until their memory adds up to ``memory``. The sequence depends only
    on the dataset and the seed (a longer one extends a shorter one), so every strategy
    and packing policy is offered the same guests.
    """
    dataset = datasets.resolve(dataset_ref, "vms", "workload.guests.dataset")
    datasets.read_table(dataset)  # validate before drawing
    drawn: list[pl.DataFrame] = []

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        frame = datasets.sample_vms(dataset, n, rng)
        drawn.append(frame)
        return frame["memory_bytes"].to_numpy()

    try:
        sizes = draw_until(draw, memory, seed, inclusive=True)
    except ValueError as error:
        raise PagelabError(f"workload.guests.dataset={dataset_ref}: {error}") from None
    return pl.concat(drawn).head(len(sizes)).with_row_index("guest").with_columns(pl.col("guest").cast(pl.Int64))
