"""``pagelab compare`` and ``pagelab.compare``: checked against single runs of the same seeds.

Each expected number is recomputed here from ``pagelab.run`` rows: the mean over seeds,
Student's t interval ``mean ± t(0.975, n-1) · s / sqrt(n)``, and the same for the paired
difference to the baseline on the same seed.
"""

from __future__ import annotations

import math
import statistics

import polars as pl
import pytest
from scipy.stats import t

import pagelab

from .conftest import pagelab_cli

SEEDS = (0, 1, 2)
WORKLOAD = "pc1991"


@pytest.fixture(scope="module")
def compared() -> pl.DataFrame:
    return pagelab.compare(["page64k", "page2m"], [WORKLOAD], seeds=len(SEEDS),
                           metrics=["overhead_pct", "internal_frag_bytes", "guest_bytes"])


def _interval(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    half = t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def test_means_intervals_and_paired_deltas_match_single_runs(compared):
    runs = {(s, seed): pagelab.run([f"strategy={s}", f"workload={WORKLOAD}", f"seed={seed}"]).row(0, named=True)
            for s in ("base4k", "page64k", "page2m") for seed in SEEDS}
    # The baseline comes first, then the strategies as given; guest_bytes (null: no guests) is left out.
    assert compared.select("metric", "strategy").rows() == [
        (m, s) for m in ("overhead_pct", "internal_frag_bytes") for s in ("base4k", "page64k", "page2m")]
    for row in compared.iter_rows(named=True):
        values = [float(runs[row["strategy"], seed][row["metric"]]) for seed in SEEDS]
        deltas = [v - float(runs["base4k", seed][row["metric"]]) for v, seed in zip(values, SEEDS)]
        assert (row["mean"], row["lo"], row["hi"]) == pytest.approx(_interval(values), rel=1e-9)
        if row["strategy"] == "base4k":
            assert row["delta"] == row["delta_lo"] == row["delta_hi"] == 0
        else:
            assert (row["delta"], row["delta_lo"], row["delta_hi"]) == pytest.approx(_interval(deltas), rel=1e-9)
        assert row["fits"] == all(runs[row["strategy"], seed]["fits"] for seed in SEEDS)
        assert row["seeds"] == len(SEEDS) and row["baseline"] == "base4k" and row["workload"] == WORKLOAD
    # page2m is a preset of page16k: its rows keep the name it was asked for, not the results row's.
    assert runs["page2m", 0]["strategy"] == "page16k"


def test_the_command_writes_the_same_table_and_prints_it(tmp_path, compared):
    out = tmp_path / "cmp.parquet"
    result = pagelab_cli("compare", "page64k", "page2m", "--workloads", WORKLOAD, "--seeds", str(len(SEEDS)),
                         "--metrics", "overhead_pct", "internal_frag_bytes", "guest_bytes", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(out).equals(compared)
    assert "Δ vs base4k" in result.stdout and "mean [95 % interval] over seeds" in result.stdout
    page64k = compared.filter((pl.col("strategy") == "page64k") & (pl.col("metric") == "overhead_pct")).row(0, named=True)
    assert f"+{page64k['delta']:.2f} %" in result.stdout


@pytest.mark.parametrize(("args", "phrase"), [
    ((), "STRATEGY"),
    (("page64k", "--seeds", "0"), "--seeds"),
    (("page64k", "-o", "out.txt"), "out.txt"),
    (("nope", "--workloads", WORKLOAD, "--seeds", "1"), "nope"),
    (("page64k", "--workloads", WORKLOAD, "--seeds", "1", "workload.installed=zz"), "workload.installed"),
])
def test_bad_input_is_one_line(tmp_path, args, phrase):
    result = pagelab_cli("compare", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and phrase in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [{"strategies": "page64k"}, {"strategies": ["page64k"], "seeds": 0},
                                 {"strategies": ["page64k"], "seeds": [-1]}])
def test_the_api_refuses_bad_arguments(bad):
    with pytest.raises(pagelab.PagelabError):
        pagelab.compare(**bad)
