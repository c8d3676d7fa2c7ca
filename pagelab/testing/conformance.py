"""The conformance suite every strategy must pass, as a test class to subclass.

    from pagelab.testing import ConformanceSuite

    class TestPage8k(ConformanceSuite):
        strategy = "page8k"

Each test is a rule pagelab relies on: the contract pagelab checks on every result
(:func:`pagelab.strategies.contract.checked_allocation`) on random requests and machines, empty input,
petabyte sizes, deterministic output, params that compose in Hydra, and a time budget
relative to base4k on the same million requests (a Python loop over rows misses it).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

from pagelab.allocator import OUTPUT_COLUMNS, REQUEST_SCHEMA, Allocation, Machine
from pagelab.strategies.contract import checked_allocation
from pagelab.testing.inputs import (
    PiB,
    configured,
    empty_requests,
    machines,
    many_requests,
    petabyte_requests,
    request_tables,
)
from pagelab.units import GiB


@cache
def _configured_once(name: str, overrides: tuple[str, ...]) -> Any:
    """The strategy with composed params, composed once per process (composing takes ~0.1 s)."""
    return configured(name, overrides)[1]


@cache
def _base4k_time(requests: int, overrides: tuple[str, ...]) -> float:
    """base4k's best time on ``many_requests(requests)``, measured once per process."""
    machine, table, base = _speed_machine(), many_requests(requests, seed=2), _configured_once("base4k", overrides)
    base(machine, table.head(1000))
    return _best_time(lambda: base(machine, table), 3)


def _speed_machine() -> Machine:
    return Machine.even(4096 * GiB, 2)


def _best_time(call: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` calls, in seconds (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def _override_value(value: object) -> str:
    """``value`` in Hydra's override grammar: strings quoted (``'!11G'``), null, true/false."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _same(first: Allocation, second: Allocation) -> bool:
    others = [item.name for item in dataclasses.fields(first) if item.name != "requests"]
    return first.requests.equals(second.requests) and all(getattr(first, n) == getattr(second, n) for n in others)


class ConformanceSuite:
    """Subclass with ``strategy = "<name>"`` (or override the ``pagelab_strategy`` fixture).

    Class attributes tune the suite: ``overrides`` (the workload the params compose with),
    ``speed_requests``, ``speed_budget`` (at most this
    many times base4k's time on the same requests).
    """

    strategy: ClassVar[str] = ""
    overrides: ClassVar[tuple[str, ...]] = ("workload=laptop",)
    speed_requests: ClassVar[int] = 250_000
    speed_budget: ClassVar[float] = 20.0

    def _strategy(self, name: str) -> Any:
        return _configured_once(name, tuple(self.overrides))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(requests=request_tables, machine=machines)
    def test_contract_on_random_requests(self, pagelab_strategy: str, requests: pl.DataFrame, machine: Machine) -> None:
        """pagelab's own check passes, columns are Int64, waste per object is below one granule."""
        checked = checked_allocation(pagelab_strategy, self._strategy(pagelab_strategy)(machine, requests), requests, machine)
        out = checked.requests
        assert out.height == requests.height
        assert out.select(list(REQUEST_SCHEMA)).equals(requests)
        for column in (*OUTPUT_COLUMNS, "stranded_bytes"):
            assert out[column].dtype == pl.Int64, column
        waste_per_object = out["allocated_bytes"] // out["count"] - out["bytes"]
        assert (waste_per_object < out["granule"]).all()
        assert isinstance(checked.memmap_bytes, tuple) and isinstance(checked.descriptor_bytes, tuple)  # one per node
        assert len(checked.memmap_bytes) == len(checked.descriptor_bytes) == machine.nodes
        assert checked.struct_pages >= 0

    def test_empty_input(self, pagelab_strategy: str) -> None:
        """No requests: no rows, and the machine-level costs still check."""
        machine = Machine.even(16 * GiB, 2)
        requests = empty_requests()
        checked = checked_allocation(pagelab_strategy, self._strategy(pagelab_strategy)(machine, requests), requests, machine)
        assert checked.requests.height == 0

    def test_petabyte_sizes_do_not_overflow(self, pagelab_strategy: str) -> None:
        """A PiB request times 1,024 on 4 PiB nodes: every column stays exact (no wrap-around)."""
        machine = Machine.even(8 * PiB, 2)
        requests = petabyte_requests()
        out = checked_allocation(pagelab_strategy, self._strategy(pagelab_strategy)(machine, requests), requests, machine).requests
        # Checked in Python integers (no overflow): allocated covers bytes x count, and its
        # waste per object stays below one granule.
        for row in out.iter_rows(named=True):
            assert row["allocated_bytes"] >= row["bytes"] * row["count"]
            assert row["allocated_bytes"] // row["count"] - row["bytes"] < row["granule"]

    def test_deterministic(self, pagelab_strategy: str) -> None:
        """The same input twice, and through a fresh strategy object, gives the same Allocation."""
        machine = Machine((48 * GiB, 16 * GiB), (True, False))
        requests = many_requests(10_000, seed=1)
        first = self._strategy(pagelab_strategy)(machine, requests)
        again = self._strategy(pagelab_strategy)(machine, requests)
        fresh = configured(pagelab_strategy, self.overrides)[1](machine, requests)
        assert _same(first, again) and _same(first, fresh)

    def test_params_compose_in_hydra(self, pagelab_strategy: str) -> None:
        """``strategy=<name>`` composes; every parameter overridden with its own value composes to the same params."""
        from pagelab.pipeline.compose import compose, compose_config
        from pagelab.pipeline.config import node_values

        params, _ = configured(pagelab_strategy, self.overrides)
        chosen = [f"strategy={pagelab_strategy}", *self.overrides]
        values = node_values(compose_config(chosen).strategy)
        assert values.pop("name") == pagelab_strategy
        explicit = [f"strategy.{k}={_override_value(v)}" for k, v in values.items() if not isinstance(v, (dict, list))]
        assert compose([*chosen, *explicit]).params == params
        assert dataclasses.is_dataclass(params)

    def test_time_within_budget_of_base4k(self, pagelab_strategy: str) -> None:
        """At most ``speed_budget`` times base4k's time on the same requests (best of three each):
        a ratio measured side by side, not an absolute time, so a slow machine passes too."""
        machine, requests = _speed_machine(), many_requests(self.speed_requests, seed=2)
        strategy = self._strategy(pagelab_strategy)
        strategy(machine, requests.head(1000))  # warm caches and imports
        ratio = _best_time(lambda: strategy(machine, requests), 3) / _base4k_time(self.speed_requests, tuple(self.overrides))
        assert ratio <= self.speed_budget, f"{pagelab_strategy} took {ratio:.1f}x base4k's time (budget {self.speed_budget}x)"


@pytest.fixture
def pagelab_strategy(request: pytest.FixtureRequest) -> str:
    """The strategy under test: the test class's ``strategy`` attribute."""
    name = getattr(request.cls, "strategy", "") if request.cls else ""
    if not name:
        pytest.fail("set `strategy = \"<name>\"` on the ConformanceSuite subclass, or override the pagelab_strategy fixture")
    from pagelab.strategies.registry import installed_strategies, registry

    if name not in installed_strategies():
        fault = registry().fault_for(name)
        pytest.fail(f"strategy {name!r} is not installed" + (f": {fault.message}" if fault else
                    " (pip install your package, or list its file in PAGELAB_PLUGINS)"))
    return name
