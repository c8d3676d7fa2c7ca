"""Datasets: the shipped files match their cards, histograms expand faithfully, the
Linux-tree footprints hold, user files in every accepted format work, and every kind of
bad input stops the real command line with one line naming the file, row and column."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import pagelab
from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.pipeline.compose import compose
from pagelab.units import GiB, KiB, MiB
from pagelab.workloads import build_workload

from .conftest import pagelab_cli

CATALOG = datasets.catalog()
FILES = sorted(name for name, card in CATALOG.items() if card["kind"] == "files" and card["layout"] == "rows")
CARD_FIELDS = ("kind", "layout", "file", "title", "source", "citation", "collected", "units", "caveats", "expect")
PAGES = {"4K": 4 * KiB, "16K": 16 * KiB, "64K": 64 * KiB}


def shipped(name: str) -> pl.DataFrame:
    """A shipped file read with plain polars, not through pagelab's loader."""
    return pl.read_parquet(datasets.datasets_dir() / CATALOG[name]["file"])


def footprint(frame: pl.DataFrame, page: int) -> int:
    """Every file in a page cache of ``page``-byte pages: sum of ceil(size/page)*page."""
    return int(frame.select(((pl.col("size") + page - 1) // page * page * pl.col("count")).sum()).item())


def workload(*overrides: str):
    return build_workload(compose(overrides).workload, seed=0)


# --- the catalog and the shipped files ---------------------------------------------------


def test_catalog_ships_the_issue_datasets_and_points():
    assert {"irlam_ufs93", "azure_2017", "azure_2019_public", "azure_2019_full", "bitbrains_rnd_2013"} <= set(CATALOG)
    assert {"linux_6_1", "debian_usr", "python_venv", "ci_vm_mappings"} <= set(CATALOG)
    assert set(datasets.point_cards()) == {"nix_store", "hansen_2026_kernel_tree", "android_16k_pages"}
    assert "points" not in CATALOG


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_dataset_loads_and_matches_its_card(name):
    card = CATALOG[name]
    assert [f for f in CARD_FIELDS if not card.get(f)] == []
    summary = datasets.describe(datasets.resolve(name, card["kind"]))
    expect = card["expect"]
    assert summary.rows == expect["rows"]
    assert summary.represented == expect["represented"]
    for key in ("total_bytes", "median_bytes"):
        if key in expect:
            assert getattr(summary, key) == expect[key], key


@pytest.mark.parametrize("name", FILES)
def test_scanned_files_hold_sizes_only_and_their_footprints_match_the_card(name):
    frame = shipped(name)
    assert set(frame.columns) <= {"size", "allocated", "count"}
    meta = datasets.parquet_metadata(datasets.datasets_dir() / CATALOG[name]["file"])
    assert meta["kind"] == "files" and meta["collected"] and meta["command"].startswith("pagelab scan")
    assert {page: footprint(frame, size) for page, size in PAGES.items()} == CATALOG[name]["footprint_bytes"]
    # Stored aggregated: each (size, allocated) pair once.
    assert frame.select(pl.exclude("count")).is_duplicated().sum() == 0


def test_mappings_dataset_has_no_names_and_resident_anonymous_memory():
    frame = shipped("ci_vm_mappings")
    assert frame.columns == ["size", "rss", "anon", "pss", "anon_bytes", "huge"]
    assert frame.filter(pl.col("rss") > pl.col("size")).height == 0
    anon = datasets.resident_anon(datasets.resolve("ci_vm_mappings", "mappings"))
    assert anon.size > 100 and (anon % 4096 == 0).all()


def test_linux_card_puts_hansen_beside_our_tree_with_consistent_numbers():
    compare = CATALOG["linux_6_1"]["compare"]
    ours, his = compare["linux_6_1"], compare["hansen_2026_kernel_tree"]
    frame = shipped("linux_6_1")
    assert ours["bytes"] == int((frame["size"] * frame["count"]).sum())
    assert ours["page_cache_bytes"] == {page: footprint(frame, size) for page, size in PAGES.items()}
    for page in PAGES:
        assert ours["over_bytes_pct"][page] == round(100 * (ours["page_cache_bytes"][page] / ours["bytes"] - 1), 2)
    for side, cache in ((ours, ours["page_cache_bytes"]), (his, his["page_cache_kib"])):
        for page in ("16K", "64K"):
            assert side["over_4k_pct"][page] == round(100 * (cache[page] / cache["4K"] - 1), 2)
    points = datasets.reference_points().filter(point="hansen_2026_kernel_tree")
    assert dict(zip(points["metric"], points["value"], strict=True)) == {
        "on_disk": his["on_disk_kib"], **{f"page_cache_{p.lower()}": v for p, v in his["page_cache_kib"].items()}
    }


def test_reference_points_hold_the_published_numbers():
    points = datasets.reference_points()
    value = {(p, m): v for p, m, v in points.select("point", "metric", "value").iter_rows()}
    assert value["nix_store", "median"] == 815 and value["nix_store", "share_le_4k"] == 72.925
    assert round(value["nix_store", "files"] / 1e6, 1) == 14.3
    assert value["hansen_2026_kernel_tree", "page_cache_64k"] == 16_623_296
    assert value["android_16k_pages", "extra_memory"] == 9
    row = points.filter(point="hansen_2026_kernel_tree", metric="on_disk")
    assert row["bytes"][0] == 11_297_648 * 1024 and row["unit"][0] == "KiB"
    assert points.filter(unit="percent")["bytes"].null_count() == points.filter(unit="percent").height


# --- histograms and mixes ---------------------------------------------------------------


def test_irlam_expansion_puts_exactly_the_published_count_in_every_bucket():
    irlam = datasets.resolve("irlam_ufs93", "files")
    published = shipped("irlam_ufs93")
    hi = published["max_bytes"].to_numpy()
    for seed in (0, 1):
        files = datasets.all_files(irlam, seed)
        bucket = np.searchsorted(hi, files["size"].to_numpy(), side="left")  # bucket is (hi[k-1], hi[k]]
        assert bucket.max() < len(hi)
        per_bucket = np.bincount(bucket, weights=files["count"].to_numpy(), minlength=len(hi))
        assert per_bucket.astype(np.int64).tolist() == published["files"].to_list()


def test_sampled_irlam_sizes_reproduce_the_bucket_shares_within_sampling_error():
    published = shipped("irlam_ufs93")
    hi = published["max_bytes"].to_numpy()
    n = 200_000
    sizes = datasets.sample_files(datasets.resolve("irlam_ufs93", "files"), n, np.random.default_rng(7))
    observed = np.bincount(np.searchsorted(hi, sizes, side="left"), minlength=len(hi))
    p = published["files"].to_numpy() / published["files"].sum()
    # Five binomial standard deviations (plus one file for the near-empty buckets).
    assert (np.abs(observed - n * p) <= 5 * np.sqrt(n * p * (1 - p)) + 1).all()


@pytest.mark.parametrize("name", ["azure_2019_full", "azure_2019_public", "azure_2017"])
def test_sampled_vm_mixes_reproduce_their_shares(name):
    table = shipped(name)
    n = 50_000
    vms = datasets.sample_vms(datasets.resolve(name, "vms"), n, np.random.default_rng(3))
    memory = vms["memory_bytes"].to_numpy()
    if "hi_gb" in table.columns:
        lo, hi = (table[c].to_numpy() * GiB for c in ("lo_gb", "hi_gb"))
        bucket = np.searchsorted(hi, memory, side="left")
        assert (memory > lo[bucket]).all() and (memory <= hi[bucket]).all()
    else:
        bucket = np.searchsorted((table["memory_gb"] * GiB).round().to_numpy(), memory)
    observed = np.bincount(bucket, minlength=table.height)
    p = table["pct_vms"].to_numpy() / table["pct_vms"].sum()
    assert (np.abs(observed - n * p) <= 5 * np.sqrt(n * p * (1 - p)) + 1).all()


def test_aggregated_scans_keep_every_file_and_the_median_is_the_lower_one():
    sizes = np.random.default_rng(1).integers(0, 10_000, size=5_001)
    frame = pl.DataFrame({"size": sizes, "allocated": (sizes + 4095) // 4096 * 4096})
    shrunk = datasets.aggregate_files(frame)
    assert shrunk.height < frame.height
    assert np.repeat(shrunk["size"].to_numpy(), shrunk["count"].to_numpy()).tolist() == sorted(sizes.tolist())
    expected = int(np.quantile(sizes, 0.5, method="inverted_cdf"))
    assert datasets.weighted_median(shrunk["size"].to_numpy(), shrunk["count"].to_numpy()) == expected


# --- the Linux tree in the page cache ---------------------------------------------------


@pytest.mark.parametrize(("strategy", "page"), [("base4k", "4K"), ("page16k", "16K"), ("page64k", "64K")])
def test_pagelab_linux_footprint_equals_a_direct_computation(strategy, page):
    # A machine with room for the tree at every page size (auto sizes it for base4k only).
    overrides = [f"strategy={strategy}", "workload=pagecache", "workload.files.dataset=linux_6_1", "workload.installed=1T"]
    row = pagelab.run(overrides).row(0, named=True)
    assert row["fits"]
    frame = shipped("linux_6_1")
    assert row["allocated_bytes"] == footprint(frame, PAGES[page])
    assert row["requested_bytes"] == int((frame["size"] * frame["count"]).sum())


def test_pagecache_workload_defaults_to_the_linux_tree_and_laptop_to_real_mappings():
    files = workload("workload=pagecache").requests.filter(kind="file")
    assert int(files["count"].sum()) == CATALOG["linux_6_1"]["expect"]["represented"]
    laptop = workload("workload=laptop").requests.filter(kind="anon")
    assert laptop.height > 10  # many mapping sizes, not one 2 MiB size


# --- anonymous memory from mappings -------------------------------------------------------


def test_anon_mappings_fill_the_budget_with_real_rss_values():
    pool = set(datasets.resident_anon(datasets.resolve("ci_vm_mappings", "mappings")).tolist())
    anon = workload("workload=laptop").requests.filter(kind="anon")
    total = int((anon["bytes"] * anon["count"]).sum())
    assert 4 * GiB - max(pool) < total <= 4 * GiB
    assert set(anon["bytes"].to_list()) <= pool


def test_anon_draw_is_seeded_and_leaves_the_page_cache_alone():
    def anon(seed: int, dataset: str = "ci_vm_mappings") -> tuple[pl.DataFrame, pl.DataFrame]:
        requests = build_workload(compose(["workload=laptop", f"workload.anon.dataset={dataset}"]).workload, seed).requests
        return requests.filter(kind="anon"), requests.filter(kind="file")

    (a, files_a), (b, _), (c, _), (_, files_null) = anon(0), anon(0), anon(1), anon(0, "null")
    assert a.equals(b) and not a.equals(c)
    assert files_a.equals(files_null)


def test_a_scan_procs_file_works_as_anon_dataset(tmp_path):
    path = tmp_path / "mine.parquet"
    pl.DataFrame({"size": [8192, 65536, 4096], "rss": [5000, 65536, 0], "anon": [True, True, True]}).write_parquet(path)
    anon = workload("workload=laptop", f"workload.anon.dataset={path}", "workload.anon.total=1M").requests.filter(kind="anon")
    assert set(anon["bytes"].to_list()) <= {8192, 65536}  # 5000 B of RSS is two 4 KiB pages
    assert int((anon["bytes"] * anon["count"]).sum()) <= MiB


# --- user files in every accepted format --------------------------------------------------


def test_find_printf_output_and_a_scan_of_the_same_tree_give_the_same_page_cache(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    sizes = [0, 1, 4095, 4096, 4097, 70_000, 1 << 20]
    for i, size in enumerate(sizes):
        (tree / ("sub" if i % 2 else "") / f"f{i}").write_bytes(b"x" * size)
    listing = tmp_path / "sizes.txt"
    with open(listing, "w") as out:
        subprocess.run(["find", str(tree), "-type", "f", "-printf", "%s\\n"], stdout=out, check=True)
    scanned = tmp_path / "tree.parquet"
    scan = subprocess.run([sys.executable, "-m", "pagelab", "scan", str(tree), "-o", str(scanned)], capture_output=True, check=False)
    assert scan.returncode == 0, scan.stderr
    rows = [
        pagelab.run(["strategy=page16k", "workload=pagecache", f"workload.files.dataset={ref}"]).row(0, named=True)
        for ref in (listing, scanned)
    ]
    assert rows[0]["requested_bytes"] == rows[1]["requested_bytes"] == sum(sizes)
    assert rows[0]["allocated_bytes"] == rows[1]["allocated_bytes"] == sum(-(-s // 16384) * 16384 for s in sizes)


def test_csv_with_counts_and_whole_decimals_is_accepted(tmp_path):
    path = tmp_path / "hist.csv"
    path.write_text("size,count\n100,3\n4096.0,2\n0,5\n")
    files = datasets.all_files(datasets.resolve(str(path), "files"), seed=0)
    assert files.rows() == [(0, 5), (100, 3), (4096, 2)]


def test_guests_from_a_csv_path(tmp_path):
    path = tmp_path / "vms.csv"
    path.write_text("memory_bytes,vcpus,count\n4294967296,2,3\n17179869184,4,1\n")
    guests = workload("workload=hosting", f"workload.guests.dataset={path}").requests.filter(kind="guest")
    assert guests.height > 10 and set(guests["bytes"].to_list()) == {4 * GiB, 16 * GiB}


# --- bad input: one line, file/row/column named, exit 2, no results -------------------------


def _write(path: Path, content: object) -> None:
    if isinstance(content, pl.DataFrame):
        content.write_parquet(path)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


FILES_REF = ("workload=pagecache", "workload.files.dataset={path}")
BAD = {
    # case: (file name, content, overrides, expected text after "pagelab: error: ")
    "negative": ("neg.csv", "size\n100\n-5\n", FILES_REF, "{path}: row 2, column 'size': value '-5' is negative"),
    "fractional": ("frac.csv", "size,count\n100,1\n2.5,1\n", FILES_REF, "{path}: row 2, column 'size': value '2.5' is not a whole number of bytes"),
    "non-numeric": ("nan.csv", "size\n100\n12k\n", FILES_REF, "{path}: row 2, column 'size': value '12k' is not a number"),
    "null": ("null.csv", "size,count\n100,1\n,2\n", FILES_REF, "{path}: row 2, column 'size': value None is empty (null)"),
    "negative count": ("count.csv", "size,count\n100,1\n7,-2\n", FILES_REF, "{path}: row 2, column 'count': value '-2' is negative"),
    "text negative": ("find.txt", "4096\n12\n-3\n", FILES_REF, "{path}: row 3, column 'size': value '-3' is negative"),
    "text first line bad": ("first.txt", "-3\n4096\n", FILES_REF, "{path}: row 1, column 'size': value '-3' is negative"),
    "parquet null": ("null.parquet", pl.DataFrame({"size": [1, None]}), FILES_REF, "{path}: row 2, column 'size': value None is empty (null)"),
    "parquet fractional": ("frac.parquet", pl.DataFrame({"size": [1.0, 2.5]}), FILES_REF, "{path}: row 2, column 'size': value 2.5 is not a whole number of bytes"),
    "empty csv": ("empty.csv", "size\n", FILES_REF, "{path}: the dataset is empty (no rows)"),
    "empty text": ("empty.txt", "", FILES_REF, "{path}: the dataset is empty (no rows)"),
    "empty parquet": ("empty.parquet", pl.DataFrame({"size": pl.Series([], dtype=pl.Int64)}), FILES_REF, "{path}: the dataset is empty (no rows)"),
    "missing column": ("cols.csv", "bytes,count\n100,1\n", FILES_REF, "{path}: missing column 'size' (a files dataset needs size); found bytes, count"),
    "missing vms column": ("vms.csv", "vcpus\n2\n", ("workload=hosting", "workload.guests.dataset={path}"), "{path}: missing column 'memory_bytes' (a vms dataset needs memory_bytes); found vcpus"),
    "missing anon column": ("maps.csv", "size,rss\n4096,4096\n", ("workload=laptop", "workload.anon.dataset={path}"), "{path}: missing column 'anon' (a mappings dataset needs size, rss, anon); found rss, size"),
    "bad anon flag": ("flag.csv", "size,rss,anon\n4096,4096,true\n8192,4096,maybe\n", ("workload=laptop", "workload.anon.dataset={path}"), "{path}: row 2, column 'anon': value 'maybe' is not true or false"),
    "negative VM": ("neg_vm.csv", "memory_bytes\n1073741824\n-1\n", ("workload=hosting", "workload.guests.dataset={path}"), "{path}: row 2, column 'memory_bytes': value '-1' is negative"),
    "corrupt parquet": ("bad.parquet", b"PAR1 this is not parquet", FILES_REF, "{path}: not a readable Parquet file ("),
    "corrupt csv": ("bad.csv", 'size,count\n1,2\n"7,3\n', FILES_REF, "{path}: not a readable CSV file ("),
    "vms file as files": ("mix.csv", "memory_bytes\n100\n", FILES_REF, "workload.files.dataset={path}: is a vms dataset, but a files dataset is needed"),
    "files name as guests": (None, None, ("workload=hosting", "workload.guests.dataset=linux_6_1"), "workload.guests.dataset=linux_6_1: is a files dataset, but a vms dataset is needed"),
    "mappings name as files": (None, None, ("workload=pagecache", "workload.files.dataset=ci_vm_mappings"), "workload.files.dataset=ci_vm_mappings: is a mappings dataset, but a files dataset is needed"),
    "files name as anon": (None, None, ("workload=laptop", "workload.anon.dataset=irlam_ufs93"), "workload.anon.dataset=irlam_ufs93: is a files dataset, but a mappings dataset is needed"),
    "nonexistent": ("missing.csv", None, FILES_REF, "workload.files.dataset={path}: no such file, and not a catalog name ("),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path, Path]]:
    """Every bad-input case run through the real CLI, a few at a time (each is a new Python)."""

    def run(case: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
        name, content, overrides, _ = BAD[case]
        work = tmp_path_factory.mktemp("bad")
        path = work / (name or "unused")
        if content is not None:
            _write(path, content)
        run_dir = work / "run"
        args = [o.format(path=path) for o in overrides]
        return pagelab_cli(*args, f"hydra.run.dir={run_dir}", cwd=work), path, run_dir

    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + 1) as pool:
        return dict(zip(BAD, pool.map(run, BAD), strict=True))


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_no_results(case, bad_runs):
    result, path, run_dir = bad_runs[case]
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("pagelab: error: " + BAD[case][3].format(path=path)), result.stderr
    assert not (run_dir / "results.parquet").exists()


def test_loader_errors_name_the_first_bad_row_whatever_the_problem(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("size\n10\n-1\nabc\n")  # row 2 negative comes before row 3 non-numeric
    with pytest.raises(PagelabError, match=r"row 2, column 'size': value '-1' is negative"):
        datasets.read_table(datasets.resolve(str(path), "files"))
    path.write_text("size\n10\n1e30\n")
    with pytest.raises(PagelabError, match=r"row 2, column 'size': value '1e30' is too large"):
        datasets.read_table(datasets.resolve(str(path), "files"))


# --- pagelab datasets -------------------------------------------------------------------------


def test_datasets_command_lists_every_dataset_and_point():
    env = {**os.environ, "COLUMNS": "250"}
    result = subprocess.run([sys.executable, "-m", "pagelab", "datasets"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for name in [*CATALOG, *datasets.point_cards()]:
        assert name in result.stdout
    assert "78,579 files" in result.stdout and "12,128,881 files" in result.stdout and "1,500 VMs" in result.stdout
