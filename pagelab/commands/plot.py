"""``pagelab plot``: any sweep's results as a figure, each point the mean and 95 % interval over seeds.

    pagelab plot multirun/x --x workload.installed --y overhead_pct          # hue: strategy
    pagelab plot summary.parquet --x strategy --y guest_bytes --col workload.guests.dataset
    pagelab plot multirun/x --x workload.installed --y free_bytes --where workload.installed=512G,1T
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from pagelab.commands.parser import subcommand_parser
from pagelab.errors import PagelabError, WriteError


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab plot``."""
    p = subcommand_parser(prog="pagelab plot", description=__doc__.splitlines()[0].split(": ", 1)[1],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="Columns: any results column (overhead_pct, guest_bytes, ...) or parameter "
                       "(strategy.*, workload.*); README 'Results' lists them.")
    p.add_argument("results", type=Path, help="a sweep directory, a folder of sweeps, or a summary.parquet")
    p.add_argument("--x", required=True, help="the x column (sizes such as workload.installed on a log-2 axis)")
    p.add_argument("--y", required=True, help="a numeric results column")
    p.add_argument("--hue", default=None, help="a colour per value (default: strategy, when it varies)")
    p.add_argument("--col", default=None, help="a panel column per value")
    p.add_argument("--row", default=None, help="a panel row per value")
    p.add_argument("--where", nargs="+", default=[], metavar="COLUMN=VALUE",
                   help="keep only these runs (sizes compared by bytes; VALUE,VALUE for either)")
    p.add_argument("--pool", action="store_true",
                   help="average over runs that differ in unmapped parameters (refused otherwise)")
    p.add_argument("--logy", action="store_true", help="log y axis")
    p.add_argument("--out", type=Path, default=Path("plot"),
                   help="output stem: STEM.pdf/.svg/.png and the data as STEM.parquet/.csv (default: plot)")
    return p


def main(argv: list[str]) -> int:
    """Run ``pagelab plot``; errors reach the user as one line through the CLI dispatcher."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = parser().parse_args(argv)
    from pagelab.commands.results import load_results
    from pagelab.figures import plot
    from pagelab.figures.save import save_data, save_figure
    from pagelab.figures.style import declared_colours, paper_style
    from pagelab.figures.where import apply_where, parse_where

    wheres = parse_where(args.where)
    results = load_results(args.results)
    summary = apply_where(results.summary, wheres)
    hue = args.hue
    if hue is None and "strategy" not in (args.x, args.col, args.row) and summary["strategy"].n_unique() > 1:
        hue = "strategy"
    encoding = plot.Encoding(args.x, args.y, hue, args.col, args.row)
    plot.check_columns(summary, encoding)
    mixed = plot.varying_besides(summary, encoding)
    if mixed and not args.pool:
        raise PagelabError(f"the runs at a point differ in {', '.join(mixed[:6])}: map them (--hue/--col/--row), "
                           f"filter them (--where), or average over them (--pool)")
    frame = plot.data(summary, encoding)
    out = args.out
    if out.exists() and out.is_dir():
        raise PagelabError(f"--out {out}: a directory; give a file stem such as {out / 'plot'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as error:
        raise PagelabError(f"--out {out}: cannot write: {error.strerror or error}") from None
    try:
        with paper_style(declared_colours(results.manifest)):
            figure = plot.render(frame, encoding, logy=args.logy)
            paths = save_figure(figure, staging / out.name) + save_data(frame, staging / out.name)
        for path in paths:
            os.replace(path, out.with_name(path.name))
    except (WriteError, OSError) as error:
        errno = getattr(error, "errno", None)
        raise PagelabError(f"--out {out}: cannot write: {os.strerror(errno) if errno else error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shown = shlex.join([p.name for p in paths])
    print(f"pagelab plot: wrote {shown} in {out.parent} ({frame.height} points)", file=sys.stdout)
    return 0
