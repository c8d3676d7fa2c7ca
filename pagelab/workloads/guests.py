"""Guest candidates: a seeded sequence of VMs, long enough to fill the machine."""

from __future__ import annotations

import polars as pl

from pagelab import datasets
from pagelab.workloads.draw import draw_until


def guest_candidates(dataset_ref: str, installed: int, seed: int) -> pl.DataFrame:
    """VMs in the order they arrive: ``guest`` (0, 1, ...), ``memory_bytes``, ``vcpus``.

    The sequence depends only on the dataset, the machine size and the seed, so every
    strategy sees the same guests; it ends with the first guest that would overflow
    the installed memory, since packing stops there anyway.
    """
    dataset = datasets.resolve(dataset_ref, "vms", "workload.guests.dataset")
    datasets.read_table(dataset)  # validate before drawing
    drawn: list[pl.DataFrame] = []

    def draw(n: int, rng) -> object:
        frame = datasets.sample_vms(dataset, n, rng)
        drawn.append(frame)
        return frame["memory_bytes"].to_numpy()

    memory = draw_until(draw, installed, seed, inclusive=True)
    return pl.concat(drawn).head(len(memory)).with_row_index("guest").with_columns(pl.col("guest").cast(pl.Int64))
