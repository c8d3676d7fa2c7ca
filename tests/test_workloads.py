"""Workloads: every strategy is offered the same files and guests; budgets and packing hold."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pagelab.errors import PagelabError
from pagelab.pipeline.compose import compose
from pagelab.pipeline.placement import _pack
from pagelab.pipeline.simulate import simulate
from pagelab.units import GiB, MiB
from pagelab.workloads import build_workload

STRATEGIES = ("base4k", "page16k", "page64k", "clustering", "folio")


def workload_config(*overrides: str):
    return compose(overrides)


def test_with_room_for_all_every_strategy_caches_the_same_files(run):
    big = ("workload=pagecache", "workload.installed=64T")
    requested = {run(f"strategy={s}", *big)["requested_bytes"] for s in STRATEGIES}
    assert len(requested) == 1


def test_page_cache_is_the_longest_prefix_of_the_draw_that_fits_its_ram_budget():
    cfg = workload_config("strategy=page16k", "workload=laptop")
    outcome = simulate(cfg)
    budget = 8 * GiB  # laptop: cache=50% of 16 GiB
    workload = build_workload(cfg.workload, cfg.seed)
    placed = outcome.placement.requests.filter(kind="file")
    cached = int(placed["allocated_bytes"].sum())
    assert cached <= budget
    # The first file left out would have crossed the budget: 16 KiB pages round it up.
    first_left_out = workload.cache.order[int(placed["count"].sum())]
    size = int(workload.requests["bytes"][int(first_left_out)])
    assert cached + -(-size // (16 * 1024)) * 16 * 1024 > budget


def test_seed_changes_the_draw_but_not_its_repeat(run):
    a, b, c = (run("strategy=base4k", "workload=laptop", f"seed={s}")["requested_bytes"] for s in (1, 1, 2))
    assert a == b != c


def test_every_strategy_is_offered_the_same_guests_and_no_guest_spans_nodes():
    sequences = set()
    for name in ("base4k", "dmemfs", "hvo"):
        cfg = workload_config(f"strategy={name}", "workload=hosting")
        sequences.add(tuple(build_workload(cfg.workload, cfg.seed).requests.filter(kind="guest")["bytes"].to_list()))
        placement = simulate(cfg).placement
        assert placement.guests > 10 and placement.fits
        assert (placement.pools["free_bytes"] >= 0).all()
        # A guest's memory and its VMM overhead share one node.
        nodes_per_guest = placement.requests.drop_nulls("guest").group_by("guest").agg(pl.col("node").n_unique())
        assert nodes_per_guest.height == placement.guests and (nodes_per_guest["node"] == 1).all()
    assert len(sequences) == 1


def test_pagecache_machine_is_just_large_enough_for_base4k_and_its_memmap(run):
    row = run("strategy=base4k", "workload=pagecache")
    used = row["allocated_bytes"] + row["memmap_bytes"]
    assert row["fits"] and row["shortfall_bytes"] == 0
    assert row["installed_bytes"] % (128 * MiB) == 0
    assert used <= row["installed_bytes"] < used + 128 * MiB
    assert row["guests"] is None and row["files_cached"] > 0


def test_first_fit_goes_on_past_a_guest_that_fits_nowhere():
    free = np.array([[10, 0], [5, 0]])
    # 6 → node 0, 5 → node 1, 3 → node 0, 9 fits nowhere, 1 → node 0.
    needs = np.array([[6, 0], [5, 0], [3, 0], [9, 0], [1, 0]])
    assert _pack(needs, free.copy(), "first_fit").tolist() == [0, 1, 0, -1, 0]
    assert _pack(needs, free.copy(), "stop_at_first_misfit").tolist() == [0, 1, 0, -1, -1]


def test_best_fit_picks_the_node_it_leaves_with_the_least_room():
    free = np.array([[10, 0], [5, 0]])
    # 4 → node 1 (leaves 1, not 6), 5 → node 0, 5 → node 0, 1 → node 1.
    needs = np.array([[4, 0], [5, 0], [5, 0], [1, 0]])
    assert _pack(needs, free, "best_fit").tolist() == [1, 0, 0, 1]


def test_a_guest_needs_room_in_every_pool_it_uses():
    free = np.array([[1, 10], [3, 10]])  # kernel, carve-out
    assert _pack(np.array([[2, 8], [2, 8]]), free, "first_fit").tolist() == [1, -1]


# --- bounded work and sizes that would overflow ---------------------------------------------


def test_a_page_cache_too_large_to_draw_is_refused_not_run(run):
    with pytest.raises(PagelabError, match=r"filling 32.0 TiB would take more than 20,000,000 draws"):
        run("strategy=base4k", "workload=laptop", "workload.installed=64T")


def test_a_guest_too_large_for_any_machine_is_refused(run, tmp_path):
    mix = tmp_path / "vms.parquet"
    pl.DataFrame({"memory_bytes": [2**62], "vcpus": [1]}).write_parquet(mix)
    with pytest.raises(PagelabError, match=r"workload.guests.dataset=.*above 64 TiB"):
        run("strategy=base4k", "workload=hosting", f"workload.guests.dataset={mix}")


def test_files_whose_sizes_times_counts_overflow_are_refused(run, tmp_path):
    tree = tmp_path / "files.parquet"
    pl.DataFrame({"size": [2**45], "count": [2**20]}).write_parquet(tree)  # 2^65 bytes in all
    with pytest.raises(PagelabError, match="the file requests add up to more than 2 EiB"):
        run("strategy=base4k", "workload=pagecache", f"workload.files.dataset={tree}", "workload.installed=64T")


# --- shares and reserves larger than their node (issue 16) ----------------------------------


def test_a_reserve_larger_than_a_node_names_both_sizes(run):
    # hosting: 320 GiB on 2 nodes, so 160 GiB each; a 161 GiB reserve cannot be kept on one.
    with pytest.raises(PagelabError, match=r"workload.reserve=161G: 161.0 GiB per node is larger than node 0's 160.0 GiB"):
        run("workload=hosting", "workload.reserve=161G")
    assert run("workload=hosting", "workload.reserve=2G")["guests"] > 0


@pytest.mark.parametrize("strategy", ["strategy=dmemfs", "strategy=hvo_boot"])
def test_a_kernel_share_no_smaller_than_a_node_is_an_error_when_guests_need_the_reservation(run, strategy):
    with pytest.raises(PagelabError, match=r"kernel share \(!size\) of 200.0 GiB is not smaller than node 0's"):
        run(strategy, "workload=hosting", "workload.dmem=!200G")


def test_a_bare_machine_smaller_than_the_kernel_share_still_runs(run):
    """metadata_vs_ram boots every size with dmem=!8G: on a 4 MiB machine nothing is reserved."""
    row = run("strategy=dmemfs", "workload=machine", "workload.installed=4M", "workload.dmem=!8G")
    base = run("strategy=base4k", "workload=machine", "workload.installed=4M")
    assert row["fits"] and row["memmap_bytes"] == base["memmap_bytes"]


def test_a_workload_is_built_once_per_config_seed_and_dataset_file(tmp_path):
    sizes = tmp_path / "sizes.txt"
    sizes.write_text("".join(f"{4096 * (i + 1)}\n" for i in range(50)))
    cfg = compose(["workload=pagecache", f"workload.files.dataset={sizes}", "workload.files.cache=all"]).workload
    first = build_workload(cfg, 0)
    assert build_workload(cfg, 0) is first  # the same config and seed: kept, not built again
    assert build_workload(cfg, 1) is not first
    sizes.write_text("".join(f"{8192 * (i + 1)}\n" for i in range(60)))  # an edited dataset is read again
    edited = build_workload(cfg, 0)
    files = edited.requests.filter(kind="file")
    assert edited is not first and int(files["count"].sum()) == 60 and files["bytes"].min() == 8192
