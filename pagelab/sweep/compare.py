"""What strategy X buys over strategy Y on a workload: strategies × workloads × seeds, one table.

The runs are one sweep on the batch launcher (``hydra/launcher=batch``, docs/sweeps.md) in a
temporary sweep folder, started as ``python -m pagelab -m ...`` would be; its summary
becomes a tidy frame: per strategy, workload (and any other swept axis) and metric, the
mean and 95 % Student-t interval over seeds (:mod:`pagelab.sweep.seeds`), the same for the
difference to the baseline strategy on the same seed (the runs are paired: every strategy
sees the same draw of the workload for a seed), and whether every seed fits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pagelab.errors import PagelabError
from pagelab.sweep.seeds import over_seeds

# Metrics compared by default, in this order; a metric null for every run (guests on a
# laptop) is left out.
METRICS = ("overhead_pct", "metadata_bytes", "internal_frag_bytes", "stranded_bytes", "free_bytes",
           "files_cached", "file_bytes", "guests", "guest_bytes", "fleet_hosts_needed")
BASELINE = "base4k"
LABEL = "strategy"  # the strategy as typed (a preset such as dmemfs_1g keeps its name)


def _sweep_args(strategies: Sequence[str], workloads: Sequence[str], seeds: Sequence[int],
                overrides: Sequence[str], directory: Path) -> list[str]:
    return ["-q", "-m", f"strategy={','.join(strategies)}", f"workload={','.join(workloads)}",
            f"seed={','.join(str(s) for s in seeds)}", "hydra/launcher=batch", f"hydra.sweep.dir={directory}",
            *overrides]


def _run_sweep(args: list[str], cwd: Path) -> None:
    """Run the sweep; its one-line errors become a PagelabError."""
    env = {**os.environ, "PAGELAB_VERBOSITY": "quiet"}
    env.pop("HYDRA_FULL_ERROR", None)
    done = subprocess.run([sys.executable, "-m", "pagelab", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode == 130:
        raise KeyboardInterrupt
    if done.returncode not in (0, 1):  # 1: some jobs failed, listed in the sweep folder
        lines = [line.removeprefix("pagelab: error: ") for line in done.stderr.strip().splitlines() if line.strip()]
        raise PagelabError(f"compare: {lines[-1] if lines else f'the sweep exited with {done.returncode}'}")


def _labelled(directory: Path) -> tuple[pl.DataFrame, list[str]]:
    """The sweep's results with each job's strategy as typed, and the other swept axes."""
    from pagelab.sweep.collect import collect
    from pagelab.sweep.tables import swept_axes

    sweep = collect(directory)
    if sweep.count("failed"):
        first = sweep.failed.row(0, named=True)
        raise PagelabError(f"compare: {sweep.count('failed')} of {sweep.jobs.height} runs failed; "
                           f"first: {first['overrides']}: {first['error']}")
    typed = sweep.jobs.select("job", pl.col("overrides").str.extract(r"(?:^| )strategy=(\S+)").alias(LABEL))
    summary = sweep.summary.drop(LABEL).join(typed, on="job", how="left")
    axes = [a for a in swept_axes(sweep) if a not in ("strategy", "workload")]
    return summary, axes


def summarise(summary: pl.DataFrame, *, strategies: Sequence[str], baseline: str = BASELINE,
              axes: Sequence[str] = (), metrics: Sequence[str] = METRICS) -> pl.DataFrame:
    """The tidy comparison of a summary's runs (one row per run, ``strategy`` as typed).

    One row per workload, axis value, metric and strategy: ``seeds``, ``mean``, ``lo``,
    ``hi`` (95 % interval; null for one seed), ``delta``, ``delta_lo``, ``delta_hi``
    (minus the baseline on the same seed) and ``fits`` (every seed fits).
    """
    present = [m for m in metrics if m in summary.columns and summary[m].is_not_null().any()]
    if not present:
        raise PagelabError(f"compare: none of the metrics {', '.join(metrics)} is in the results")
    keys = ["workload", *axes]
    runs = summary.select(*keys, LABEL, "seed", "fits", *(pl.col(m).cast(pl.Float64) for m in present))
    long = runs.unpivot(index=[*keys, LABEL, "seed", "fits"], on=present, variable_name="metric", value_name="value")
    base = long.filter(pl.col(LABEL) == baseline).select(*keys, "seed", "metric", pl.col("value").alias("_base"))
    long = long.join(base, on=[*keys, "seed", "metric"], how="left", nulls_equal=True).with_columns(
        delta=pl.col("value") - pl.col("_base"))
    stats = over_seeds(long, ["value", "delta"], by=[*keys, "metric", LABEL])
    fits = runs.group_by(*keys, LABEL).agg(pl.col("fits").all())
    order = {
        "_w": pl.col("workload").replace_strict({w: i for i, w in enumerate(summary["workload"].unique(maintain_order=True))}),
        "_m": pl.col("metric").replace_strict({m: i for i, m in enumerate(present)}),
        "_s": pl.col(LABEL).replace_strict({s: i for i, s in enumerate(strategies)}, default=len(strategies)),
    }
    return (
        stats.join(fits, on=[*keys, LABEL], how="left", nulls_equal=True)
        .filter(pl.col("value_mean").is_not_null())
        .with_columns(**order).sort("_w", *axes, "_m", "_s", LABEL).drop("_w", "_m", "_s")
        .select(*keys, "metric", LABEL, "seeds",
                pl.col("value_mean").alias("mean"), pl.col("value_lo").alias("lo"), pl.col("value_hi").alias("hi"),
                pl.lit(baseline).alias("baseline"), pl.col("delta_mean").alias("delta"),
                pl.col("delta_lo"), pl.col("delta_hi"), "fits")
    )


def compare(
    strategies: Sequence[str],
    workloads: Sequence[str] = ("laptop",),
    *,
    seeds: int | Sequence[int] = 5,
    overrides: Sequence[str] = (),
    baseline: str = BASELINE,
    metrics: Sequence[str] = METRICS,
) -> pl.DataFrame:
    """Run every strategy (and the baseline) on every workload for every seed; compare them.

    ``seeds`` is a count (seeds 0..n-1) or the seeds themselves; ``overrides`` are Hydra
    overrides for every run (a comma list is one more axis). Returns the tidy frame of
    :func:`summarise`. Raises :class:`~pagelab.errors.PagelabError` on bad input or when
    a run fails, with a one-line message.
    """
    for name, value in (("strategies", strategies), ("workloads", workloads), ("overrides", overrides)):
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise PagelabError(f"compare: {name} must be a list of strings, got {value!r}")
    if isinstance(seeds, bool):  # an int to Python, but not a count: refused below
        seed_list: list[int] = []
    else:
        seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seed_list):
        raise PagelabError(f"compare: seeds must be a positive count or non-negative integers, got {seeds!r}")
    if not strategies or not workloads:
        raise PagelabError("compare: name at least one strategy and one workload")
    names = list(dict.fromkeys([baseline, *strategies]))  # the baseline first, as in the table
    with tempfile.TemporaryDirectory(prefix="pagelab-compare-") as tmp:
        directory = Path(tmp) / "sweep"
        _run_sweep(_sweep_args(names, list(dict.fromkeys(workloads)), seed_list, overrides, directory), Path(tmp))
        summary, axes = _labelled(directory)
    return summarise(summary, strategies=names, baseline=baseline, axes=axes, metrics=metrics)
