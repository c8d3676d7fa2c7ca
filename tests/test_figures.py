"""Tests for pagelab figures: data functions on known inputs, rendering, determinism, CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure
from polars.testing import assert_frame_equal

import pagelab
from pagelab.errors import PagelabError
from pagelab.figures import (
    FIGURES,
    crossover,
    dmem,
    filesizes,
    folios,
    footprint,
    hosting,
    metadata,
    table,
)
from pagelab.figures.build import build_figures
from pagelab.figures.common import with_variants
from pagelab.figures.defaults import default_params
from pagelab.figures.reference import HANSEN_OVER_4K_PCT
from pagelab.figures.save import save_figure
from pagelab.figures.style import paper_style, strategy_colors
from pagelab.figures.sweeps import EXPERIMENTS, preset_exists
from pagelab.registry import installed_strategies

matplotlib.use("Agg")
KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


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


def test_metadata_data_means_duplicates_per_variant():
    frame = pl.DataFrame({
        "strategy": ["dmemfs", "base4k", "dmemfs", "base4k", "dmemfs", "dmemfs"],
        "installed_bytes": [16 * GiB, 16 * GiB, 320 * GiB, 320 * GiB, 16 * GiB, 16 * GiB],
        "memmap_bytes": [192 * MiB, 256 * MiB, 192 * MiB, 5 * GiB, 192 * MiB, 192 * MiB],
        "descriptor_bytes": [100, 0, 200, 0, 300, 500],
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
    })
    assert_frame_equal(metadata.data(frame.lazy()), expected)


def test_footprint_data_pools_seeds_and_keeps_page_size_strategies_of_pagecache_runs():
    frame = pl.DataFrame({
        "strategy": ["base4k", "base4k", "page16k", "page16k", "folio", "base4k"],
        "workload": ["pagecache", "pagecache", "pagecache", "pagecache", "pagecache", "laptop"],
        "requested_bytes": [1000, 1000, 1000, 1000, 1000, 1000],
        "allocated_bytes": [1100, 1300, 1500, 10000, 1100, 9999],
        "workload.files.dataset": ["d"] * 6,
        "strategy.page_size": [None, None, "16K", "2M", None, None],
    })
    expected = pl.DataFrame({
        "dataset": ["d", "d", "d"],
        "strategy": ["base4k", "page16k", "page16k"],
        "page_bytes": [4096, 16384, 2 * MiB],
        "page_size": ["4K", "16K", "2M"],
        "requested_bytes": [2000, 1000, 1000],
        "allocated_bytes": [2400, 1500, 10000],
        "above_pct": [20.0, 50.0, 900.0],
        "runs": [2, 1, 1],
    })
    assert_frame_equal(footprint.data(frame), expected)


def test_crossover_is_interpolated_exactly_and_never_when_the_larger_page_stays_worse():
    ram = [256 * GiB, 512 * GiB, 1024 * GiB]
    frag = {("1G", "base4k"): 1 * GiB, ("1G", "page64k"): 10 * GiB, ("all", "base4k"): 1 * GiB,
            ("all", "page64k"): 100 * GiB}
    memmap = {"base4k": 64, "page64k": 1024}  # bytes of RAM per byte of memmap
    rows = [
        {"strategy": s, "installed_bytes": r, "requested_bytes": GiB, "memmap_bytes": r // memmap[s],
         "internal_frag_bytes": frag[cache, s], "workload.files.dataset": "d", "workload.files.cache": cache}
        for cache in ("all", "1G") for s in ("page64k", "base4k") for r in ram
    ]
    # A machine smaller than its files is left out.
    rows.append({**rows[0], "installed_bytes": 128 * GiB, "requested_bytes": 200 * GiB})
    out = crossover.data(pl.DataFrame(rows))
    # base4k: R/64 + 1G, page64k: R/1024 + 10G: equal at R = 9G * 1024 / 15 = 614.4 GiB.
    cross = {("1G", 65536): 614.4 * GiB}
    expected = pl.DataFrame([
        {"dataset": "d", "cache": cache, "strategy": s, "page_bytes": page, "page_size": size, "installed_bytes": r,
         "overhead_bytes": float(r // memmap[s] + frag[cache, s]), "crossover_bytes": cross.get((cache, page)),
         "crossover_kind": "baseline" if page == 4096 else ("crossing" if cache == "1G" else "never"), "runs": 1}
        for cache in ("1G", "all") for s, page, size in (("base4k", 4096, "4K"), ("page64k", 65536, "64K"))
        for r in ram
    ], schema_overrides={"crossover_bytes": pl.Float64})
    assert_frame_equal(out, expected)


def test_hosting_data_keeps_the_workloads_defaults_and_summarises_seeds():
    defaults = default_params("base4k", "hosting")
    assert defaults is not None
    base = {"workload": "hosting", "installed_bytes": 320 * GiB, "guest_bytes": 100 * GiB, "memmap_bytes": 5 * GiB,
            "descriptor_bytes": 0, "pagetable_bytes": 1, "internal_frag_bytes": 2, "stranded_bytes": 3,
            "workload.dmem": defaults["workload.dmem"], "workload.guests.dataset": defaults["workload.guests.dataset"]}
    rows = [
        {**base, "strategy": "base4k", "seed": 0, "guests": 10, "strategy.dmem": None},
        {**base, "strategy": "base4k", "seed": 1, "guests": 20, "strategy.dmem": None},
        {**base, "strategy": "dmemfs", "seed": 0, "guests": 15, "strategy.dmem": defaults["workload.dmem"]},
        # The carve-out sweep's row and another VM mix stay out.
        {**base, "strategy": "dmemfs", "seed": 0, "guests": 99, "strategy.dmem": "!2G"},
        {**base, "strategy": "base4k", "seed": 0, "guests": 99, "strategy.dmem": None,
         "workload.guests.dataset": "not_the_default"},
    ]
    out = hosting.data(pl.DataFrame(rows))
    guests = {"base4k": (15.0, 10.0, 20.0, 2), "dmemfs": (15.0, 15.0, 15.0, 1)}
    values = {"guest_bytes": 100 * GiB, "memmap_bytes": 5 * GiB, "descriptor_bytes": 0, "pagetable_bytes": 1,
              "internal_frag_bytes": 2, "stranded_bytes": 3}
    expected = pl.DataFrame([
        {"strategy": s, "variant": s, "quantity": hosting.QUANTITIES[key],
         "value": guests[s][0] if key == "guests" else float(values[key]),
         "value_min": guests[s][1] if key == "guests" else float(values[key]),
         "value_max": guests[s][2] if key == "guests" else float(values[key]), "seeds": guests[s][3]}
        for s in ("base4k", "dmemfs") for key in hosting.QUANTITIES
    ])
    assert_frame_equal(out, expected)


def test_dmem_data_finds_the_kernel_share_optimum_and_cliff():
    shares = {"!4G": 5, "!8G": 40, "150G": 44, "!12G": 45, "!16G": 45}  # 150G carved out of a 160G node: 10G kept
    rows = [{"strategy": "dmemfs", "strategy.dmem": d, "guests": g, "shortfall_bytes": int(d == "!4G")}
            for d, g in shares.items()]
    rows.append({"strategy": "base4k", "strategy.dmem": None, "guests": 44, "shortfall_bytes": 0})
    frame = pl.DataFrame(rows).with_columns(workload=pl.lit("hosting"), seed=0, installed_bytes=320 * GiB, nodes=2)
    kept = [4, 8, 10, 12, 16]
    expected = pl.DataFrame({
        "strategy": ["dmemfs"] * 5 + ["base4k"],
        "variant": ["dmemfs"] * 5 + ["base4k"],
        "kernel_share_bytes": [k * GiB for k in kept] + [None],
        "guests": [5.0, 40.0, 44.0, 45.0, 45.0, 44.0],
        "guests_min": [5.0, 40.0, 44.0, 45.0, 45.0, 44.0],
        "guests_max": [5.0, 40.0, 44.0, 45.0, 45.0, 44.0],
        "shortfall_runs": [1, 0, 0, 0, 0, 0],
        "seeds": [1] * 6,
        "is_optimum": [False, False, False, True, False, False],
        "is_cliff": [False, False, True, False, False, False],
    })
    # base4k sorts first by registry order, then dmemfs along its kernel share.
    expected = pl.concat([expected.tail(1), expected.head(5)])
    assert_frame_equal(dmem.data(frame), expected)


def test_folio_data_counts_pages_and_draws_a_measured_census_beside_the_model():
    measured = pl.DataFrame({
        "source": ["kernel", "folio", "kernel"],
        "size": [65536, 65536, 300_000],
        "read_size": [4096, 4096, 4096],
        "read_ahead_kb": [8192, 8192, 8192],
        "folios": [7, 7, 14],
    })
    out = folios.data(pl.DataFrame({"strategy": []}, schema={"strategy": pl.String}), measured=measured)
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
        folios.data(pl.DataFrame(), measured=pl.DataFrame({"size": [1]}))


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


def test_table_data_keeps_runs_at_the_defaults():
    laptop = default_params("base4k", "laptop")
    pc = default_params("page64k", "pc1991")
    assert laptop is not None and pc is not None
    frame = pl.DataFrame({
        "strategy": ["base4k", "base4k", "base4k", "page64k"],
        "workload": ["laptop", "laptop", "laptop", "pc1991"],
        "seed": [0, 1, 0, 0],
        "installed_bytes": [16 * GiB, 16 * GiB, 32 * GiB, 4 * MiB],
        "overhead_pct": [1.0, 3.0, 99.0, 50.0],
        "workload.installed": [laptop["workload.installed"], laptop["workload.installed"], "a different size",
                               pc["workload.installed"]],
    })
    expected = pl.DataFrame({
        "strategy": ["base4k", "page64k"], "workload": ["laptop", "pc1991"], "overhead_pct": [2.0, 50.0],
        "installed_bytes": [16 * GiB, 4 * MiB], "seeds": [2, 1],
    })
    out = table.data(frame)
    assert_frame_equal(out, expected)
    tex = table.render(out)
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "Strategy & pc1991 & laptop \\\\" in tex
    assert "base4k & -- & 2.00 \\\\" in tex and "page64k & 50.00 & -- \\\\" in tex


def test_a_summary_without_the_needed_columns_is_a_one_line_error():
    with pytest.raises(PagelabError, match="figure footprint: the results lack column"):
        footprint.data(pl.DataFrame({"strategy": ["base4k"]}))


# --- rendering: structure of the drawn figures ----------------------------------------------


@pytest.fixture(scope="module")
def summary() -> dict[str, pl.DataFrame]:
    """Small real summaries per experiment, from in-process runs (a few seconds)."""
    files = ["workload=pagecache", "workload.files.dataset=irlam_ufs93", "workload.files.cache=1G"]
    grids = {
        "metadata_vs_ram": [[f"strategy={s}", *files, f"workload.installed={r}"]
                            for s in ("base4k", "page64k", "folio") for r in ("16G", "320G")],
        "pagecache_bloat": [[f"strategy={s}", *files, "workload.installed=4G"]
                            for s in ("base4k", "page16k", "page64k")],
        "crossover": [[f"strategy={s}", *files, f"workload.installed={r}"]
                      for s in ("base4k", "page64k") for r in ("16G", "1T", "16T")],
        "hosting_density": [[f"strategy={s}", "workload=hosting", f"seed={seed}"]
                            for s in ("base4k", "dmemfs") for seed in (0, 1)],
        "dmem_sizing": [["strategy=dmemfs", "workload=hosting", f"strategy.dmem='!{n}G'"] for n in (4, 12, 32)]
        + [["strategy=base4k", "workload=hosting"]],
        "headline": [[f"strategy={s}", "workload=pc1991"] for s in ("base4k", "page64k")],
    }
    return {name: pl.concat([pagelab.run(o) for o in runs], how="diagonal_relaxed") for name, runs in grids.items()}


@pytest.fixture(scope="module")
def figure_data(summary) -> dict[str, pl.DataFrame]:
    """Every figure's tidy data from the small summaries."""
    return {
        "metadata": metadata.data(summary["metadata_vs_ram"]),
        "footprint": footprint.data(summary["pagecache_bloat"]),
        "crossover": crossover.data(summary["crossover"]),
        "hosting": hosting.data(summary["hosting_density"]),
        "dmem": dmem.data(summary["dmem_sizing"]),
        "folios": folios.data(summary["headline"]),
        "filesizes": filesizes.data(summary["headline"], names=["irlam_ufs93"]),
        "overhead": table.data(summary["headline"]),
    }


def test_real_runs_reproduce_the_articles_points(figure_data):
    meta = figure_data["metadata"].filter(pl.col("strategy") == "base4k")
    assert meta.select("installed_bytes", "metadata_bytes").rows() == [(16 * GiB, 256.0 * MiB), (320 * GiB, 5.0 * GiB)]


def test_render_metadata(figure_data):
    with paper_style():
        fig = metadata.render(figure_data["metadata"])
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("installed RAM", "page metadata (memmap + descriptors)")
    assert legend_texts(fig) == ["base4k", "folio", "page64k", "LWN 2020 (article)"]
    curves = [line for line in ax.lines if len(line.get_xdata())]  # seaborn adds empty legend proxies
    assert len(curves) == 3 and ax.get_xscale() == "log"


def test_render_footprint(figure_data):
    with paper_style():
        fig = footprint.render(figure_data["footprint"])
    ax = fig.axes[0]
    assert len(ax.patches) == 3  # one bar per page size
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4K", "16K", "64K"]
    assert legend_texts(fig) == ["base4k", "page16k", "page64k", "Hansen: kernel tree, over 4K"]
    marks = ax.collections[0].get_offsets()[:, 1].tolist()
    assert marks == list(HANSEN_OVER_4K_PCT.values()) == [8.2, 47.1]


def test_render_crossover(figure_data):
    with paper_style():
        fig = crossover.render(figure_data["crossover"])
    ax = fig.axes[0]
    curves = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(curves) == 2 and ax.get_xlabel() == "installed RAM"
    assert legend_texts(fig) == ["4K pages (base4k)", "64K pages (page64k)", 'Hansen: 64K wins at "~300 GB"']
    assert any(t.get_text().startswith("64K wins from") for t in ax.texts)


def test_render_hosting(figure_data):
    with paper_style():
        fig = hosting.render(figure_data["hosting"])
    guests, sold, stack = fig.axes
    assert (guests.get_xlabel(), sold.get_xlabel()) == ("guests per host", "memory sold (GiB)")
    assert [t.get_text() for t in guests.get_yticklabels()] == ["base4k", "dmemfs"]
    assert len(guests.patches) == 2 and len(stack.patches) == 2 * len(hosting.PARTS)
    assert legend_texts(fig) == list(hosting.PARTS.values())


def test_render_dmem(figure_data):
    with paper_style():
        fig = dmem.render(figure_data["dmem"])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "guests per host"
    assert legend_texts(fig) == ["dmemfs", "base4k (no carve-out)"]
    assert any(t.get_text().startswith("optimum !12G") for t in ax.texts)


def test_render_folios_and_filesizes(figure_data):
    with paper_style():
        fig = folios.render(figure_data["folios"])
        sizes = filesizes.render(figure_data["filesizes"])
    assert len(fig.axes[0].lines) == 5 and fig.axes[0].get_ylabel() == "objects tracked per file"
    assert legend_texts(fig)[0] == "4 KiB pages"
    assert [ax.get_title() for ax in sizes.axes] == ["cumulative share of files", "cumulative share of bytes (space)"]
    assert legend_texts(sizes) == ["irlam_ufs93"]


def test_strategy_colours_follow_the_sorted_registry():
    colours = strategy_colors(["zz_foreign"])
    names = list(installed_strategies())
    assert list(colours)[: len(names)] == sorted(names)
    assert len(set(colours.values())) == len(colours)  # distinct while the palette lasts


def test_rendering_twice_gives_identical_bytes(figure_data, tmp_path):
    digests = []
    for run in ("a", "b"):
        with paper_style():
            paths = [p for name, spec in FIGURES.items() if not spec.is_table
                     for p in save_figure(spec.render(figure_data[name]), tmp_path / run / name)]
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert len(digests[0]) == 3 * 7 and digests[0] == digests[1]
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


def test_from_nothing_runs_a_real_sweep(tmp_path, monkeypatch):
    from pagelab.figures import sweeps

    tiny = sweeps.Experiment("headline", None, lambda: ["strategy=base4k,page64k", "workload=pc1991"])
    monkeypatch.setitem(sweeps.EXPERIMENTS, "headline", tiny)
    manifest = build_figures(tmp_path / "out", only=["overhead"], command="pagelab figures --only overhead")
    [source] = manifest["results"]["summaries"]
    assert (source["experiment"], source["rows"], source["failed_jobs"]) == ("headline", 2, 0)
    replay = pl.read_parquet(tmp_path / "out" / source["path"])
    assert sorted(replay["strategy"].to_list()) == ["base4k", "page64k"] and "job" not in replay.columns
    assert np.isclose(pl.read_parquet(tmp_path / "out" / "overhead.parquet")["overhead_pct"].min(), 3.72, atol=0.01)


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
    from pagelab.figures.results import load_results

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
