"""``pagelab collect DIR``: gather a sweep's job results into DIR/summary.parquet.

For sweeps that ran elsewhere (a cluster whose launcher exited early) or were
interrupted; a sweep that ends normally does the same by itself. Running it again
gives the same file. Exits 1 when a job failed or its results were left out (a foreign or corrupt
results.parquet, a column of another type), after listing every one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from pagelab.commands.parser import subcommand_parser
from pagelab.sweep.collect import collect
from pagelab.sweep.tables import print_failures, print_overview


def _parser() -> argparse.ArgumentParser:
    parser = subcommand_parser(
        "pagelab collect",
        "Collect a sweep's per-job results.parquet files into summary.parquet.",
    )
    parser.add_argument("directory", type=Path, help="the sweep directory (hydra.sweep.dir)")
    return parser


def main(argv: list[str]) -> int:
    """Collect the sweep in ``argv[0]``; 0 when no job failed, 1 otherwise."""
    args = _parser().parse_args(argv)
    sweep = collect(args.directory)
    print_overview(sweep, Console(highlight=False))
    print_failures(sweep, Console(stderr=True, highlight=False))
    for problem in sweep.left_out:
        print(f"pagelab collect: left out of the summary: {problem}", file=sys.stderr)
    if sweep.left_out:
        print(f"pagelab collect: {len(sweep.left_out)} jobs' results left out; the other "
              f"{sweep.summary.height} jobs are summarised", file=sys.stderr)
    unfinished = sweep.count("running") + sweep.count("interrupted")
    if unfinished:
        print(
            f"{unfinished} jobs did not finish (interrupted?); re-run the same sweep with "
            f"hydra.sweep.dir={args.directory} to run them"
        )
    return 1 if sweep.count("failed") else 0
