"""``pagelab report DIR``: one static HTML page for a sweep or a figures folder.

    pagelab report multirun/2026-12-01/10-00-00      # DIR/report.html: results, configs
    pagelab report figures -o paper.html              # figures (inline SVG), data, manifest
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pagelab.commands.parser import subcommand_parser
from pagelab.errors import PagelabError


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab report``."""
    p = subcommand_parser(prog="pagelab report", description=__doc__.splitlines()[0].split(": ", 1)[1],
                epilog="The page needs no server and no network: open it from file://.")
    p.add_argument("directory", type=Path, help="a sweep folder (summary.parquet) or a pagelab figures folder")
    p.add_argument("-o", "--output", type=Path, default=None, help="the HTML file (default: DIR/report.html)")
    return p


def main(argv: list[str]) -> int:
    """Write the report; errors reach the user as one line through the CLI dispatcher."""
    args = parser().parse_args(argv)
    from pagelab.atomic import atomic_write
    from pagelab.figures.report import REPORT, build_report

    page = build_report(args.directory)
    output = args.output or args.directory / REPORT
    if output.is_dir():
        raise PagelabError(f"-o {output}: a directory; give a file name such as {output / REPORT}")
    atomic_write(output, lambda tmp: Path(tmp).write_text(page))
    print(f"pagelab report: wrote {output}", file=sys.stdout)
    return 0
