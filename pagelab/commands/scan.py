"""``pagelab scan``: record the file sizes of a tree or a tarball as a files dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pagelab.commands.dataset_output import add_output_options, check_output, save
from pagelab.commands.parser import subcommand_parser
from pagelab.datasets.scan import FilesScan, scan_tar, start_tree_walk, stop_early_walks
from pagelab.errors import PagelabError

PROG = "pagelab scan"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab scan``."""
    parser = subcommand_parser(
        PROG,
        (
            "Record the sizes of the regular files under PATH (or inside a tarball) as a "
            "'files' dataset. Only sizes are stored: no names, no paths. Hard links count "
            "once, symlinks are not followed, special files are skipped and counted."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("path", nargs="?", type=Path, metavar="PATH", help="directory tree to scan")
    source.add_argument(
        "--tar", type=Path, metavar="FILE", help="list a tarball (plain, gz, xz, bz2, zst) without extracting it"
    )
    add_output_options(parser, "files.parquet")
    parser.add_argument("--cross-filesystems", action="store_true", help="descend into other mounted file systems")
    return parser


def run(args: argparse.Namespace) -> FilesScan:
    """Scan as ``args`` says and return the scan."""
    progress = sys.stderr.isatty()
    if args.tar is not None and args.cross_filesystems:
        raise PagelabError("--cross-filesystems applies to a tree, not to --tar")
    walk = None if args.tar is not None else start_tree_walk(args.path, cross_filesystems=args.cross_filesystems)
    return scan_tar(args.tar, progress=progress) if walk is None else walk.finish(progress)


def main(argv: list[str]) -> int:
    """Entry point of ``pagelab scan``; returns the exit status (errors raise PagelabError, which the CLI reports)."""
    try:
        args = build_parser().parse_args(argv)
        check_output(args)
        save(run(args), args)
    finally:
        stop_early_walks()  # a walk started for arguments the command then refused
    return 0
