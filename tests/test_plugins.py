"""The plugin system: explicit plugin lists, duplicates, entry points, compose-time checks."""

from __future__ import annotations

from dataclasses import dataclass

import pluggy
import polars as pl
import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException

import pagelab
from pagelab import Allocation, Machine, PagelabError, StrategySpec, hookimpl, memmap, uniform_allocation
from pagelab.config import register_configs
from pagelab.registry import collect_strategies, installed_strategies, make_plugin_manager

from .conftest import ROOT, pagelab_cli


@dataclass
class Page8kParams:
    page_size: int = 8192


class Page8k:
    """A third-party strategy in a few lines: 8 KiB base pages."""

    def __init__(self, params: Page8kParams) -> None:
        self.page = params.page_size

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        pages, memmap_bytes = memmap(machine, self.page)
        return Allocation(uniform_allocation(requests, machine, self.page), pages, memmap_bytes)


class Page8kPlugin:
    @hookimpl
    def pagelab_strategies(self):
        return [StrategySpec("page8k", Page8kParams, Page8k)]


class ClashingPlugin:
    @hookimpl
    def pagelab_strategies(self):
        return [StrategySpec("page8k", Page8kParams, Page8k)]


def test_explicit_plugin_list_loads_no_entry_points():
    strategies = collect_strategies(make_plugin_manager([Page8kPlugin()]))
    assert list(strategies) == ["page8k"]


def test_builtins_come_through_the_entry_point_group():
    found = installed_strategies()
    assert {"base4k", "page16k", "page64k", "clustering", "dmemfs", "folio"} <= set(found)
    assert all("pagelab" in registered.source for registered in found.values())
    assert list(found) == sorted(found)  # load order never matters


def test_duplicate_names_are_rejected_naming_both_sources():
    manager = make_plugin_manager([Page8kPlugin(), ClashingPlugin()])
    with pytest.raises(PagelabError, match="registered twice") as error:
        collect_strategies(manager)
    assert "Page8kPlugin" in str(error.value) and "ClashingPlugin" in str(error.value)


def test_a_hook_with_a_typo_is_rejected():
    class Typo:
        @hookimpl
        def pagelab_strategy(self):
            return []

    with pytest.raises(pluggy.PluginValidationError, match="unknown hook"):
        make_plugin_manager([Typo()])


def test_a_third_party_strategy_runs_end_to_end():
    manager = make_plugin_manager([Page8kPlugin()])
    spec = collect_strategies(manager)["page8k"].spec
    machine = Machine.even(16 << 30)
    requests = pl.DataFrame({"kind": ["file"], "bytes": [100], "count": [3], "node": [0]})
    allocation = spec.factory(spec.params())(machine, requests)
    assert allocation.requests["allocated_bytes"].to_list() == [3 * 8192]
    assert allocation.memmap_bytes == ((16 << 30) // 8192 * 64,)


def test_a_typo_in_a_strategy_parameter_fails_at_compose_time():
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="pagelab.conf"):
        compose(config_name="config", overrides=["strategy=page16k", "strategy.page_size=32K"])
        with pytest.raises(ConfigCompositionException):
            compose(config_name="config", overrides=["strategy=page16k", "strategy.page_sise=32K"])


def test_unknown_strategy_lists_the_valid_names_without_a_traceback(tmp_path):
    result = pagelab_cli("strategy=base8k", f"hydra.run.dir={tmp_path}", cwd=ROOT)
    assert result.returncode != 0
    assert "Available options" in result.stderr
    for name in ("base4k", "dmemfs", "folio", "page64k"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_run_is_the_notebook_api_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    row = pagelab.run(["strategy=base4k", "workload=pc1991"])
    assert row.height == 1 and row["strategy"][0] == "base4k"
    assert list(tmp_path.iterdir()) == []
