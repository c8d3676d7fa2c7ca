"""Workloads: every strategy sees the same files and guests; budgets and packing hold."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hydra import compose, initialize_config_module

from pagelab.config import register_configs, strategy_params
from pagelab.placement import _first_fit, capacity, place
from pagelab.registry import installed_strategies
from pagelab.units import GiB
from pagelab.workloads import build_workload

STRATEGIES = ("base4k", "page16k", "page64k", "clustering", "folio", "dmemfs")


def workload_config(*overrides: str):
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.mark.parametrize("workload", ["laptop", "pagecache"])
def test_every_strategy_caches_the_same_files(run, workload):
    requested = {run(f"strategy={s}", f"workload={workload}")["requested_bytes"] for s in STRATEGIES if s != "dmemfs"}
    assert len(requested) == 1


def test_laptop_page_cache_fills_half_the_ram():
    cfg = workload_config("workload=laptop")
    files = build_workload(cfg.workload, seed=0).requests.filter(kind="file")
    cached = int((files["bytes"] * files["count"]).sum())
    assert 8 * GiB - 2**31 < cached <= 8 * GiB


def test_seed_changes_the_draw_but_not_its_repeat(run):
    a, b, c = (run("strategy=base4k", "workload=laptop", f"seed={s}")["requested_bytes"] for s in (1, 1, 2))
    assert a == b != c


def test_guest_sequence_is_shared_and_packing_never_overfills_a_node():

    sequences = set()
    for name in ("base4k", "dmemfs"):
        cfg = workload_config(f"strategy={name}", "workload=hosting")
        workload = build_workload(cfg.workload, cfg.seed)
        guests = workload.requests.filter(kind="guest")
        sequences.add(tuple(guests["bytes"].to_list()))
        allocation = installed_strategies()[name].spec.factory(strategy_params(cfg))(workload.machine, workload.requests)
        placed = place(workload.machine, allocation)
        free = capacity(workload.machine, allocation)
        assert placed.guests > 10
        for node in range(workload.machine.nodes):
            mine = placed.requests.filter(node=node)
            kernel = int(mine.filter(pool="kernel")["allocated_bytes"].sum() + mine["pagetable_bytes"].sum())
            carve = int(mine.filter(pool="carveout")["allocated_bytes"].sum())
            assert kernel <= free[node, 0] and carve <= free[node, 1]
        # A guest never spans nodes: its memory and its VMM overhead share one.
        nodes_per_guest = placed.requests.drop_nulls("guest").group_by("guest").agg(pl.col("node").n_unique())
        assert nodes_per_guest.height == placed.guests and (nodes_per_guest["node"] == 1).all()
    assert len(sequences) == 1


def test_pagecache_machine_is_just_large_enough(run):
    row = run("strategy=base4k", "workload=pagecache")
    assert row["installed_bytes"] % (128 << 20) == 0
    assert row["allocated_bytes"] <= row["installed_bytes"] < row["allocated_bytes"] + (128 << 20)
    assert row["guests"] is None


def test_first_fit_stops_at_the_first_guest_that_fits_nowhere():
    free = np.array([[10, 0], [5, 0]])
    # 6 → node 0, 5 → node 1, 3 → node 0, 9 fits nowhere: stop (even though 1 would fit).
    assert _first_fit(free, np.array([[6, 0], [5, 0], [3, 0], [9, 0], [1, 0]])) == [0, 1, 0]
