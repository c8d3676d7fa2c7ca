"""Loading plugins: built-ins, entry points, local files, broken plugins, the autoload switch."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import polars as pl
import pytest
from pagelab_plugins import BUILTINS

import pagelab
import pagelab.plugin as plugin_api
from pagelab.errors import PagelabError
from pagelab.pipeline.compose import compose, compose_config
from pagelab.pipeline.config import strategy_node
from pagelab.plugin import (
    Allocation,
    Machine,
    Size,
    StrategySpec,
    format_size,
    hookimpl,
    memmap,
    uniform_allocation,
)
from pagelab.strategies.registry import installed_strategies, load, make_plugin_manager

from .conftest import ROOT, pagelab_cli


@dataclass
class Page8kParams:
    page_size: Size = Size("8K")


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


# One local plugin file per way of being broken, each next to a working one.
PAGE8K = """
from dataclasses import dataclass
from pagelab.plugin import Allocation, Size, StrategySpec, hookimpl, memmap, uniform_allocation

@dataclass
class Page8kParams:
    page_size: Size = Size("8K")

class Page8k:
    def __init__(self, params):
        self.page = params.page_size
    def __call__(self, machine, requests):
        pages, memmap_bytes = memmap(machine, self.page)
        return Allocation(uniform_allocation(requests, machine, self.page){tweak}, pages, memmap_bytes)

@hookimpl
def pagelab_strategies():
    return [StrategySpec("{name}", Page8kParams, Page8k, "8 KiB base pages")]
"""
BROKEN = {
    "import_error": "import pagelab_no_such_module\n",
    "misspelt_hook": "from pagelab.plugin import hookimpl\n\n@hookimpl\ndef pagelab_strategy():\n    return []\n",
    "wrong_type": "from pagelab.plugin import hookimpl\n\n@hookimpl\ndef pagelab_strategies():\n    return ['page8k']\n",
    "raises": "from pagelab.plugin import hookimpl\n\n@hookimpl\ndef pagelab_strategies():\n    raise RuntimeError('boom')\n",
}
FAULTS = {
    "import_error": "cannot be imported: ModuleNotFoundError: No module named 'pagelab_no_such_module'",
    "misspelt_hook": "unknown hook pagelab_strategy (pagelab's hooks: pagelab_strategies)",
    "wrong_type": "pagelab_strategies returned str 'page8k', not a StrategySpec",
    "raises": "RuntimeError: boom",
}


def write_plugin(folder: Path, stem: str, *, name: str | None = None, tweak: str = "") -> Path:
    path = folder / f"{stem}.py"
    source = BROKEN[stem] if stem in BROKEN else PAGE8K.replace("{name}", name or stem).replace("{tweak}", tweak)
    path.write_text(textwrap.dedent(source))
    return path


def test_explicit_plugin_list_registers_only_those():
    found = load(make_plugin_manager([Page8kPlugin()]))
    assert list(found.strategies) == ["page8k"] and not found.faults


def test_builtins_are_registered_directly_from_builtins_not_entry_points():
    found = load(make_plugin_manager(load_entrypoints=False))
    names = [info.name for info in found.plugins]
    assert names == list(BUILTINS)  # registration order: BUILTINS as listed
    assert all(info.kind == "built-in" and "pagelab" in info.source for info in found.plugins)
    assert {"base4k", "page16k", "page64k", "clustering", "dmemfs", "folio", "hvo"} <= set(found.strategies)
    assert list(found.strategies) == sorted(found.strategies)  # load order never matters
    assert not found.faults


def test_the_autoload_switch_turns_off_third_party_plugins_only(tmp_path, monkeypatch):
    # A fake installed distribution with a pagelab entry point, found through sys.path.
    dist = tmp_path / "page8k_dist-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: page8k-dist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pagelab]\npage8k = page8k_mod\n")
    write_plugin(tmp_path, "page8k_mod", name="page8k")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PAGELAB_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    on = load(make_plugin_manager())
    assert on.strategies["page8k"].source == "page8k-dist 1.0" and not on.faults
    monkeypatch.setenv("PAGELAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    off = load(make_plugin_manager())
    assert "page8k" not in off.strategies and set(off.strategies) == set(on.strategies) - {"page8k"}


def test_a_duplicate_name_is_kept_by_the_first_plugin_and_a_fault_of_the_second():
    found = load(make_plugin_manager([Page8kPlugin(), ClashingPlugin()]))
    assert list(found.strategies) == ["page8k"] and "Page8kPlugin" in found.strategies["page8k"].source
    (fault,) = found.faults
    assert "registered twice" in fault.message and "Page8kPlugin" in fault.message and "ClashingPlugin" in fault.message


@pytest.mark.parametrize("stem", sorted(BROKEN))
def test_a_broken_local_plugin_is_one_fault_and_the_rest_load(tmp_path, stem):
    broken = write_plugin(tmp_path, stem)
    fine = write_plugin(tmp_path, "page8k")
    found = load(make_plugin_manager(load_entrypoints=False, local=[str(broken), str(fine)]))
    (fault,) = found.faults
    assert fault.message == f"plugin {broken.resolve()}: {FAULTS[stem]}"
    assert {"base4k", "page8k"} <= set(found.strategies)


def test_broken_plugins_warn_once_each_and_base4k_still_runs(tmp_path):
    paths = [write_plugin(tmp_path, stem) for stem in sorted(BROKEN)]
    env = {"PAGELAB_PLUGINS": ":".join(map(str, paths)), "PAGELAB_PLUGIN_FAULTS_WARNED": ""}
    result = pagelab_cli("strategy=base4k", "workload=pc1991", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("pagelab: warning: plugin ")]
    assert len(warnings) == len(BROKEN), result.stderr
    for path, stem in zip(paths, sorted(BROKEN)):
        assert f"pagelab: warning: plugin {path}: {FAULTS[stem]}; skipped" in warnings
    assert "Traceback" not in result.stderr


def test_a_run_that_asks_for_a_broken_plugin_fails_with_its_line(tmp_path):
    path = write_plugin(tmp_path, "import_error")
    result = pagelab_cli("strategy=import_error", "workload=pc1991", f"hydra.run.dir={tmp_path / 'run'}",
                         cwd=tmp_path, env={"PAGELAB_PLUGINS": str(path)})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (f"pagelab: error: strategy 'import_error' is not available: plugin {path}: "
                                              f"{FAULTS['import_error']}")
    assert not (tmp_path / "run" / "results.parquet").exists()


def test_a_negative_allocation_is_one_line_naming_the_plugin(tmp_path):
    path = write_plugin(tmp_path, "negative", tweak=".with_columns(allocated_bytes=-pl.col('allocated_bytes'))")
    path.write_text("import polars as pl\n" + path.read_text())
    result = pagelab_cli("strategy=negative", "workload=pc1991", f"plugins=[{path}]", f"hydra.run.dir={tmp_path / 'run'}",
                         cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(rf"pagelab: error: strategy negative \({re.escape(str(path))}\): "
                        r"column 'allocated_bytes' is negative \(first: row \d+\)", line), line
    assert not (tmp_path / "run" / "results.parquet").exists()


def test_a_local_plugin_from_the_config_key_takes_sizes_like_a_builtin(tmp_path):
    path = write_plugin(tmp_path, "page8k")
    run_dir = tmp_path / "run"
    result = pagelab_cli("strategy=page8k", "workload=pc1991", f"plugins=[{path}]", "strategy.page_size=16K",
                         f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = pl.read_parquet(run_dir / "results.parquet").row(0, named=True)
    # pc1991 is 4 MiB, flatmem: one 64-byte struct page per 16 KiB page.
    assert row["strategy"] == "page8k" and row["strategy.page_size"] == "16K"
    assert row["struct_pages"] == (4 << 20) // (16 << 10) and row["memmap_bytes"] == 256 * 64


def test_the_environment_variable_loads_local_plugins_in_notebooks_too(tmp_path, monkeypatch):
    path = write_plugin(tmp_path, "page8k_env", name="page8k_env")
    monkeypatch.setenv("PAGELAB_PLUGINS", str(path))
    found = load(make_plugin_manager(local=[str(path)]))
    assert found.strategies["page8k_env"].source == str(path.resolve())
    assert found.strategies["page8k_env"].spec.params().page_size == 8192


def test_size_fields_compose_as_text_and_reach_the_strategy_as_bytes():
    assert format_size(8192) == "8K" and format_size(3 << 20) == "3M" and format_size(1000) == "1000"
    assert Size("2M") == 2 * 1024 * 1024 and isinstance(Size("2M"), int) and repr(Size(4096)) == "Size('4K')"
    node = strategy_node("page8k", Page8kParams)
    assert node().page_size == "8K" and node().name == "page8k"


def test_an_unknown_strategy_lists_the_installed_ones_and_says_to_pip_install(tmp_path):
    result = pagelab_cli("strategy=base8k", f"hydra.run.dir={tmp_path}", cwd=ROOT)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    names = ", ".join(sorted({*installed_strategies(), *(p.stem for p in (ROOT / "conf" / "strategy").glob("*.yaml"))}))
    assert line.startswith(f"pagelab: error: unknown strategy 'base8k'; installed: {names}. ")
    assert "page2m" in names and line.endswith("needs `pip install` again (its metadata lists the entry point)")


def test_a_typo_in_a_strategy_parameter_fails_at_compose_time():
    assert compose(["strategy=page16k", "strategy.page_size=32K"]).params.page_size == "32K"  # a str field,
    # parsed by the strategy; a misspelt one is Hydra's composition error, in one line
    with pytest.raises(PagelabError, match=r"page_sise.*not in"):
        compose_config(["strategy=page16k", "strategy.page_sise=32K"])


def test_an_extra_strategy_key_is_one_line_even_when_extra_keys_are_allowed(tmp_path, monkeypatch):
    # PAGELAB_ALLOW_EXTRA_KEYS lets +key= through composition; a workload's extra key is only
    # a results column, but a strategy takes its dataclass's fields and nothing else.
    monkeypatch.setenv("PAGELAB_ALLOW_EXTRA_KEYS", "1")
    with pytest.raises(PagelabError, match=r"^strategy\.typo: strategy page16k has no parameter 'typo' "
                                           r"\(its parameters: page_size, section_size\)$"):
        compose(["strategy=page16k", "+strategy.typo=1"])
    assert compose(["+workload.typo=1"]).columns["workload.typo"] == 1
    result = pagelab_cli("+strategy.typo=1", "workload=pc1991", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == ["pagelab: error: strategy.typo: strategy base4k has no parameter 'typo' "
                                          "(its parameters: memory_model)"]
    assert not (tmp_path / "run" / "results.parquet").exists()


def test_run_is_the_notebook_api_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    row = pagelab.run(["strategy=base4k", "workload=pc1991"])
    assert row.height == 1 and row["strategy"][0] == "base4k"
    assert list(tmp_path.iterdir()) == []


def test_the_package_exports_the_notebook_api_and_old_plugin_imports_warn():
    assert {"PagelabError", "__version__", "run"} <= set(pagelab.__all__)
    assert not set(pagelab.__all__) & (set(plugin_api.__all__) - {"PagelabError"})  # no plugin API, no models
    with pytest.warns(DeprecationWarning, match="import hookimpl from pagelab.plugin"):
        from pagelab import hookimpl as old  # noqa: F401
    assert old is hookimpl


def test_pagelab_plugins_lists_name_version_source_hooks_strategies_and_defaults(tmp_path):
    import json

    local = write_plugin(tmp_path, "page8k")
    broken = write_plugin(tmp_path, "misspelt_hook")
    env = {"PAGELAB_PLUGINS": f"{local}:{broken}"}
    text = pagelab_cli("plugins", cwd=tmp_path, env=env)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    version = pagelab.__version__
    block = lines[lines.index(f"pagesize: pagelab {version} (built-in)"):][:8]
    assert block == [f"pagesize: pagelab {version} (built-in)", "  hooks: pagelab_strategies",
                     "  strategy page16k - 16 KiB base pages", "    page_size = 16K", "    section_size = null",
                     "  strategy page64k - 64 KiB base pages", "    page_size = 64K", "    section_size = null"]
    at = lines.index(f"{local}: local file")
    assert lines[at + 1 : at + 4] == ["  hooks: pagelab_strategies", "  strategy page8k - 8 KiB base pages",
                                      "    page_size = 8K"]
    assert lines[-2:] == ["skipped:", f"  plugin {broken}: {FAULTS['misspelt_hook']}"]
    data = json.loads(pagelab_cli("plugins", "--json", cwd=tmp_path, env=env).stdout)
    names = [p["name"] for p in data["plugins"]]
    assert names[: len(BUILTINS)] == list(BUILTINS) and names[-1] == str(local)
    assert data["plugins"][-1]["strategies"][0]["parameters"] == {"page_size": "8K"}
    assert {p["kind"] for p in data["plugins"][: len(BUILTINS)]} == {"built-in"}


@dataclass
class SizedParams:
    window: Optional[Size] = None
    page: Size = Size("2M")
    count: int = 3


def test_optional_size_fields_take_null_or_a_size_and_bad_sizes_name_the_field():
    from omegaconf import OmegaConf

    from pagelab.pipeline.config import size_fields
    from pagelab.plugin import PagelabError

    assert size_fields(SizedParams) == {"window": True, "page": False}
    node = OmegaConf.structured(strategy_node("sized", SizedParams))
    node.window, node.page = "64K", "1G"  # text fields: Hydra overrides arrive as strings
    assert (node.window, node.page, node.count) == ("64K", "1G", 3)
    with pytest.raises(PagelabError, match=r"^strategy.page: expected a size such as 4K, 128M or 16G, got '1Q'$"):
        Size("1Q", "strategy.page")


def test_a_sweep_warns_about_a_broken_plugin_once_not_once_per_worker(tmp_path):
    broken = write_plugin(tmp_path, "raises")
    result = pagelab_cli("-m", "strategy=base4k", "seed=0,1,2,3", "workload=pc1991", "hydra/launcher=batch",
                         "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path,
                         env={"PAGELAB_PLUGINS": str(broken), "PAGELAB_PLUGIN_FAULTS_WARNED": ""})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(f"pagelab: warning: plugin {broken}: RuntimeError: boom; skipped") == 1
