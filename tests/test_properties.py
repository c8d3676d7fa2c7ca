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
from pagelab.contract import checked_allocation
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
# Even and uneven nodes, some without CPUs.
machines = st.lists(st.integers(1, 2048).map(lambda g: g * GiB), min_size=1, max_size=4).flatmap(
    lambda sizes: st.lists(st.booleans(), min_size=len(sizes), max_size=len(sizes)).map(
        lambda cpus: Machine(tuple(sizes), (True, *cpus[1:]))
    )
)


@pytest.mark.parametrize("name", sorted(installed_strategies()))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=requests_tables, machine=machines)
def test_strategy_contract(name, requests, machine):
    strategy = configured(name)
    # The contract check pagelab runs on every result (pagelab.contract) must pass...
    first = checked_allocation(name, strategy(machine, requests), requests, machine)
    out = first.requests
    assert out.height == requests.height
    for column in (*OUTPUT_COLUMNS, "stranded_bytes"):
        assert out[column].dtype == pl.Int64, column
    # ... and these hold besides: waste below one granule, per-node costs, determinism.
    waste_per_object = out["allocated_bytes"] // out["count"] - out["bytes"]
    assert (waste_per_object < out["granule"]).all()
    assert len(first.memmap_bytes) == len(first.descriptor_bytes) == machine.nodes and first.struct_pages >= 0
    second = checked_allocation(name, strategy(machine, requests), requests, machine)
    assert second.requests.equals(out)
    assert dataclasses.replace(second, requests=None) == dataclasses.replace(first, requests=None)
