"""``pagelab scan`` against ``find PATH -type f -printf '%s\\n'`` on a warm tree.

    python benchmarks/scan_vs_find.py /usr [--repeat 5]

Runs both side by side, alternating, after one warm-up each, and reports the median wall
times and their ratio, for the full command (``python -m pagelab scan``: interpreter and
imports included) and for the walk alone (``scan_tree`` in this process). Nothing is
asserted: the issue's target is a ratio of at most 1.5.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pagelab.scan import scan_tree


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "scan.parquet"
    find = ["find", str(args.path), "-xdev", "-type", "f", "-printf", "%s\\n"]
    cli = [sys.executable, "-m", "pagelab", "scan", str(args.path), "-o", str(out)]

    def run_find() -> None:
        subprocess.run(find, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def run_cli() -> None:
        subprocess.run(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)

    def run_walk() -> None:
        scan_tree(args.path)

    times: dict[str, list[float]] = {"find": [], "pagelab scan": [], "walk in-process": []}
    for runner in (run_find, run_cli, run_walk):  # warm the cache and the imports
        runner()
    for _ in range(args.repeat):
        times["find"].append(timed(run_find))
        times["pagelab scan"].append(timed(run_cli))
        times["walk in-process"].append(timed(run_walk))
    base = statistics.median(times["find"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:16s} median {median:6.3f} s   ratio to find {median / base:5.2f}")


if __name__ == "__main__":
    main()
