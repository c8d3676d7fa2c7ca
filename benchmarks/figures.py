"""``pagelab figures`` from nothing: its default sweeps, then every figure, against 20 seconds.

    python benchmarks/figures.py

Runs ``python -m pagelab figures --out DIR`` once in a new folder (about a minute: one
run, not five) and reports its seconds against the issue's 20 s on two cores. What it
runs is pagelab/commands/figure_sweeps.py's choice of default sweeps (another engineer's file):
their job compute bounds this row from below (docs in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, Row, run

BUDGET_S = 20.0


def measure() -> Row:
    """The figures row: wall seconds over the 20 s budget (a ratio of 1 is the budget)."""
    with tempfile.TemporaryDirectory(prefix="pagelab-bench-figures-") as tmp:
        wall, _ = run([PYTHON, "-m", "pagelab", "figures", "--out", f"{tmp}/figures"], cwd=Path(tmp),
                      env={"MPLBACKEND": "Agg"})
    return Row("pagelab figures from nothing / 20 s", wall, BUDGET_S, wall / BUDGET_S, 1.0, 1,
               note="one run; its default sweeps are pagelab/commands/figure_sweeps.py's")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print(json.dumps(measure().to_json()))


if __name__ == "__main__":
    main()
