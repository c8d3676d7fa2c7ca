"""The LaTeX (booktabs) table of headline numbers: overhead % per strategy and workload.

Headline means the shipped defaults: for each strategy and workload, only runs whose
parameters equal that pair's default configuration count.
"""

from __future__ import annotations

import polars as pl

from pagelab import __version__
from pagelab.figures.common import Summary, collect, require_columns, require_rows
from pagelab.figures.defaults import at_defaults

NAME = "overhead"
TITLE = "Table: overhead (% of installed memory) per strategy and workload, at the shipped defaults"
COLUMNS = ("strategy", "workload", "seed", "installed_bytes", "overhead_pct")


def data(summary: Summary) -> pl.DataFrame:
    """Mean overhead_pct over seeds per strategy and workload, at the defaults.

    Columns: strategy, workload, overhead_pct, installed_bytes, seeds; sorted by strategy,
    then workloads by installed RAM (small machines first).
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = require_rows(at_defaults(frame), NAME, "runs at a strategy's and workload's default settings")
    return (
        rows.group_by("strategy", "workload")
        .agg(
            overhead_pct=pl.col("overhead_pct").mean(),
            installed_bytes=pl.col("installed_bytes").max(),
            seeds=pl.col("seed").n_unique().cast(pl.Int64),
        )
        .with_columns(workload_ram=pl.col("installed_bytes").max().over("workload"))
        .sort("strategy", "workload_ram", "workload")
        .select("strategy", "workload", "overhead_pct", "installed_bytes", "seeds")
    )


def _tex(text: str) -> str:
    """Escape LaTeX's special characters in a cell."""
    for char, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        text = text.replace(char, escaped)
    return text


def render(frame: pl.DataFrame) -> str:
    """A booktabs ``tabular``: a row per strategy, a column per workload, two decimals."""
    by_ram = frame.group_by("workload").agg(ram=pl.col("installed_bytes").max()).sort("ram", "workload")
    workloads = by_ram["workload"].to_list()
    cell = {(s, w): v for s, w, v in frame.select("strategy", "workload", "overhead_pct").iter_rows()}
    strategies = frame["strategy"].unique(maintain_order=True).to_list()
    body = [[s, *(f"{cell[s, w]:.2f}" if (s, w) in cell else "--" for w in workloads)] for s in strategies]
    lines = [
        f"% pagelab {__version__}: overhead in % of installed memory, shipped defaults, mean over seeds.",
        "% Requires \\usepackage{booktabs}.",
        "\\begin{tabular}{l" + "r" * len(workloads) + "}",
        "\\toprule",
        " & ".join(["Strategy", *(_tex(w) for w in workloads)]) + " \\\\",
        "\\midrule",
        *(" & ".join(_tex(v) for v in row) + " \\\\" for row in body),
        "\\bottomrule",
        "\\end{tabular}",
    ]
    return "\n".join(lines) + "\n"
