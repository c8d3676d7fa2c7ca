"""Tests for pagelab figures: data functions on known inputs, rendering, determinism, CLI."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure
from polars.testing import assert_frame_equal
from scipy.stats import t as t_dist

import pagelab
from pagelab.commands.figure_build import build_figures
from pagelab.commands.figure_models import folio_model, memdesc_model
from pagelab.commands.figure_sweeps import EXPERIMENTS, preset_exists
from pagelab.errors import PagelabError
from pagelab.figures import (
    FIGURES,
    crossover,
    dmem,
    filesizes,
    fleet,
    fleet_timeline,
    folios,
    footprint,
    hosting,
    mechanisms,
    memdesc_folios,
    metadata,
    table,
)
from pagelab.figures.common import NOT_FITTING, with_variants
from pagelab.figures.reference import HANSEN_OVER_DISK_PCT
from pagelab.figures.save import save_figure
from pagelab.figures.style import declared_colours, paper_style, strategy_colors
from pagelab.sweep.manifest import sweep_manifest

matplotlib.use("Agg")
KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


def defaults_of(strategy: str, workload: str) -> dict[str, str | None]:
    """The shipped defaults of a (strategy, workload) pair, as the sweep manifest records them."""
    [row] = sweep_manifest(pl.DataFrame({"strategy": [strategy], "workload": [workload]})).filter(
        pl.col("preset").is_null()).to_dicts()
    return row


def legend_texts(fig: Figure) -> list[str]:
    """Texts of every legend of a figure (axes legends and figure legends)."""
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    return [t.get_text() for legend in legends for t in legend.get_texts()]


# --- data functions on small known inputs -------------------------------------------------


def test_variants_name_only_the_parameters_that_vary_and_sort_sizes_numerically():
    frame = pl.DataFrame({
        "strategy": ["page16k", "base4k", "page16k", "dmemfs"],
        "strategy.page_size": ["2M", None, "16K", None],
        "strategy.dmem": [None, None, None, "!12G"],
    })
    out = with_variants(frame).sort("variant_rank")
    assert out["variant"].to_list() == ["base4k", "dmemfs", "page16k page_size=16K", "page16k page_size=2M"]


T_975 = {1: 12.706, 2: 4.303, 3: 3.182}  # t(0.975, df) from a printed t-table (two-sided 95 %)


def ci(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % interval by hand: mean ± t(0.975, n-1) · s / √n, s the sample deviation."""
    n = len(values)
    mean = sum(values) / n
    s = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    half = float(t_dist.ppf(0.975, n - 1)) * s / n**0.5
    return mean, mean - half, mean + half


def test_the_t_quantiles_are_the_t_tables():
    for df, printed in T_975.items():
        assert round(float(t_dist.ppf(0.975, df)), 3) == printed


def test_metadata_data_means_duplicates_per_variant_and_says_which_do_not_fit():
    frame = pl.DataFrame({
        "strategy": ["dmemfs", "base4k", "dmemfs", "base4k", "dmemfs", "dmemfs"],
        "installed_bytes": [16 * GiB, 16 * GiB, 320 * GiB, 320 * GiB, 16 * GiB, 16 * GiB],
        "memmap_bytes": [192 * MiB, 256 * MiB, 192 * MiB, 5 * GiB, 192 * MiB, 192 * MiB],
        "descriptor_bytes": [100, 0, 200, 0, 300, 500],
        "fits": [True, True, True, True, True, False],
        "strategy.dpage_size": ["2M", None, "2M", None, "1G", "1G"],
    })
    meta = [(16 * GiB, 256 * MiB), (320 * GiB, 5 * GiB), (16 * GiB, 192 * MiB + 100),
            (320 * GiB, 192 * MiB + 200), (16 * GiB, 192 * MiB + 400)]
    expected = pl.DataFrame({
        "strategy": ["base4k", "base4k", "dmemfs", "dmemfs", "dmemfs"],
        "variant": ["base4k", "base4k", "dmemfs dpage_size=2M", "dmemfs dpage_size=2M", "dmemfs dpage_size=1G"],
        "installed_bytes": [m[0] for m in meta],
        "metadata_bytes": [float(m[1]) for m in meta],
        "metadata_pct": [100 * m[1] / m[0] for m in meta],
        "runs": [1, 1, 1, 1, 2],
        "fits": [True, True, True, True, False],  # one of the two 1G runs did not fit
    })
    assert_frame_equal(metadata.data(frame.lazy()), expected)


def test_footprint_data_summarises_seeds_with_a_t_interval_and_marks_runs_that_do_not_fit():
    frame = pl.DataFrame({
        "strategy": ["base4k", "base4k", "page16k", "page16k", "folio", "base4k"],
        "workload": ["pagecache", "pagecache", "pagecache", "pagecache", "pagecache", "laptop"],
        "seed": [0, 1, 0, 0, 0, 0],
        "requested_bytes": [1000, 1000, 1000, 1000, 1000, 1000],
        "allocated_bytes": [1100, 1300, 1500, 10000, 1100, 9999],
        "fits": [True, True, True, False, True, True],
        "workload.files.dataset": ["d"] * 6,
        "strategy.page_size": [None, None, "16K", "2M", None, None],
    })
    base = ci([10.0, 30.0])  # 20 ± 12.706 · 14.142 / 1.414
    assert np.isclose(base[2] - base[0], T_975[1] * 10, rtol=1e-4)
    expected = pl.DataFrame({
        "dataset": ["d", "d", "d"],
        "strategy": ["base4k", "page16k", "page16k"],
        "label": ["base4k", "page16k", "page2m"],  # page16k at 2M pages is the page2m preset
        "page_bytes": [4096, 16384, 2 * MiB],
        "page_size": ["4K", "16K", "2M"],
        "requested_bytes": [1000.0, 1000.0, 1000.0],
        "allocated_bytes": [1200.0, 1500.0, 10000.0],
        "above_pct_mean": [base[0], 50.0, 900.0],
        "above_pct_lo": [base[1], None, None],
        "above_pct_hi": [base[2], None, None],
        "seeds": [2, 1, 1],
        "fits": [True, True, False],
    })
    assert_frame_equal(footprint.data(frame, sweep_manifest(frame)), expected)


def test_crossover_is_interpolated_exactly_and_leaves_out_machines_the_files_do_not_fit():
    ram = [256 * GiB, 512 * GiB, 1024 * GiB]
    frag = {("1G", "base4k"): 1 * GiB, ("1G", "page64k"): 10 * GiB, ("all", "base4k"): 1 * GiB,
            ("all", "page64k"): 100 * GiB}
    memmap = {"base4k": 64, "page64k": 1024}  # bytes of RAM per byte of memmap
    rows = [
        {"strategy": s, "installed_bytes": r, "memmap_bytes": r // memmap[s], "internal_frag_bytes": frag[cache, s],
         "workload.files.dataset": "d", "workload.files.cache": cache, "fits": True}
        for cache in ("all", "1G") for s in ("page64k", "base4k") for r in ram
    ]
    # 64K on a 128 GiB machine: the files do not fit. Were it a point, 64K would win there
    # (2 GiB < base4k's 3 GiB) and the crossing would be "always".
    rows.append({**rows[0], "installed_bytes": 128 * GiB, "memmap_bytes": 0, "internal_frag_bytes": 2 * GiB,
                 "workload.files.cache": "1G", "fits": False})
    rows.append({**rows[3], "installed_bytes": 128 * GiB, "memmap_bytes": 2 * GiB, "internal_frag_bytes": GiB,
                 "workload.files.cache": "1G"})
    out = crossover.data(pl.DataFrame(rows), sweep_manifest(pl.DataFrame(rows)))
    # base4k: R/64 + 1G, page64k: R/1024 + 10G: equal at R = 9G * 1024 / 15 = 614.4 GiB.
    cross = {("1G", 65536): 614.4 * GiB}
    over = {(c, s, r): float(r // memmap[s] + frag[c, s]) for c in ("1G", "all") for s in memmap for r in ram}
    over["1G", "page64k", 128 * GiB], over["1G", "base4k", 128 * GiB] = 2.0 * GiB, 3.0 * GiB
    grid = {"1G": [128 * GiB, *ram], "all": ram}
    expected = pl.DataFrame([
        {"dataset": "d", "cache": cache, "strategy": s, "page_bytes": page, "page_size": size, "installed_bytes": r,
         "overhead_bytes_mean": over[cache, s, r], "overhead_bytes_lo": None, "overhead_bytes_hi": None, "seeds": 1,
         "fits": not (s == "page64k" and r == 128 * GiB),
         "fits_from_bytes": 256 * GiB if s == "page64k" else grid[cache][0],
         "crossover_bytes": cross.get((cache, page)),
         "crossover_kind": "baseline" if page == 4096 else ("crossing" if cache == "1G" else "never"),
         # The lowest overhead among the page sizes that fit at this RAM (64K at 128 GiB does not fit).
         "best": over[cache, s, r] == min(over[cache, t, r] for t in memmap if not (t == "page64k" and r == 128 * GiB))
         and not (s == "page64k" and r == 128 * GiB),
         # Only two page sizes: the pair columns against 4K repeat the crossover, on the 64K rows only.
         "beats_4K_from_bytes": cross.get((cache, page)),
         "beats_4K": None if page == 4096 else ("crossing" if cache == "1G" else "never")}
        for cache in ("1G", "all") for s, page, size in (("base4k", 4096, "4K"), ("page64k", 65536, "64K"))
        for r in grid[cache]
    ], schema_overrides={"crossover_bytes": pl.Float64, "overhead_bytes_lo": pl.Float64,
                         "overhead_bytes_hi": pl.Float64, "beats_4K_from_bytes": pl.Float64, "beats_4K": pl.String})
    assert_frame_equal(out, expected)


def test_hosting_data_keeps_the_workloads_defaults_and_gives_the_t_interval_over_seeds():
    defaults = defaults_of("base4k", "hosting")
    base = {"workload": "hosting", "installed_bytes": 320 * GiB, "guest_bytes": 100 * GiB, "memmap_bytes": 5 * GiB,
            "descriptor_bytes": 0, "pagetable_bytes": 1, "ept_bytes": 4, "internal_frag_bytes": 2,
            "stranded_bytes": 3, "overhead_bytes": 5 * GiB + 10, "free_bytes": GiB, "fits": True,
            "workload.dmem": defaults["workload.dmem"], "workload.guests.dataset": defaults["workload.guests.dataset"]}
    rows = [
        {**base, "strategy": "base4k", "seed": 0, "guests": 10, "strategy.dmem": None},
        {**base, "strategy": "base4k", "seed": 1, "guests": 20, "strategy.dmem": None},
        {**base, "strategy": "base4k", "seed": 2, "guests": 40, "strategy.dmem": None, "free_bytes": 4 * GiB},
        {**base, "strategy": "dmemfs", "seed": 0, "guests": 15, "strategy.dmem": defaults["workload.dmem"],
         "fits": False},
        # The carve-out sweep's row and another VM mix stay out.
        {**base, "strategy": "dmemfs", "seed": 0, "guests": 99, "strategy.dmem": "!2G"},
        {**base, "strategy": "base4k", "seed": 0, "guests": 99, "strategy.dmem": None,
         "workload.guests.dataset": "not_the_default"},
    ]
    out = hosting.data(pl.DataFrame(rows), sweep_manifest(pl.DataFrame(rows)))
    values = {"guest_bytes": 100 * GiB, "memmap_bytes": 5 * GiB, "descriptor_bytes": 0, "pagetable_bytes": 1,
              "ept_bytes": 4, "internal_frag_bytes": 2, "stranded_bytes": 3, "overhead_bytes": 5 * GiB + 10,
              "free_bytes": GiB}
    hand = {"guests": ci([10, 20, 40]), "free_bytes": ci([GiB, GiB, 4 * GiB])}

    def stats(s: str, key: str) -> tuple:
        if s == "dmemfs":
            return (15.0 if key == "guests" else float(values[key]), None, None)
        return hand.get(key, (float(values.get(key, 0)),) * 3)

    expected = pl.DataFrame([
        {"strategy": s, "variant": s, "quantity": hosting.QUANTITIES[key], "mean": stats(s, key)[0],
         "lo": stats(s, key)[1], "hi": stats(s, key)[2], "seeds": 3 if s == "base4k" else 1, "fits": s == "base4k"}
        for s in ("base4k", "dmemfs") for key in hosting.QUANTITIES
    ], schema_overrides={"lo": pl.Float64, "hi": pl.Float64})
    assert_frame_equal(out, expected)
    # The interval by the printed t-table: 23.33 ± 4.303 · 15.28 / √3 = 23.33 ± 37.95.
    guests = out.filter(pl.col("variant") == "base4k", pl.col("quantity") == "guests").row(0, named=True)
    assert np.isclose(guests["hi"] - guests["mean"], T_975[2] * (700 / 3) ** 0.5 / 3**0.5, rtol=1e-3)
    assert list(hosting.QUANTITIES)[:2] == ["guest_bytes", "guests"]  # memory sold is the primary metric
    assert "free_bytes" not in hosting.PARTS  # free memory is never overhead


def _dmem_rows() -> pl.DataFrame:
    """Two VM mixes; dmemfs (strategy.dmem), hvo (strategy.pool) and base4k, as the preset sweeps them."""
    curves = {  # (mix, strategy, dmem=): memory sold per seed in GiB, and whether the runs fit
        ("mixA", "dmemfs", "!8G"): ([100, 110], True),
        ("mixA", "dmemfs", "!12G"): ([120, 124], True),
        ("mixA", "dmemfs", "!16G"): ([122, 122], True),  # ties !12G: the smaller share wins
        ("mixA", "hvo", "!8G"): ([90, 90], True),
        ("mixA", "hvo", "!12G"): ([95, 97], True),
        ("mixB", "dmemfs", "!4G"): ([150, 150], False),  # the largest mean, but the host does not fit
        ("mixB", "dmemfs", "!8G"): ([130, 132], True),
        ("mixB", "dmemfs", "!12G"): ([128, 128], True),
    }
    rows = [
        {"mix": mix, "strategy": s, "dmem": d, "seed": seed, "gib": gib, "fits": fits}
        for (mix, s, d), (sold, fits) in curves.items() for seed, gib in enumerate(sold)
    ]
    # base4k ignores dmem=: the sweep repeats each seed at every dmem= value.
    rows += [{"mix": "mixA", "strategy": "base4k", "dmem": d, "seed": seed, "gib": gib, "fits": True}
             for d in ("!8G", "!12G") for seed, gib in enumerate([118, 122])]
    return pl.DataFrame(rows).select(
        "strategy", "seed", "fits",
        workload=pl.lit("hosting"), installed_bytes=pl.lit(320 * GiB), nodes=pl.lit(2),
        guest_bytes=pl.col("gib") * GiB, guests=pl.col("gib") // 4,
        **{"workload.dmem": pl.col("dmem"), "workload.guests.dataset": pl.col("mix"),
           "strategy.dmem": pl.when(pl.col("strategy") == "dmemfs").then(pl.col("dmem")),
           "strategy.pool": pl.when(pl.col("strategy") == "hvo").then(pl.col("dmem"))},
    )


def test_dmem_optimum_is_the_largest_mean_memory_sold_per_mix_and_variant():
    out = dmem.data(_dmem_rows(), sweep_manifest(_dmem_rows()))
    optima = out.filter(pl.col("is_optimum")).select(
        "mix", "variant", "kernel_share_bytes", "guest_bytes_mean", "guest_bytes_lo", "guest_bytes_hi", "seeds")
    hand = [("mixA", "dmemfs", 12, [120, 124]), ("mixA", "hvo", 12, [95, 97]), ("mixB", "dmemfs", 8, [130, 132])]
    expected = pl.DataFrame([
        {"mix": mix, "variant": v, "kernel_share_bytes": share * GiB, "guest_bytes_mean": ci(sold)[0] * GiB,
         "guest_bytes_lo": ci(sold)[1] * GiB, "guest_bytes_hi": ci(sold)[2] * GiB, "seeds": 2}
        for mix, v, share, sold in hand
    ])
    assert_frame_equal(optima, expected, check_exact=False, rel_tol=1e-9)
    # 122 ± 12.706 · 2.828 / 1.414: the interval by the printed t-table.
    assert np.isclose(optima["guest_bytes_hi"][0] / GiB - 122, T_975[1] * 2, rtol=1e-4)
    # The cliff is the grid point below the optimum; in mixB that is the run that does not fit.
    cliffs = out.filter(pl.col("is_cliff")).select("mix", "variant", "kernel_share_bytes", "fits", "not_fitting_runs")
    assert cliffs.rows() == [("mixA", "dmemfs", 8 * GiB, True, 0), ("mixA", "hvo", 8 * GiB, True, 0),
                             ("mixB", "dmemfs", 4 * GiB, False, 2)]
    # base4k: one reference per mix, each seed once although it ran at every dmem=.
    base = out.filter(pl.col("strategy") == "base4k").row(0, named=True)
    mean, lo, hi = ci([118, 122])
    assert (base["mix"], base["kernel_share_bytes"], base["seeds"]) == ("mixA", None, 2)
    assert np.allclose([base["guest_bytes_mean"], base["guest_bytes_lo"], base["guest_bytes_hi"]],
                       [mean * GiB, lo * GiB, hi * GiB])
    assert out.filter(pl.col("strategy") == "base4k").height == 1
    assert out.columns[:4] == ["mix", "strategy", "variant", "kernel_share_bytes"]


def test_dmem_reads_the_kernel_share_of_both_dmem_forms_and_of_hvos_boot_pool():
    # 150G carved out of a 160G node keeps 10G for the kernel, as dmem=!10G does.
    rows = _dmem_rows().filter(pl.col("workload.guests.dataset") == "mixA")
    rows = rows.with_columns(pl.col("strategy.dmem").replace({"!16G": "144G"}))
    # hvo as it runs now: strategy.pool=boot with the share in boot_pool; a runtime pool
    # (no carve-out, it ignores dmem=) is no point of any curve.
    hvo = pl.col("strategy") == "hvo"
    rows = pl.concat([
        rows.with_columns(**{"strategy.boot_pool": pl.when(hvo).then(pl.col("strategy.pool")),
                             "strategy.pool": pl.when(hvo).then(pl.lit("boot"))}),
        rows.filter(hvo).with_columns(**{"strategy.boot_pool": pl.lit("!6G"), "strategy.pool": pl.lit("runtime")}),
    ])
    out = dmem.data(rows, sweep_manifest(rows))
    shares = {v: out.filter(pl.col("variant") == v)["kernel_share_bytes"].to_list()
              for v in ("dmemfs", "hvo pool=boot")}
    assert shares == {"dmemfs": [8 * GiB, 12 * GiB, 16 * GiB], "hvo pool=boot": [8 * GiB, 12 * GiB]}
    assert out.filter(pl.col("strategy") == "hvo")["seeds"].to_list() == [2, 2]  # runtime rows not pooled in


def test_folio_data_counts_pages_and_draws_a_measured_census_beside_the_model():
    measured = pl.DataFrame({
        "source": ["kernel", "folio", "kernel"],
        "size": [65536, 65536, 300_000],
        "read_size": [4096, 4096, 4096],
        "read_ahead_kb": [8192, 8192, 8192],
        "folios": [7, 7, 14],
    })
    rows = pl.DataFrame({"strategy": []}, schema={"strategy": pl.String})
    out = folios.data(rows, folio_model(rows, measured), measured=measured)
    pages = out.filter(pl.col("series") == "4 KiB pages")
    assert_frame_equal(pages.select(pl.col("objects").alias("o")),
                       pages.select(((pl.col("size_bytes") + 4095) // 4096).alias("o")))
    expected = pl.DataFrame({
        "source": ["measured", "measured"], "series": ["measured, read() 4K"] * 2, "read_size": [4096, 4096],
        "size_bytes": [65536, 300_000], "objects": [7, 14],
    })
    assert_frame_equal(out.filter(pl.col("source") == "measured"), expected)
    # The model ran with the measured device's readahead: the ext4 oracle's 64 KiB file has 7 folios.
    model = out.filter(pl.col("series") == "folios, read() 4K", pl.col("size_bytes") == 65536)
    assert model["objects"].to_list() == [7]


def test_folio_data_rejects_a_census_without_folios():
    with pytest.raises(PagelabError, match="missing column"):
        folios.data(pl.DataFrame(), folio_model(pl.DataFrame()), measured=pl.DataFrame({"size": [1]}))
    with pytest.raises(PagelabError, match="missing column"):  # the model takes the measurement's read() sizes
        folio_model(pl.DataFrame(), measured=pl.DataFrame({"size": [1]}))


def test_filesizes_cdf_at_powers_of_two():
    files = pl.DataFrame({"size": [0, 1, 3, 4, 5, 4096], "count": [1, 1, 1, 1, 1, 1]})
    sizes = [1 << k for k in range(13)]
    files_cum = {1: 2, 2: 2, 4: 4, 8: 5}
    bytes_cum = {1: 1, 2: 1, 4: 8, 8: 13}
    expected = pl.DataFrame({
        "size_bytes": sizes,
        "files_pct": [100 * files_cum.get(s, 5 if s < 4096 else 6) / 6 for s in sizes],
        "bytes_pct": [100 * bytes_cum.get(s, 13 if s < 4096 else 4109) / 4109 for s in sizes],
    })
    assert_frame_equal(filesizes.cdf(files), expected)


def test_table_data_keeps_runs_at_the_defaults_with_the_t_interval_and_daggers_what_does_not_fit():
    laptop = defaults_of("base4k", "laptop")
    pc = defaults_of("page64k", "pc1991")
    frame = pl.DataFrame({
        "strategy": ["base4k", "base4k", "base4k", "page64k"],
        "workload": ["laptop", "laptop", "laptop", "pc1991"],
        "seed": [0, 1, 0, 0],
        "installed_bytes": [16 * GiB, 16 * GiB, 32 * GiB, 4 * MiB],
        "overhead_pct": [1.0, 3.0, 99.0, 50.0],
        "fits": [True, True, True, False],
        "workload.installed": [laptop["workload.installed"], laptop["workload.installed"], "a different size",
                               pc["workload.installed"]],
    })
    # 2 ± t(0.975, 1) · √2 / √2 = 2 ± 12.706.
    mean, lo, hi = ci([1.0, 3.0])
    assert np.isclose(hi - mean, T_975[1], atol=5e-4)
    expected = pl.DataFrame({
        "strategy": ["base4k", "page64k"], "workload": ["laptop", "pc1991"], "overhead_pct_mean": [mean, 50.0],
        "overhead_pct_lo": [lo, None], "overhead_pct_hi": [hi, None], "seeds": [2, 1],
        "installed_bytes": [16 * GiB, 4 * MiB], "fits": [True, False],
    })
    out = table.data(frame, sweep_manifest(frame))
    assert_frame_equal(out, expected)
    tex = table.render(out)
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "Strategy & pc1991 & laptop \\\\" in tex
    assert "base4k & -- & 2.00 $\\pm$ 12.71 \\\\" in tex
    assert "page64k & 50.00\\textsuperscript{\\dag} & -- \\\\" in tex
    notes = [line for line in tex.splitlines() if line.startswith("\\multicolumn{3}{l}")]
    assert len(notes) == 2 and "1--2 seeds" in notes[0] and "Student-t" in notes[0]
    assert "\\textsuperscript{\\dag}" in notes[1] and NOT_FITTING in notes[1]
    # Every run fits: no dagger and no footnote about it.
    fitting = table.render(out.with_columns(fits=pl.lit(True)))
    assert "\\dag" not in fitting and NOT_FITTING not in fitting


def test_a_summary_without_the_needed_columns_is_a_one_line_error():
    with pytest.raises(PagelabError, match="figure footprint: the results lack column"):
        footprint.data(pl.DataFrame({"strategy": ["base4k"]}), sweep_manifest(pl.DataFrame({"strategy": ["base4k"]})))
    missing = r"^figure dmem: the results lack column\(s\) strategy.dmem or strategy.boot_pool$"
    with pytest.raises(PagelabError, match=missing):
        dmem.data(_dmem_rows().drop("strategy.dmem", "strategy.pool"), sweep_manifest(_dmem_rows()))


# --- rendering: structure of the drawn figures ----------------------------------------------


@pytest.fixture(scope="module")
def summary() -> dict[str, pl.DataFrame]:
    """Small real summaries per experiment, from in-process runs (a few seconds)."""
    files = ["workload=pagecache", "workload.files.dataset=irlam_ufs93", "workload.files.cache=1G"]
    # Every file of python_venv (694 MB; 1.36 GB at 64K pages): 64K does not fit 1 GiB.
    venv = ["workload=laptop", "workload.anon.total=0", "workload.files.cache=all",
            "workload.files.dataset=python_venv"]
    grids = {
        "metadata_vs_ram": [[f"strategy={s}", *files, f"workload.installed={r}"]
                            for s in ("base4k", "page64k", "folio") for r in ("16G", "320G")]
        # hvo with a boot pool at 4 TiB: its memmap alone overflows the 8 GiB kernel share.
        + [["strategy=hvo_boot", "workload=machine", "workload.dmem='!8G'", f"workload.installed={r}"]
           for r in ("1T", "4T")],
        # pagecache at its defaults: the machine is sized for 4K pages; 16K and 64K do not fit.
        "pagecache_bloat": [[f"strategy={s}", "workload=pagecache"] for s in ("base4k", "page16k", "page64k")],
        "crossover": [[f"strategy={s}", *venv, f"workload.installed={r}"]
                      for s in ("base4k", "page64k") for r in ("1G", "16G", "1T", "16T")],
        "hosting_density": [[f"strategy={s}", "workload=hosting", f"seed={seed}"]
                            for s in ("base4k", "dmemfs") for seed in (0, 1, 2)],
        # dmem=!1G leaves less than the host's 2 GiB reserve per node: it does not fit.
        "dmem_sizing": [["strategy=dmemfs", "workload=hosting", f"strategy.dmem='!{n}G'", f"seed={seed}"]
                        for n in (1, 4, 12, 32) for seed in (0, 1)]
        + [["strategy=hvo_boot", "workload=hosting", f"workload.dmem='!{n}G'"] for n in (4, 12)]
        + [["strategy=base4k", "workload=hosting", f"seed={seed}"] for seed in (0, 1)],
        # A week of the trace on its 16 hosts, with and without overcommit.
        "fleet_overcommit": [[f"strategy={s}", "workload=fleet", "workload.fleet.hours=168",
                              f"workload.fleet.overcommit_ratio={r}"] for s in ("base4k", "dmemfs") for r in (1.0, 1.5)],
        "headline": [[f"strategy={s}", "workload=pc1991"] for s in ("base4k", "page64k")]
        + [[f"strategy={s}", "workload=pagecache"] for s in ("base4k", "page64k")],
    }
    return {name: pl.concat([pagelab.run(o) for o in runs], how="diagonal_relaxed") for name, runs in grids.items()}


@pytest.fixture(scope="module")
def manifests(summary) -> dict[str, pl.DataFrame]:
    """The sweep manifest of each small summary, as collect writes it."""
    return {name: sweep_manifest(frame) for name, frame in summary.items()}


@pytest.fixture(scope="module")
def figure_data(summary, manifests) -> dict[str, pl.DataFrame]:
    """Every figure's tidy data from the small summaries."""
    return {
        "metadata": metadata.data(summary["metadata_vs_ram"]),
        "footprint": footprint.data(summary["pagecache_bloat"], manifests["pagecache_bloat"]),
        "crossover": crossover.data(summary["crossover"], manifests["crossover"]),
        "hosting": hosting.data(summary["hosting_density"], manifests["hosting_density"]),
        "mechanisms": mechanisms.data(summary["hosting_density"], manifests["hosting_density"]),
        "dmem": dmem.data(summary["dmem_sizing"], manifests["dmem_sizing"]),
        "folios": folios.data(summary["headline"], folio_model(summary["headline"])),
        "memdesc": memdesc_folios.data(summary["headline"], memdesc_model(summary["headline"])),
        "filesizes": filesizes.data(summary["headline"], names=["irlam_ufs93"]),
        "overhead": table.data(summary["headline"], manifests["headline"]),
        "fleet": fleet.data(summary["fleet_overcommit"]),
        "fleet_timeline": fleet_timeline.data(summary["fleet_overcommit"]),
    }


def test_real_runs_reproduce_the_articles_points(figure_data):
    meta = figure_data["metadata"].filter(pl.col("strategy") == "base4k")
    assert meta.select("installed_bytes", "metadata_bytes").rows() == [(16 * GiB, 256.0 * MiB), (320 * GiB, 5.0 * GiB)]


def test_real_pagecache_defaults_do_not_fit_at_larger_pages_and_the_table_says_so(figure_data):
    # installed=auto sizes the machine for 4K pages: 64K pages cannot cache every file.
    cells = {(s, w): f for s, w, f in figure_data["overhead"].select("strategy", "workload", "fits").iter_rows()}
    assert cells == {("base4k", "pc1991"): True, ("page64k", "pc1991"): True, ("base4k", "pagecache"): True,
                     ("page64k", "pagecache"): False}
    tex = table.render(figure_data["overhead"])
    [row] = [line for line in tex.splitlines() if line.startswith("page64k &")]
    # The pagecache column: the second workload by installed RAM.
    assert row.removesuffix(" \\\\").split(" & ")[2].endswith("\\textsuperscript{\\dag}")
    assert "\\dag" not in next(line for line in tex.splitlines() if line.startswith("base4k &"))


def test_render_metadata_draws_points_that_do_not_fit_hollow(figure_data):
    frame = figure_data["metadata"]
    assert frame.filter(~pl.col("fits")).select("strategy", "installed_bytes").rows() == [("hvo", 4 * TiB)]
    with paper_style():
        fig = metadata.render(frame)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("installed RAM", "page metadata (memmap + descriptors)")
    assert legend_texts(fig) == ["base4k", "folio", "hvo", "page64k", f"hollow: {NOT_FITTING}",
                                 "LWN 2020 (article):\n4 MiB: 1,024 pages\n16 GiB: 256 MiB\n320 GiB: 5 GiB"]
    assert not [t for t in ax.texts if "MiB" in t.get_text()]  # no label over the lines
    curves = [line for line in ax.lines if len(line.get_xdata())]  # seaborn adds empty legend proxies
    assert len(curves) == 4 and ax.get_xscale() == "log"
    hollow = [c for c in ax.collections
              if len(c.get_offsets()) and len(c.get_facecolors()) and tuple(c.get_facecolors()[0]) == (1, 1, 1, 1)]
    assert [c.get_offsets().tolist() for c in hollow] == [[[4.0 * TiB, frame.filter(~pl.col("fits"))
                                                            ["metadata_bytes"][0]]]]
    assert ax.get_legend() is None  # the legend sits below the axes, over no line
    assert "same line: base4k = folio" in [t.get_text() for t in ax.texts]  # folio draws base4k's memmap


def test_render_footprint_hatches_the_bars_that_do_not_fit(figure_data):
    frame = figure_data["footprint"]
    assert frame["fits"].to_list() == [True, False, False]
    with paper_style():
        fig = footprint.render(frame)
    ax = fig.axes[0]
    assert len(ax.patches) == 3  # one bar per page size
    assert [str(p.get_hatch() or "") for p in ax.patches] == ["", "////", "////"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4K", "16K", "64K"]
    labels = [t.get_text() for t in ax.texts]
    assert not labels[0].endswith("†") and labels[1].endswith("†") and labels[2].endswith("†")
    assert legend_texts(fig) == ["base4k", "page16k", "page64k", "Hansen: his kernel tree, above its bytes",
                                 f"† {NOT_FITTING} (part cached)"]
    marks = ax.collections[0].get_offsets()[:, 1].tolist()
    # Above the bytes on disk, as the bars: 12,223,488 KB and 16,623,296 KB over 11,297,648 KB.
    assert marks == list(HANSEN_OVER_DISK_PCT.values()) == [round(100 * (12_223_488 / 11_297_648 - 1), 1),
                                                          round(100 * (16_623_296 / 11_297_648 - 1), 1)] == [8.2, 47.1]
    assert fig.get_suptitle().endswith("1 seed (no interval)")
    with paper_style():  # another dataset: Hansen's tree is not it, so no marks
        other = footprint.render(frame.with_columns(dataset=pl.lit("irlam_ufs93")))
    assert not other.axes[0].collections and "Hansen" not in " ".join(legend_texts(other))


def test_render_crossover_leaves_out_the_points_that_do_not_fit(figure_data):
    frame = figure_data["crossover"]
    assert frame.filter(~pl.col("fits")).select("page_size", "installed_bytes").rows() == [("64K", GiB)]
    with paper_style():
        fig = crossover.render(frame)
    ax = fig.axes[0]
    curves = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(curves) == 2 and ax.get_xlabel() == "installed RAM"
    assert [list(c.get_xdata()) for c in curves] == [[GiB, 16 * GiB, TiB, 16 * TiB], [16 * GiB, TiB, 16 * TiB]]
    # python_venv is not Hansen's kernel tree: no "~300 GB" line on it.
    assert legend_texts(fig) == ["4K pages (base4k)", "64K pages (page64k)"]
    assert not any(line.get_linestyle() == "--" for line in ax.lines)
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("64K beats 4K from") or t.startswith("64K never beats 4K") for t in texts)
    assert "files do not fit below 16 GiB at 64K (left out)" in texts
    # The best page size at each RAM, named from the data: the cheaper fitting one per grid point.
    best = (frame.filter(pl.col("best")).sort("installed_bytes")["page_size"].to_list())
    assert texts[0].startswith("best: " + best[0]) and best[-1] in texts[0]
    assert "left out" in fig.get_suptitle()
    with paper_style():
        tree = crossover.render(frame.with_columns(dataset=pl.lit("linux_6_1")))
    assert legend_texts(tree)[-1] == 'Hansen: 64K beats 4K at "~300 GB" (his kernel tree)'
    assert any(line.get_linestyle() == "--" for line in tree.axes[0].lines)


def test_render_hosting(figure_data):
    frame = figure_data["hosting"]
    assert set(frame["seeds"]) == {3} and frame["lo"].is_not_null().all()
    with paper_style():
        fig = hosting.render(frame)
    sold, guests, stack, free = fig.axes
    assert (sold.get_xlabel(), guests.get_xlabel()) == ("memory sold (GiB)", "guests per host")
    assert [t.get_text() for t in sold.get_yticklabels()] == ["base4k", "dmemfs"]
    assert len(stack.patches) == 2 * len(hosting.PARTS) and len(free.patches) == 2
    assert legend_texts(fig) == [*hosting.PARTS.values(), "free after packing (not overhead)"]
    assert "95 % CI over 3 seeds" in fig.get_suptitle()
    # The error bars of memory sold span the interval of the data.
    row = frame.filter(pl.col("variant") == "base4k", pl.col("quantity") == "memory sold").row(0, named=True)
    segments = sold.collections[0].get_segments()
    assert np.allclose(segments[0][:, 0], [row["lo"] / GiB, row["hi"] / GiB])
    # The overhead stack adds up to the total, and free memory is no part of it.
    widths = [p.get_width() for p in stack.patches]
    total = frame.filter(pl.col("quantity") == "overhead").sort("variant")["mean"].to_numpy() / GiB
    assert np.allclose([sum(widths[0::2]), sum(widths[1::2])], total)


def test_render_hosting_marks_variants_that_do_not_fit(figure_data):
    frame = figure_data["hosting"].with_columns(fits=pl.col("strategy") == "base4k")
    with paper_style():
        fig = hosting.render(frame)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["base4k", "dmemfs †"]
    assert legend_texts(fig)[-1] == f"† hollow: {NOT_FITTING}"


def test_render_dmem(figure_data):
    frame = figure_data["dmem"]
    misfit = frame.filter(~pl.col("fits"))
    assert misfit.select("variant", "kernel_share_bytes", "is_optimum").rows() == [("dmemfs", GiB, False)]
    with paper_style():
        fig = dmem.render(frame)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "memory sold (GiB)" and ax.get_title() == "VM mix azure_2017"
    assert legend_texts(fig) == ["dmemfs", "hvo pool=boot", "base4k (no carve-out)", "95 % CI band",
                                 f"hollow: {NOT_FITTING}"]
    best = frame.filter(pl.col("is_optimum"), pl.col("variant") == "dmemfs").row(0, named=True)
    share = best["kernel_share_bytes"] // GiB
    label = (f"dmemfs: !{share}G, {best['guest_bytes_mean'] / GiB:.1f} GiB "
             f"[{best['guest_bytes_lo'] / GiB:.1f}, {best['guest_bytes_hi'] / GiB:.1f}]")
    assert label in [t.get_text() for t in ax.texts]
    assert fig.get_suptitle() == "mean and 95 % CI over 1-2 seeds"  # hvo ran one seed, the others two


def test_render_dmem_draws_a_panel_per_vm_mix():
    frame = dmem.data(_dmem_rows(), sweep_manifest(_dmem_rows()))
    with paper_style():
        fig = dmem.render(frame)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["VM mix mixA", "VM mix mixB"]
    texts = [t.get_text() for t in visible[1].texts]
    assert "dmemfs: !8G, 131.0 GiB [118.3, 143.7]" in texts  # 131 ± 12.706 · 1.414 / 1.414
    assert fig.get_suptitle() == "mean and 95 % CI over 2 seeds"


def test_render_folios_and_filesizes(figure_data):
    with paper_style():
        fig = folios.render(figure_data["folios"])
        sizes = filesizes.render(figure_data["filesizes"])
    assert len(fig.axes[0].lines) == 5 and fig.axes[0].get_ylabel() == "objects tracked per file"
    assert legend_texts(fig)[0] == "4 KiB pages"
    assert [ax.get_title() for ax in sizes.axes] == ["cumulative share of files", "cumulative share of bytes (space)"]
    assert legend_texts(sizes) == ["irlam_ufs93"]


def test_strategy_colours_are_the_manifests_strategies_sorted_then_other_names(manifests):
    declared = declared_colours(manifests["metadata_vs_ram"])
    assert declared == {"base4k": None, "folio": None, "hvo": None, "page64k": None}  # no built-in declares one
    with paper_style(declared):
        colours = strategy_colors(["zz_foreign", "page2m"])
    assert list(colours) == ["base4k", "folio", "hvo", "page64k", "page2m", "zz_foreign"]
    assert len(set(colours.values())) == len(colours)  # distinct while the palette lasts
    with paper_style({**declared, "folio": "#123456"}):  # a plugin's declared colour wins for its strategy
        assert strategy_colors()["folio"] == "#123456" and strategy_colors()["base4k"] == colours["base4k"]


def test_rendering_twice_gives_identical_bytes(figure_data, tmp_path):
    digests = []
    for run in ("a", "b"):
        with paper_style():
            paths = [p for name, spec in FIGURES.items() if not spec.is_table
                     for p in save_figure(spec.render(figure_data[name]), tmp_path / run / name)]
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert len(digests[0]) == 3 * 11 and digests[0] == digests[1]
    pdf = (tmp_path / "a" / "metadata.pdf").read_bytes()
    assert b"/FontFile2" in pdf and b"CreationDate" not in pdf  # TrueType fonts, no timestamp


# --- the command: manifest, byte identity, errors ------------------------------------------


@pytest.fixture(scope="module")
def results_dir(summary, tmp_path_factory) -> Path:
    """A folder of sweep summaries, one per experiment, as `pagelab figures --results` reads."""
    root = tmp_path_factory.mktemp("results")
    for name, frame in summary.items():
        (root / name).mkdir()
        frame.with_columns(job=pl.lit("0"), state=pl.lit("done")).write_parquet(root / name / "summary.parquet")
    return root


def test_every_figure_is_in_the_manifest_and_reruns_are_byte_identical(results_dir, tmp_path, capsys):
    out = tmp_path / "figures"
    manifest = build_figures(out, results=results_dir, command="pagelab figures")
    assert [f["name"] for f in manifest["figures"]] == list(FIGURES)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest and on_disk["pagelab_version"] == pagelab.__version__
    assert {s["experiment"] for s in on_disk["results"]["summaries"]} == set(EXPERIMENTS)
    for entry in on_disk["figures"]:
        expected = {"csv", "parquet", "tex"} if entry["name"] == "overhead" else {"csv", "parquet", "pdf", "svg", "png"}
        assert {name.rsplit(".", 1)[1] for name in entry["files"]} == expected
        for name, digest in entry["files"].items():
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    build_figures(out, results=results_dir, command="pagelab figures")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_figures_rendered_on_workers_equal_figures_rendered_one_after_another(results_dir, tmp_path, monkeypatch):
    from joblib import effective_n_jobs

    if effective_n_jobs(-1) < 2:
        pytest.skip("one core: the figures render in this process either way")
    only = ["metadata", "hosting", "dmem", "overhead"]
    build_figures(tmp_path / "workers", results=results_dir, only=only)
    monkeypatch.setenv("LOKY_MAX_CPU_COUNT", "1")  # joblib's own limit: one after another, here
    assert effective_n_jobs(-1) == 1
    build_figures(tmp_path / "here", results=results_dir, only=only)
    here = {p.name: p.read_bytes() for p in (tmp_path / "here").iterdir() if p.is_file()}
    assert len(here) > 10 and {p.name: p.read_bytes() for p in (tmp_path / "workers").iterdir() if p.is_file()} == here


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--results", "{tmp}/missing"], "no such directory"),
        (["--only", "nonsense"], "unknown figure nonsense"),
        (["--results", "{bad}"], "figure metadata: the results lack column(s) installed_bytes"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_leaves_no_output(args, message, tmp_path, capsys):
    from pagelab.cli import main

    bad = tmp_path / "bad"
    bad.mkdir()
    pl.DataFrame({"strategy": ["base4k"], "workload": ["laptop"]}).write_parquet(bad / "summary.parquet")
    out = tmp_path / "out"
    argv = [a.format(tmp=tmp_path, bad=bad) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(["figures", *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("pagelab figures: error:")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_default_sweeps_are_shipped_presets():
    for experiment in EXPERIMENTS.values():
        assert experiment.preset is None or preset_exists(experiment.preset), experiment.name
        argv = experiment.argv(Path("/x"))
        assert argv[0] == "-m" and argv[-1] == "hydra.sweep.dir=/x"
    # What the figures state: 20 seeds on the hosting figure, 10 on the carve-out figure.
    hosting_argv = EXPERIMENTS["hosting_density"].overrides()
    assert "seed=range(0,20)" in hosting_argv and not any(a.startswith("workload.dmem") for a in hosting_argv)
    sizing = EXPERIMENTS["dmem_sizing"]
    assert sizing.preset == "dmem_optimum" and "seed=range(0,10)" in sizing.overrides()
    assert "strategy=base4k,dmemfs,dmemfs_1g,hvo_boot" in sizing.overrides()
    # crossover and pagecache_bloat run as shipped (cache=all; a 64 TiB machine).
    assert EXPERIMENTS["crossover"].overrides() == [] and EXPERIMENTS["pagecache_bloat"].overrides() == []


def test_from_nothing_runs_a_real_sweep(tmp_path, monkeypatch):
    from pagelab.commands import figure_sweeps as sweeps

    tiny = sweeps.Experiment("headline", None, lambda: ["strategy=base4k,page64k", "workload=pc1991"])
    monkeypatch.setitem(sweeps.EXPERIMENTS, "headline", tiny)
    manifest = build_figures(tmp_path / "out", only=["overhead"], command="pagelab figures --only overhead")
    [source] = manifest["results"]["summaries"]
    assert (source["experiment"], source["rows"], source["failed_jobs"]) == ("headline", 2, 0)
    replay = pl.read_parquet(tmp_path / "out" / source["path"])
    assert sorted(replay["strategy"].to_list()) == ["base4k", "page64k"] and "job" not in replay.columns
    # The sweep's manifest is kept beside its summary, so --results replays read it, not configs.
    kept = pl.read_parquet((tmp_path / "out" / source["path"]).with_name("manifest.parquet"))
    assert kept.filter(pl.col("preset").is_null()).select("strategy", "workload").rows() == [
        ("base4k", "pc1991"), ("page64k", "pc1991")]
    table_rows = pl.read_parquet(tmp_path / "out" / "overhead.parquet")
    assert table_rows.select("strategy", "seeds", "fits").rows() == [("base4k", 1, True), ("page64k", 1, True)]
    # The table's mean is the sweep's overhead: (metadata + fragmentation + stranded) / installed.
    by_hand = replay.sort("strategy").select(
        100 * (pl.col("metadata_bytes") + pl.col("internal_frag_bytes") + pl.col("stranded_bytes"))
        / pl.col("installed_bytes"))
    assert np.allclose(table_rows["overhead_pct_mean"].to_numpy(), by_hand.to_series().to_numpy())
    # At least base4k's flatmem memmap: 1,024 struct pages of 64 bytes in 4 MiB is 1.5625 %.
    assert table_rows["overhead_pct_mean"].min() > 100 * 1024 * 64 / (4 * MiB) == 1.5625
    assert table_rows["overhead_pct_lo"].is_null().all()  # one seed: no interval


def test_a_failing_render_leaves_the_output_folder_as_it_was(results_dir, tmp_path, monkeypatch):
    from dataclasses import replace

    def boom(_frame: pl.DataFrame) -> None:
        raise RuntimeError("render failed")

    monkeypatch.setitem(FIGURES, "filesizes", replace(FIGURES["filesizes"], render=boom))
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("kept")
    with pytest.raises(RuntimeError, match="render failed"):
        build_figures(out, results=results_dir, only=["metadata", "filesizes"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left behind
    assert [p.name for p in out.iterdir()] == ["old.txt"]  # metadata was rendered, but never published


def test_results_are_named_by_the_preset_hydra_recorded_and_lose_job_columns(tmp_path):
    from pagelab.commands.results import load_results

    sweep = tmp_path / "multirun" / "2026-11-27_12-00-00"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra:\n  runtime:\n    choices:\n      experiment: crossover\n")
    pl.DataFrame({"job": ["1", "0"], "state": ["done", "failed"], "strategy": ["page64k", "base4k"],
                  "duration_s": [0.2, 0.1]}).write_parquet(sweep / "summary.parquet")
    loaded = load_results(tmp_path)
    assert loaded.summary.columns == ["strategy", "experiment"]
    assert loaded.summary.rows() == [("base4k", "crossover"), ("page64k", "crossover")]
    [source] = loaded.sources
    assert (source["path"], source["experiment"], source["rows"]) == (
        "multirun/2026-11-27_12-00-00/summary.parquet", "crossover", 2)


def test_fleet_figures_show_that_only_managed_memory_gains_from_overcommit(figure_data):
    needed = {(s, r): n for s, r, n in figure_data["fleet"].select(
        "strategy", "overcommit_ratio", "hosts_needed_mean").iter_rows()}
    assert needed[("base4k", 1.5)] < needed[("base4k", 1.0)]  # managed memory is overcommitted
    assert needed[("dmemfs", 1.5)] == needed[("dmemfs", 1.0)]  # pinned memory never is
    with paper_style():
        fig = fleet.render(figure_data["fleet"])
        timeline = fleet_timeline.render(figure_data["fleet_timeline"])
    assert fig.axes and timeline.axes


# --- figures read results only: the sweep manifest ----------------------------------------

# Nor may they launch anything (subprocess) or reach the command layer above them.
FORBIDDEN = ("pagelab.pipeline", "pagelab.strategies", "pagelab.sweep", "pagelab.commands", "hydra", "subprocess")
ALLOWED = ("pagelab.sweep.seeds",)  # statistics over frames


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function (relative imports resolved)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x: inside pagelab.figures
                base = ".".join(["pagelab", "figures", *([base] if base else [])])
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return names


def test_no_figure_module_imports_the_pipeline_the_registry_hydra_or_the_sweeps():
    package = Path(pagelab.__file__).parent
    offending = sorted(
        f"{path.name}: {name}"
        for path in sorted((package / "figures").rglob("*.py")) for name in _imports(path)
        if name.startswith(FORBIDDEN) and not name.startswith(ALLOWED)
    )
    assert offending == []
    assert "pagelab.sweep.seeds" in _imports(package / "figures" / "plot.py")  # the walk sees what is there
    assert "hydra.core.global_hydra" in _imports(package / "sweep" / "manifest.py")  # and imports inside functions


def test_the_guard_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from pagelab.strategies.registry import installed_strategies\n    import hydra\n")
    assert {"pagelab.strategies.registry", "hydra"} <= set(_imports(probe))


@pytest.fixture(scope="module")
def preset_sweep(tmp_path_factory) -> Path:
    """A real sweep of base4k and the page2m preset (page16k at 2M pages) on pc1991, collected."""
    from .conftest import pagelab_cli

    root = tmp_path_factory.mktemp("preset_sweep")
    result = pagelab_cli("-m", "strategy=base4k,page2m", "workload=pc1991", f"hydra.sweep.dir={root / 'sweep'}",
                         cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "sweep"


def test_collect_writes_the_sweep_manifest_beside_the_summary(preset_sweep):
    from pagelab.outputs import MANIFEST
    from pagelab.sweep.collect import collect

    summary = pl.read_parquet(preset_sweep / "summary.parquet")
    written = (preset_sweep / MANIFEST).read_bytes()
    manifest = pl.read_parquet(preset_sweep / MANIFEST)
    assert_frame_equal(manifest, sweep_manifest(summary))
    assert manifest.select("strategy", "workload", "preset").rows() == [
        ("base4k", "pc1991", None), ("page16k", "pc1991", None), ("page16k", None, "page2m")]
    defaults = manifest.filter(pl.col("preset").is_null(), pl.col("strategy") == "page16k").row(0, named=True)
    assert defaults["strategy.page_size"] == "16K" and defaults["workload.installed"] == "4M"
    preset = manifest.filter(pl.col("preset") == "page2m").row(0, named=True)
    assert preset["strategy.page_size"] == "2M"
    assert [c for c in manifest.columns if c.startswith("strategy.") and preset[c] is not None] == ["strategy.page_size"]
    assert manifest["colour"].is_null().all()  # no built-in declares a colour
    collect(preset_sweep)  # collecting again: the same bytes
    assert (preset_sweep / MANIFEST).read_bytes() == written


def test_figures_read_the_manifest_as_they_read_the_registry_before(preset_sweep, tmp_path):
    from pagelab.figures.common import page_bytes, preset_label
    from pagelab.outputs import MANIFEST

    summary = pl.read_parquet(preset_sweep / "summary.parquet").sort("strategy")
    manifest = pl.read_parquet(preset_sweep / MANIFEST)
    derived = summary.select("strategy", label=preset_label(summary, manifest), page=page_bytes(summary, manifest))
    # page16k at 2M pages is the page2m preset; base4k's page is 4 KiB, page2m's its own 2 MiB.
    assert derived.rows() == [("base4k", "base4k", 4096), ("page16k", "page2m", 2 * MiB)]
    # The table keeps the runs at their defaults: page2m is page16k away from its 16K default.
    overhead = table.data(summary, manifest)
    assert overhead.select("strategy", "workload").rows() == [("base4k", "pc1991")]
    assert overhead["overhead_pct_mean"].to_list() == summary.filter(pl.col("strategy") == "base4k")["overhead_pct"].to_list()
    # Without the manifest file (a sweep collected before it existed) the figures are the same bytes.
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.parquet").write_bytes((preset_sweep / "summary.parquet").read_bytes())
    a = build_figures(tmp_path / "a", results=preset_sweep, only=["overhead", "folios"], command="c")
    b = build_figures(tmp_path / "b", results=old, only=["overhead", "folios"], command="c")
    assert [f["files"] for f in a["figures"]] == [f["files"] for f in b["figures"]]
