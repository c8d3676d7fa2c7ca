"""``pagelab scan-procs``: record this machine's memory mappings as a mappings dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pagelab.atomic import write_dataset
from pagelab.errors import PagelabError
from pagelab.procs import ProcsScan, scan_procs

PROG = "pagelab scan-procs"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab scan-procs``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Read /proc/*/smaps into a 'mappings' dataset: one row per mapping with size, rss, "
            "pss, anon, anon_bytes and huge. No names, paths or pids are stored. As root every "
            "process is read; otherwise only the user's own, and the rest are counted as skipped."
        ),
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("mappings.parquet"),
        help="output Parquet file (default: mappings.parquet)",
    )
    parser.add_argument("--name", help="dataset name stored in the file (default: the output file's stem)")
    parser.add_argument("--proc", type=Path, default=Path("/proc"), help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> ProcsScan:
    """Read the mappings, write the dataset atomically, and return the scan."""
    if not (args.proc / "self" / "smaps").exists():
        raise PagelabError(f"{args.proc}: no smaps files here (is procfs mounted?)")
    result = scan_procs(args.proc)
    write_dataset(result.frame, args.output, result.metadata(args.name or args.output.stem))
    return result


def main(argv: list[str]) -> int:
    """Entry point of ``pagelab scan-procs``; returns the exit status (errors raise PagelabError, which the CLI reports)."""
    args = build_parser().parse_args(argv)
    result = run(args)
    print(result.summary(), file=sys.stderr)
    print(f"wrote {args.output} ({result.frame.height:,} rows)", file=sys.stderr)
    return 0
