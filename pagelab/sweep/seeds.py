"""Repeated seeds as one answer: the mean and its 95 % confidence interval.

Seeds are independent replicates of a configuration (the same workload drawn again), so
the interval is Student's t: ``mean ± t(0.975, n-1) * s / sqrt(n)``, with ``s`` the sample
standard deviation over the ``n`` seeds. One seed has no interval (null).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

SEED = "seed"
LEVEL = 0.95
# Columns that describe a run's bookkeeping, not its configuration.
BOOKKEEPING = ("job", "state", "pagelab_version", "experiment")


def config_columns(frame: pl.DataFrame, free: Iterable[str] = ()) -> list[str]:
    """The columns that name a configuration: strategy, workload and every parameter but the seed."""
    skip = {SEED, *free}
    params = sorted(c for c in frame.columns if c.startswith(("strategy.", "workload.")) and c not in skip)
    return [c for c in ("strategy", "workload") if c in frame.columns and c not in skip] + params


def t_quantiles(sizes: Sequence[int]) -> pl.DataFrame:
    """``t(0.975, n-1)`` for each sample size ``n`` (null for n < 2)."""
    # scipy.stats' t.ppf is this function; scipy.special imports in a sixth of scipy.stats' time,
    # and only sweeps need it.
    from scipy.special import stdtrit

    unique = sorted({int(n) for n in sizes})
    quantile = [float(stdtrit(n - 1, 0.5 + LEVEL / 2)) if n >= 2 else None for n in unique]
    return pl.DataFrame({"seeds": unique, "_t": quantile}, schema={"seeds": pl.Int64, "_t": pl.Float64})


def over_seeds(frame: pl.DataFrame, values: Iterable[str], by: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per configuration: ``seeds`` and, per value column, ``<v>_mean``, ``<v>_lo``, ``<v>_hi``.

    ``by`` defaults to :func:`config_columns`. Null values (a metric a run does not have)
    are left out of that metric's statistics. Rows keep the order of first appearance.
    """
    keys = list(by) if by is not None else config_columns(frame)
    values = [v for v in values if v in frame.columns]
    grouped = frame.group_by(keys, maintain_order=True).agg(
        seeds=pl.col(SEED).n_unique().cast(pl.Int64) if SEED in frame.columns else pl.len().cast(pl.Int64),
        **{f"{v}_mean": pl.col(v).cast(pl.Float64).mean() for v in values},
        **{f"_{v}_sd": pl.col(v).cast(pl.Float64).std(ddof=1) for v in values},
        **{f"_{v}_n": pl.col(v).count().cast(pl.Int64) for v in values},
    )
    half = {}
    for v in values:
        tq = t_quantiles(grouped[f"_{v}_n"].to_list()).rename({"seeds": f"_{v}_n", "_t": f"_{v}_t"})
        grouped = grouped.join(tq, on=f"_{v}_n", how="left", maintain_order="left")
        half[v] = pl.col(f"_{v}_t") * pl.col(f"_{v}_sd") / pl.col(f"_{v}_n").cast(pl.Float64).sqrt()
    return grouped.with_columns(
        *(x for v in values for x in ((pl.col(f"{v}_mean") - half[v]).alias(f"{v}_lo"),
                                        (pl.col(f"{v}_mean") + half[v]).alias(f"{v}_hi")))
    ).select(*keys, "seeds", *(f"{v}_{s}" for v in values for s in ("mean", "lo", "hi")))
