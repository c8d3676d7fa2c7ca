"""pagelab.plugin is the plugin API: documented name by name, and the only module plugins import."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from pagelab_plugins import BUILTINS

import pagelab.plugin as plugin_api
from pagelab.strategies.hookspecs import PagelabSpecs

from .conftest import ROOT


def section(path, title: str) -> str:
    text = path.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_api_reference_documents_exactly_the_module_s_all():
    """datasette's docs-vs-hooks pattern: a name added to __all__ needs its row, and back."""
    table = section(ROOT / "docs" / "plugins.md", "API reference")
    documented = re.findall(r"^\| `([A-Za-z_]\w*)", table, flags=re.MULTILINE)
    assert sorted(documented) == sorted(plugin_api.__all__)
    assert len(documented) == len(set(documented))


@pytest.mark.parametrize("name", plugin_api.__all__)
def test_every_api_name_resolves(name):
    assert getattr(plugin_api, name) is not None


@pytest.mark.parametrize("module", BUILTINS)
def test_builtins_import_only_the_plugin_api(module):
    tree = ast.parse((ROOT / "plugins" / f"{module}.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    ours = {name for name in imported if name == "pagelab" or name.startswith("pagelab.")}
    assert ours == {"pagelab.plugin"}, f"plugins/{module}.py imports {sorted(ours)}"


def test_every_hook_is_in_the_hook_reference_with_its_signature():
    reference = section(ROOT / "docs" / "writing-strategies.md", "Hook reference")
    hooks = [name for name in vars(PagelabSpecs) if name.startswith("pagelab_")]
    assert hooks
    for name in hooks:
        parameters = [p for p in inspect.signature(getattr(PagelabSpecs, name)).parameters if p != "self"]
        assert f"`{name}({', '.join(parameters)})`" in reference, name
