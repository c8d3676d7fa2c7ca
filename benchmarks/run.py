"""``make bench``: every benchmark, one table, written as JSON and into both READMEs.

    python benchmarks/run.py [--only sweep datasets startup figures] [--no-readme]

Each row is a ratio of two things measured side by side in this run (medians; see each
module's docstring for what is measured and how often). Prints the table as Markdown,
writes ``benchmarks/results.json`` (machine, rows) and replaces the table between the
``benchmarks:start``/``benchmarks:end`` markers of benchmarks/README.md and README.md
(nothing else in those files). Nothing is asserted: a missed budget is a row marked "no".
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import cast
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import dataset_calls, figures, fleet_scale, startup, sweep
from benchmarks.common import ROOT, Row, machine

RESULTS = ROOT / "benchmarks" / "results.json"
READMES = (ROOT / "benchmarks" / "README.md", ROOT / "README.md")
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
GROUPS = ("sweep", "datasets", "startup", "figures", "fleet")


def _value(row: Row) -> str:
    unit = " MiB" if "MiB" in row.note else " s"
    return f"{row.measured_s:.3f}{unit}" if unit == " s" else f"{row.measured_s:.0f}{unit}"


def _baseline(row: Row) -> str:
    unit = " MiB" if "MiB" in row.note else " s"
    return f"{row.baseline_s:.3f}{unit}" if unit == " s" else f"{row.baseline_s:.0f}{unit}"


def table(info: dict[str, object], rows: list[Row]) -> str:
    """The rows as one Markdown table, under a line naming the machine."""
    packages = ", ".join(f"{k} {v}" for k, v in cast(dict[str, str], info["packages"]).items())
    lines = [
        f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, Python {info['python']} ({packages}); commit {info['commit']}; "
        f"1-minute load average {info['load_average_at_start']} at the start (the machine is shared).",
        "",
        "| benchmark | pagelab | baseline | ratio | budget | met | repeats |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.name} | {_value(row)} | {_baseline(row)} | {row.ratio:.2f} | ≤ {row.budget:g} | "
                     f"{'yes' if row.met else '**no**'} | {row.repeats} |")
    return "\n".join(lines)


def update_readme(path: Path, text: str) -> None:
    """Replace what is between the markers in ``path`` (nothing else); no markers, no change."""
    content = path.read_text()
    if START not in content or END not in content:
        print(f"{path}: no {START} ... {END} markers; left alone", file=sys.stderr)
        return
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=list(GROUPS))
    parser.add_argument("--repeats", type=int, default=5, help="repeats of every row but the sweep's (default 5)")
    parser.add_argument("--sweep-repeats", type=int, default=3, help="repeats of the 1,000-job sweep (default 3)")
    parser.add_argument("--no-readme", action="store_true", help="print and write JSON only")
    args = parser.parse_args()
    info = machine()
    rows: list[Row] = []
    for group in GROUPS:
        if group not in args.only:
            continue
        print(f"bench: {group} ...", file=sys.stderr, flush=True)
        if group == "sweep":
            rows.append(sweep.measure(repeats=args.sweep_repeats))
        elif group == "datasets":
            rows += dataset_calls.measure(repeats=args.repeats)
        elif group == "startup":
            rows += [startup.single_run(args.repeats), startup.scan(repeats=args.repeats)]
        elif group == "figures":
            rows.append(figures.measure())
        else:
            rows.append(fleet_scale.measure())
    text = table(info, rows)
    print(text)
    RESULTS.write_text(json.dumps({"machine": info, "rows": [r.to_json() for r in rows]}, indent=2) + "\n")
    if not args.no_readme and set(args.only) == set(GROUPS):
        for readme in READMES:
            update_readme(readme, text)


if __name__ == "__main__":
    main()
