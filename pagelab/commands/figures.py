"""``pagelab figures``: results (or nothing) to paper figures, their data and a manifest.

    pagelab figures                                  # runs the small default sweeps first
    pagelab figures --results multirun/sweeps --out figures
    pagelab figures --only metadata crossover --out figures
    pagelab figures --measured census.parquet --only folios
    pagelab figures --results multirun/big --only hosting --where workload.installed=512G
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from pagelab.commands.parser import subcommand_parser


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab figures``."""
    from pagelab.figures import FIGURES

    p = subcommand_parser(prog="pagelab figures", description="Draw the paper figures and the overhead table.")
    p.add_argument("--results", type=Path, default=None,
                   help="a sweep directory, a folder of sweep directories, or a summary.parquet "
                        "(default: run the small default sweeps first)")
    p.add_argument("--out", type=Path, default=Path("figures"), help="output directory (default: figures)")
    p.add_argument("--only", nargs="+", metavar="NAME", default=None,
                   help=f"draw only these: {', '.join(FIGURES)}")
    p.add_argument("--where", nargs="+", default=[], metavar="COLUMN=VALUE",
                   help="draw from these runs only, at any settings (workload.installed=512G; sizes by bytes; "
                        "VALUE,VALUE for either); the figures' defaults no longer apply to these columns")
    p.add_argument("--measured", type=Path, default=None,
                   help="a measured folio census (size, folios[, read_size]) to draw beside the model")
    return p


def main(argv: list[str]) -> int:
    """Run ``pagelab figures``; errors reach the user as one line through the CLI dispatcher."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # files only, never a window
    args = parser().parse_args(argv)
    from pagelab.commands.figure_build import build_figures

    manifest = build_figures(
        args.out,
        results=args.results,
        only=args.only,
        measured=args.measured,
        where=args.where,
        command=shlex.join(["pagelab", "figures", *argv]),
    )
    figures = manifest["figures"]
    assert isinstance(figures, list)
    print(f"pagelab figures: wrote {len(figures)} outputs and {args.out / 'manifest.json'}", file=sys.stdout)
    return 0
