"""The LaTeX (booktabs) table of headline numbers: overhead % per strategy and workload.

Headline means the shipped defaults: for each strategy and workload, only runs whose
parameters equal that pair's default configuration count. A cell whose runs do not fit
the machine (fits=false) carries a dagger, explained under the table.
"""

from __future__ import annotations

import polars as pl

from pagelab.figures.common import (
    NOT_FITTING,
    Summary,
    collect,
    number,
    require_columns,
    require_rows,
)
from pagelab.figures.defaults import at_defaults
from pagelab.sweep.seeds import over_seeds
from pagelab.version import pagelab_version

NAME = "overhead"
TITLE = "Table: overhead (% of installed memory) per strategy and workload, at the shipped defaults"
COLUMNS = ("strategy", "workload", "seed", "installed_bytes", "overhead_pct", "fits")
DAGGER = r"\textsuperscript{\dag}"


def data(summary: Summary, manifest: pl.DataFrame) -> pl.DataFrame:
    """Mean overhead_pct and its 95 % interval over seeds per strategy and workload, at the defaults.

    Columns: strategy, workload, overhead_pct_mean, overhead_pct_lo, overhead_pct_hi
    (null for one seed), seeds, installed_bytes, fits (false if any run did not fit);
    sorted by strategy, then workloads by installed RAM (small machines first).

    ``manifest``: the sweep manifest, whose defaults rows say which runs are at the defaults.
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = require_rows(at_defaults(frame, manifest), NAME, "runs at a strategy's and workload's default settings")
    keys = ["strategy", "workload"]
    machine = rows.group_by(keys).agg(installed_bytes=pl.col("installed_bytes").max(), fits=pl.col("fits").all())
    return (
        over_seeds(rows, ["overhead_pct"], by=keys)
        .join(machine, on=keys, how="left")
        .with_columns(workload_ram=pl.col("installed_bytes").max().over("workload"))
        .sort("strategy", "workload_ram", "workload")
        .select(*keys, "overhead_pct_mean", "overhead_pct_lo", "overhead_pct_hi", "seeds", "installed_bytes", "fits")
    )


def _tex(text: str) -> str:
    """Escape LaTeX's special characters in a cell."""
    for char, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        text = text.replace(char, escaped)
    return text


def _cell(mean: float, lo: float | None, hi: float | None, fits: bool) -> str:
    """A cell's text: the mean, ``± half-width`` when there is an interval, a dagger if it does not fit."""
    text = f"{mean:.2f}" + (rf" $\pm$ {(hi - lo) / 2:.2f}" if lo is not None and hi is not None else "")
    return text + ("" if fits else DAGGER)


def render(frame: pl.DataFrame) -> str:
    """A booktabs ``tabular``: a row per strategy, a column per workload, two decimals, notes below."""
    by_ram = frame.group_by("workload").agg(ram=pl.col("installed_bytes").max()).sort("ram", "workload")
    workloads = by_ram["workload"].to_list()
    columns = ("strategy", "workload", "overhead_pct_mean", "overhead_pct_lo", "overhead_pct_hi", "fits")
    cell = {(s, w): _cell(*values) for s, w, *values in frame.select(columns).iter_rows()}
    strategies = frame["strategy"].unique(maintain_order=True).to_list()
    body = [[_tex(s), *(cell.get((s, w), "--") for w in workloads)] for s in strategies]
    lo, hi = int(number(frame["seeds"].min())), int(number(frame["seeds"].max()))
    seeds = f"{hi} seed{'s' if hi != 1 else ''}" if lo == hi else f"{lo}--{hi} seeds"
    span = len(workloads) + 1
    notes = [f"Mean over {seeds} per cell; $\\pm$: half-width of the 95\\,\\% Student-t interval." if hi > 1
             else "1 seed per cell (no interval)."]
    if not frame["fits"].all():
        notes.append(f"{DAGGER}\\,{_tex(NOT_FITTING)}; the overhead counts only what was placed.")
    lines = [
        f"% pagelab {pagelab_version()}: overhead in % of installed memory (metadata, internal fragmentation,",
        "% stranded memory; free memory is not overhead), shipped defaults, mean over seeds.",
        "% Requires \\usepackage{booktabs}.",
        "\\begin{tabular}{l" + "r" * len(workloads) + "}",
        "\\toprule",
        " & ".join(["Strategy", *(_tex(w) for w in workloads)]) + " \\\\",
        "\\midrule",
        *(" & ".join(row) + " \\\\" for row in body),
        "\\bottomrule",
        *(f"\\multicolumn{{{span}}}{{l}}{{\\footnotesize {note}}} \\\\" for note in notes),
        "\\end{tabular}",
    ]
    return "\n".join(lines) + "\n"
