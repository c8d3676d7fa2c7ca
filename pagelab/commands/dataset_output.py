"""Output options and saving, shared by the commands that turn a machine into a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Protocol

import polars as pl

from pagelab.atomic import write_dataset
from pagelab.errors import PagelabError


class ScanResult(Protocol):
    """What ``pagelab scan`` and ``pagelab scan-procs`` produce (frozen dataclasses: read-only)."""

    @property
    def frame(self) -> pl.DataFrame: ...

    def metadata(self, name: str) -> dict[str, str]: ...

    def summary(self) -> str: ...


def add_output_options(parser: argparse.ArgumentParser, default: str) -> None:
    """``-o/--output`` and ``--name`` (the dataset name stored in the file)."""
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(default), help=f"output Parquet file (default: {default})"
    )
    parser.add_argument("--name", help="dataset name stored in the file (default: the output file's stem)")
    parser.add_argument("--allow-empty", action="store_true", help="write the dataset even if it has no rows")


def check_output(args: argparse.Namespace) -> None:
    """Refuse an output name that says another format before any work is done."""
    if args.output.suffix != ".parquet":
        raise PagelabError(f"{args.output}: datasets are written as Parquet; name the file *.parquet")


def save(result: ScanResult, args: argparse.Namespace) -> None:
    """Write the dataset atomically and report it on stderr; an empty one needs ``--allow-empty``."""
    if result.frame.height == 0 and not args.allow_empty:
        raise PagelabError(f"{args.output}: not written: the dataset would be empty (--allow-empty writes it)")
    write_dataset(result.frame, args.output, result.metadata(args.name or args.output.stem))
    print(result.summary(), file=sys.stderr)
    print(f"wrote {args.output} ({result.frame.height:,} rows)", file=sys.stderr)
