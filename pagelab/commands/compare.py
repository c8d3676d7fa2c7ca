"""``pagelab compare``: what each strategy buys over a baseline, mean and 95 % interval over seeds.

    pagelab compare page16k page64k                          # on the laptop, 5 seeds, vs base4k
    pagelab compare dmemfs hvo --workloads hosting --seeds 10
    pagelab compare page64k --workloads laptop pagecache -o cmp.parquet workload.installed=32G
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pagelab.commands.parser import subcommand_parser
from pagelab.errors import PagelabError


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab compare``."""
    from pagelab.sweep.compare import BASELINE, METRICS

    p = subcommand_parser(prog="pagelab compare", description=__doc__.splitlines()[0].split(": ", 1)[1],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="Any other KEY=VALUE is a Hydra override for every run (a comma list is one more axis).\n"
                       "The runs are one sweep on the batch launcher (docs/sweeps.md).")
    p.add_argument("strategies", nargs="+", metavar="STRATEGY", help="strategies to compare (strategy=NAME)")
    p.add_argument("--workloads", "-w", nargs="+", default=["laptop"], metavar="WORKLOAD",
                   help="workloads (default: laptop)")
    p.add_argument("--seeds", "-s", type=int, default=5, help="seeds 0..N-1 per configuration (default: 5)")
    p.add_argument("--baseline", "-b", default=BASELINE, help=f"the strategy deltas are against (default: {BASELINE})")
    p.add_argument("--metrics", nargs="+", default=list(METRICS), metavar="METRIC",
                   help="results columns to compare (default: the main costs; null ones are left out)")
    p.add_argument("-o", "--output", type=Path, default=None, help="also write the tidy table (.parquet or .csv)")
    return p


def _cell(metric: str, value: float | None) -> str:
    from pagelab.units import format_bytes

    if value is None:
        return ""
    if metric.endswith("_pct"):
        return f"{value:.2f} %"
    if metric.endswith("_bytes"):
        return format_bytes(round(value))
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _interval(metric: str, mean: float | None, lo: float | None, hi: float | None, signed: bool = False) -> str:
    text = _cell(metric, mean)
    if signed and mean is not None and mean >= 0:
        text = "+" + text
    return text if lo is None else f"{text} [{_cell(metric, lo)}, {_cell(metric, hi)}]"


def print_table(frame, console) -> None:  # noqa: ANN001 -- polars and rich load only here
    """The comparison as a terminal table: one row per workload, metric and strategy."""
    from rich.table import Table

    baseline = frame["baseline"][0]
    axes = [c for c in frame.columns[: frame.columns.index("metric")]]
    table = Table(title="mean [95 % interval] over seeds", title_justify="left")
    for name in [*axes, "metric", "strategy", "seeds", "mean", f"Δ vs {baseline}", "fits"]:
        table.add_column(name.removeprefix("workload.").removeprefix("strategy."), no_wrap=True,
                         justify="right" if name in ("seeds", "mean") or name.startswith("Δ") else "left")
    for r in frame.iter_rows(named=True):
        delta = "" if r["strategy"] == baseline else _interval(r["metric"], r["delta"], r["delta_lo"], r["delta_hi"], True)
        table.add_row(*(str(r[a]) for a in axes), r["metric"], r["strategy"], str(r["seeds"]),
                      _interval(r["metric"], r["mean"], r["lo"], r["hi"]), delta,
                      "yes" if r["fits"] else "[bold red]no[/]")
    console.print(table)


def main(argv: list[str]) -> int:
    """Run ``pagelab compare``: Hydra overrides (KEY=VALUE) may follow the options."""
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    args = parser().parse_args([a for a in argv if a not in overrides])
    from rich.console import Console

    from pagelab.sweep.compare import compare

    if args.seeds < 1:
        raise PagelabError(f"--seeds: must be at least 1, got {args.seeds}")
    if args.output is not None and args.output.suffix not in (".parquet", ".csv"):
        raise PagelabError(f"-o {args.output}: write .parquet or .csv")
    frame = compare(args.strategies, args.workloads, seeds=args.seeds, overrides=overrides, baseline=args.baseline,
                    metrics=args.metrics)
    if args.output is not None:
        from pagelab.atomic import atomic_write, atomic_write_parquet

        if args.output.suffix == ".csv":
            atomic_write(args.output, lambda tmp: frame.write_csv(tmp))
        else:
            atomic_write_parquet(frame, args.output)
    console = Console(highlight=False)
    if not console.is_terminal:  # a file or a pipe: whole lines, never cut at 80 columns
        console = Console(highlight=False, width=200)
    print_table(frame, console)
    if args.output is not None:
        print(f"pagelab compare: wrote {args.output}", file=sys.stdout)
    return 0
