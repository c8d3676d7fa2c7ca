"""Every strategy's first and warm call on a fresh 10M-file dataset, against a numpy floor.

    python benchmarks/dataset_calls.py [--files 10000000] [--repeats 5]

The dataset is what ``pagelab scan`` writes for a large tree: one row per file, ``size``
and ``allocated``, 10 million rows, its sizes drawn (seeded) from the shipped scans with
the larger ones spread by up to ±50 % (268,265 distinct sizes). It is written once into a
temporary folder, so it is in no process's cache: each measurement is a new process.

- first call: ``simulate(cfg)`` for ``strategy=S workload=pagecache
  workload.files.dataset=FILE`` (every file cached), the first time in its process;
- warm call: the same call again in that process (median of three);
- floor: a numpy program that reads the same file's sizes (pyarrow into numpy) and counts
  each size (``np.unique``) and the 4 KiB page-cache footprint: the least work every
  strategy's model needs. Imports are not timed, on either side;
- peak RSS: each process's own peak (``ru_maxrss``, imports included).

Calls and floors alternate, after one warm-up each; each row is a median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, Row, alternate, median, run

SEED = 2026
SOURCES = ("linux_6_1", "debian_usr", "python_venv")


def make_dataset(path: Path, files: int) -> None:
    """Write the benchmark's files dataset (seeded)."""
    import numpy as np
    import polars as pl

    from pagelab import datasets

    mix = pl.concat([pl.read_parquet(datasets.datasets_dir() / datasets.catalog()[name]["file"]).select("size", "count")
                     for name in SOURCES])
    rng = np.random.default_rng(SEED)
    weights = mix["count"].to_numpy().astype(float)
    sizes = mix["size"].to_numpy()[rng.choice(mix.height, size=files, p=weights / weights.sum())]
    spread = np.floor(sizes * np.exp(rng.uniform(-0.5, 0.5, files))).astype(np.int64)
    sizes = np.where(sizes > 4096, spread, sizes)
    pl.DataFrame({"size": sizes, "allocated": (sizes + 4095) // 4096 * 4096}).write_parquet(path)


def strategies() -> list[str]:
    """Every installed strategy."""
    from pagelab.strategies.registry import installed_strategies

    return sorted(installed_strategies())


def _call(strategy: str, path: str) -> None:
    """Print [first s, warm s, peak RSS bytes] of simulate on the dataset, in this fresh process."""
    import resource
    import time

    from pagelab.pipeline.compose import compose
    from pagelab.pipeline.simulate import simulate

    cfg = compose([f"strategy={strategy}", "workload=pagecache", f"workload.files.dataset={path}"])
    tic = time.perf_counter()
    simulate(cfg)
    first = time.perf_counter() - tic
    warm = []
    for _ in range(3):
        tic = time.perf_counter()
        simulate(cfg)
        warm.append(time.perf_counter() - tic)
    print(json.dumps([first, median(warm), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]))


def _floor(path: str) -> None:
    """Print [seconds, peak RSS bytes] of the numpy floor, in this fresh process."""
    import resource
    import time

    import numpy as np
    import pyarrow.parquet as pq

    tic = time.perf_counter()
    sizes = pq.read_table(path, columns=["size"]).column("size").to_numpy()
    unique, counts = np.unique(sizes, return_counts=True)
    footprint = int(((unique + 4095) // 4096 * 4096 * counts).sum())
    seconds = time.perf_counter() - tic
    assert footprint > 0
    print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]))


def _json(command: list[str]) -> list[float]:
    return json.loads(run(command)[1].stdout.strip().splitlines()[-1])


def measure(files: int = 10_000_000, repeats: int = 5) -> list[Row]:
    """First-call, warm-call and peak-RSS rows for every strategy."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-files-") as tmp:
        path = Path(tmp) / "files.parquet"
        make_dataset(path, files)
        for strategy in strategies():
            calls: list[list[float]] = []
            floors: list[list[float]] = []

            def call(n: int, strategy: str = strategy) -> float:
                result = _json([PYTHON, __file__, "--call", strategy, str(path)])
                if n >= 0:
                    calls.append(result)
                return result[0]

            def floor(n: int) -> float:
                result = _json([PYTHON, __file__, "--floor", str(path)])
                if n >= 0:
                    floors.append(result)
                return result[0]

            alternate(call, floor, repeats)
            first, warm, rss = (median([c[i] for c in calls]) for i in range(3))
            floor_s, floor_rss = (median([f[i] for f in floors]) for i in range(2))
            warm_budget = 3.0 if strategy == "folio" else 1.5
            rows += [
                Row(f"{strategy}: first call on {files:,} files / numpy floor", first, floor_s, first / floor_s, 3.0,
                    repeats),
                Row(f"{strategy}: warm call / numpy floor", warm, floor_s, warm / floor_s, warm_budget, repeats),
                Row(f"{strategy}: peak RSS / the floor's", rss / 2**20, floor_rss / 2**20, rss / floor_rss, 2.0,
                    repeats, note="MiB, not seconds"),
            ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--call", nargs=2, help=argparse.SUPPRESS)  # a measuring subprocess
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.call:
        _call(*args.call)
    elif args.floor:
        _floor(args.floor)
    else:
        for row in measure(args.files, args.repeats):
            print(json.dumps(row.to_json()))


if __name__ == "__main__":
    main()
