"""``pagelab collect DIR``: gather a sweep's job results into DIR/summary.parquet.

For sweeps that ran elsewhere (a cluster whose launcher exited early) or were
interrupted; a sweep that ends normally does the same by itself. Running it again
gives the same file. Exits 1 when a job failed, after listing every failure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from pagelab.sweep.collect import collect
from pagelab.sweep.tables import print_failures, print_overview


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pagelab collect",
        description="Collect a sweep's per-job results.parquet files into summary.parquet.",
    )
    parser.add_argument("directory", type=Path, help="the sweep directory (hydra.sweep.dir)")
    return parser


def main(argv: list[str]) -> int:
    """Collect the sweep in ``argv[0]``; 0 when no job failed, 1 otherwise."""
    args = _parser().parse_args(argv)
    sweep = collect(args.directory)
    print_overview(sweep, Console(highlight=False))
    print_failures(sweep, Console(stderr=True, highlight=False))
    unfinished = sweep.count("running")
    if unfinished:
        print(
            f"{unfinished} jobs did not finish (interrupted?); re-run the same sweep with "
            f"hydra.sweep.dir={args.directory} to run them"
        )
    return 1 if sweep.count("failed") else 0
