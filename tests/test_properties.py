"""Properties every registered strategy must keep, over random request tables."""

from __future__ import annotations

import dataclasses
from functools import cache

import polars as pl
import pytest
from hydra import compose, initialize_config_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagelab import Machine
from pagelab.allocator import KINDS, OUTPUT_COLUMNS, REQUEST_SCHEMA
from pagelab.config import register_configs, strategy_params
from pagelab.registry import installed_strategies
from pagelab.units import GiB

PiB = 1 << 50


@cache
def configured(name: str):
    """The strategy with its default parameters, resolved as Hydra composes them."""
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        cfg = compose(config_name="config", overrides=[f"strategy={name}", "workload=laptop"])
    return installed_strategies()[name].spec.factory(strategy_params(cfg))


requests_tables = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, PiB), st.integers(1, 1024)), min_size=1, max_size=40
).map(
    lambda rows: pl.DataFrame(
        {
            "kind": [r[0] for r in rows],
            "bytes": [r[1] for r in rows],
            "count": [r[2] for r in rows],
            "node": [0] * len(rows),
        }
    ).cast(REQUEST_SCHEMA)
)
machines = st.builds(Machine, installed_bytes=st.integers(1, 4096).map(lambda g: g * GiB), nodes=st.sampled_from([1, 2, 4]))


@pytest.mark.parametrize("name", sorted(installed_strategies()))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=requests_tables, machine=machines)
def test_strategy_contract(name, requests, machine):
    strategy = configured(name)
    first = strategy(machine, requests)
    out = first.requests
    assert out.height == requests.height
    for column in OUTPUT_COLUMNS:
        assert out[column].dtype == pl.Int64, column
        assert out[column].null_count() == 0, column
    requested = out["bytes"] * out["count"]
    assert (out["allocated_bytes"] >= requested).all()
    waste_per_object = out["allocated_bytes"] // out["count"] - out["bytes"]
    assert (waste_per_object < out["granule"]).all()
    assert (out["objects"] >= 0).all() and (out["pagetable_bytes"] >= 0).all()
    assert min(first.memmap_bytes, first.descriptor_bytes, first.stranded_bytes, first.struct_pages) >= 0
    second = strategy(machine, requests)
    assert second.requests.equals(out)
    assert dataclasses.replace(second, requests=None) == dataclasses.replace(first, requests=None)
