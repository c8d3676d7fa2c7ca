"""Output options and saving, shared by the commands that turn a machine into a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Protocol

import polars as pl

from pagelab.atomic import write_dataset


class ScanResult(Protocol):
    """What ``pagelab scan`` and ``pagelab scan-procs`` produce."""

    frame: pl.DataFrame

    def metadata(self, name: str) -> dict[str, str]: ...

    def summary(self) -> str: ...


def add_output_options(parser: argparse.ArgumentParser, default: str) -> None:
    """``-o/--output`` and ``--name`` (the dataset name stored in the file)."""
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(default), help=f"output Parquet file (default: {default})"
    )
    parser.add_argument("--name", help="dataset name stored in the file (default: the output file's stem)")


def save(result: ScanResult, args: argparse.Namespace) -> None:
    """Write the dataset atomically and report it on stderr."""
    write_dataset(result.frame, args.output, result.metadata(args.name or args.output.stem))
    print(result.summary(), file=sys.stderr)
    print(f"wrote {args.output} ({result.frame.height:,} rows)", file=sys.stderr)
