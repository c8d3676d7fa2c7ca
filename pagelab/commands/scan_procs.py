"""``pagelab scan-procs``: record this machine's memory mappings as a mappings dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from pagelab.commands.dataset_output import add_output_options, check_output, save
from pagelab.commands.parser import subcommand_parser
from pagelab.datasets.procs import ProcsScan, scan_procs
from pagelab.errors import PagelabError

PROG = "pagelab scan-procs"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab scan-procs``."""
    parser = subcommand_parser(
        PROG,
        (
            "Read /proc/*/smaps into a 'mappings' dataset: one row per mapping with size, rss, "
            "pss, anon, anon_bytes and huge. No names, paths or pids are stored. As root every "
            "process is read; otherwise only the user's own, and the rest are counted as skipped."
        ),
    )
    add_output_options(parser, "mappings.parquet")
    parser.add_argument("--proc", type=Path, default=Path("/proc"), help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> ProcsScan:
    """Read the mappings and return the scan."""
    if not (args.proc / "self" / "smaps").exists():
        raise PagelabError(f"{args.proc}: no smaps files here (is procfs mounted?)")
    return scan_procs(args.proc)


def main(argv: list[str]) -> int:
    """Entry point of ``pagelab scan-procs``; returns the exit status (errors raise PagelabError, which the CLI reports)."""
    args = build_parser().parse_args(argv)
    check_output(args)
    save(run(args), args)
    return 0
