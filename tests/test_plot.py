"""``pagelab plot``, ``--where`` filters, and ``pagelab figures`` at non-default settings.

Real sweeps on the batch launcher; expected numbers are recomputed here from the summary
rows (mean, and Student's t interval ``mean ± t(0.975, n-1) · s / sqrt(n)``).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import polars as pl
import pytest
from scipy.stats import t

from pagelab.errors import PagelabError
from pagelab.figures import plot
from pagelab.figures.where import apply_where, parse_where

from .conftest import pagelab_cli

OUTPUTS = ("pdf", "svg", "png", "parquet", "csv")


def _sweep(directory: Path, *overrides: str) -> Path:
    result = pagelab_cli("-q", "-m", *overrides, "hydra/launcher=batch", f"hydra.sweep.dir={directory}", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory / "summary.parquet"


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> Path:
    """base4k and page64k on the 1991 PC at 4 MiB and 16 MiB, three seeds each."""
    return _sweep(tmp_path_factory.mktemp("plot"), "strategy=base4k,page64k", "workload=pc1991",
                  "workload.installed=4M,16M", "seed=0,1,2")


def test_points_are_means_with_t_intervals_in_size_order(summary):
    rows = pl.read_parquet(summary)
    frame = plot.data(rows, plot.Encoding("workload.installed", "overhead_pct", "strategy"))
    # 16M sorts after 4M by bytes (as text it would come first).
    assert frame.select("strategy", "workload.installed").rows() == [
        ("base4k", "4M"), ("base4k", "16M"), ("page64k", "4M"), ("page64k", "16M")]
    assert frame[plot.X_BYTES].to_list() == [4 << 20, 16 << 20] * 2
    for point in frame.iter_rows(named=True):
        values = rows.filter((pl.col("strategy") == point["strategy"])
                             & (pl.col("workload.installed") == point["workload.installed"]))["overhead_pct"].to_list()
        mean = statistics.fmean(values)
        half = t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
        assert (point["mean"], point["lo"], point["hi"]) == pytest.approx((mean, mean - half, mean + half), rel=1e-9)
        assert point["seeds"] == 3


def test_where_compares_sizes_by_bytes():
    frame = pl.DataFrame({"workload.installed": ["4M", "4096K", "16M"], "installed_bytes": [4 << 20, 4 << 20, 16 << 20],
                          "fits": [True, False, True]})
    assert apply_where(frame, parse_where(["workload.installed=4M"])).height == 2
    assert apply_where(frame, parse_where(["installed_bytes=16M"]))["workload.installed"].to_list() == ["16M"]
    assert apply_where(frame, parse_where(["fits=no"]))["workload.installed"].to_list() == ["4096K"]
    assert apply_where(frame, parse_where(["workload.installed=4M,16M", "fits=true"])).height == 2
    for bad, phrase in (("nosuch=1", "no column nosuch"), ("workload.installed=1T", "no rows match"),
                        ("installed_bytes=lots", "not a number"), ("fits=maybe", "true or false"), ("fits", "COLUMN=VALUE")):
        with pytest.raises(PagelabError, match=phrase):
            apply_where(frame, parse_where([bad]))


def test_the_command_writes_the_figure_and_its_data_deterministically(tmp_path, summary):
    args = ("plot", str(summary), "--x", "workload.installed", "--y", "overhead_pct")
    first = pagelab_cli(*args, "--out", str(tmp_path / "a" / "fig"), cwd=tmp_path)
    again = pagelab_cli(*args, "--out", str(tmp_path / "b" / "fig"), cwd=tmp_path)
    assert first.returncode == again.returncode == 0, first.stderr
    for suffix in OUTPUTS:
        assert (tmp_path / "a" / f"fig.{suffix}").read_bytes() == (tmp_path / "b" / f"fig.{suffix}").read_bytes()
    drawn = pl.read_parquet(tmp_path / "a" / "fig.parquet")
    assert drawn.equals(plot.data(pl.read_parquet(summary), plot.Encoding("workload.installed", "overhead_pct", "strategy")))
    svg = (tmp_path / "a" / "fig.svg").read_text()
    assert "base4k" in svg and "page64k" in svg  # the hue legend names every strategy drawn
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(f"fig.{s}" for s in OUTPUTS)


def test_bars_with_a_filter(tmp_path, summary):
    out = tmp_path / "bars"
    result = pagelab_cli("plot", str(summary), "--x", "strategy", "--y", "memmap_bytes", "--where",
                         "workload.installed=16384K", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    drawn = pl.read_parquet(out.with_suffix(".parquet"))
    # 16 MiB of 4 KiB pages: 4,096 struct pages of 64 bytes = 256 KiB; 64 KiB pages: 256 of them, 16 KiB.
    assert drawn.select("strategy", "mean").rows() == [("base4k", 4096 * 64), ("page64k", 256 * 64)]


@pytest.mark.parametrize(("args", "phrase"), [
    (("--x", "strategy", "--y", "nope"), "--y nope"),
    (("--x", "strategy", "--y", "strategy"), "not a number"),
    (("--x", "strategy", "--y", "overhead_pct"), "differ in workload.installed"),
    (("--x", "nosuch", "--y", "overhead_pct"), "--x nosuch"),
    (("--x", "strategy", "--y", "overhead_pct", "--where", "workload.installed=1T"), "no rows match"),
    (("--x", "strategy", "--y", "guest_bytes", "--col", "workload.installed"), "null in every run"),
])
def test_bad_plots_are_one_line_and_write_nothing(tmp_path, summary, args, phrase):
    result = pagelab_cli("plot", str(summary), *args, "--out", str(tmp_path / "fig"), cwd=tmp_path)
    assert result.returncode == 2 and phrase in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_pool_averages_over_unmapped_parameters(tmp_path, summary):
    result = pagelab_cli("plot", str(summary), "--x", "strategy", "--y", "overhead_pct", "--pool",
                         "--out", str(tmp_path / "fig"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = pl.read_parquet(summary)
    drawn = pl.read_parquet(tmp_path / "fig.parquet")
    for strategy, mean in drawn.select("strategy", "mean").rows():
        assert mean == pytest.approx(rows.filter(pl.col("strategy") == strategy)["overhead_pct"].mean())
    assert drawn["seeds"].to_list() == [3, 3]  # six runs each, over three seeds


def test_figures_at_non_default_settings(tmp_path):
    """The hosting figure of a 512 GiB host: refused at the defaults, drawn with --where."""
    summary = _sweep(tmp_path, "strategy=base4k,dmemfs", "workload=hosting", "workload.installed=512G", "seed=0,1")
    args = ("figures", "--results", str(summary), "--only", "hosting")
    refused = pagelab_cli(*args, "--out", str(tmp_path / "no"), cwd=tmp_path)
    assert refused.returncode == 2 and "default settings" in refused.stderr and not (tmp_path / "no").exists()
    drawn = pagelab_cli(*args, "--where", "workload.installed=512G", "--out", str(tmp_path / "yes"), cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    data = pl.read_parquet(tmp_path / "yes" / "hosting.parquet")
    memmap = data.filter((pl.col("variant") == "base4k") & (pl.col("quantity") == "memmap"))["mean"].to_list()
    assert memmap == [(512 << 30) // 4096 * 64]  # the 512 GiB host's struct pages: 8 GiB, not 320 GiB's 5 GiB
    manifest = json.loads((tmp_path / "yes" / "manifest.json").read_text())
    assert manifest["where"] == ["workload.installed=512G"]
    assert "only runs with workload.installed=512G" in (tmp_path / "yes" / "hosting.svg").read_text()


def test_figures_refuse_a_sweep_of_another_kind(tmp_path, summary):
    result = pagelab_cli("figures", "--results", str(summary), "--only", "hosting", "--out", str(tmp_path / "f"),
                         cwd=tmp_path)
    assert result.returncode == 2 and "figure hosting" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "f").exists()
