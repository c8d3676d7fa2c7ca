"""The package layout is the data flow: no module imports a layer above its own.

Every module of ``pagelab/`` is parsed (not imported) and every import it makes is checked:
module level and inside functions alike, PEP 562 lazy exports (an ``_EXPORTS`` table) and
``importlib.import_module("pagelab...")`` included. Only imports under ``if TYPE_CHECKING:``
are exempt, since they never run. docs/architecture.md draws the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pagelab"

# Low to high; a module may import its own layer and those below it.
LAYERS: list[set[str]] = [
    {"errors", "units", "atomic", "outputs", "version", "lazy", "workers"},
    {"allocator"},
    {"models"},
    {"strategies", "plugin"},
    {"datasets"},
    {"workloads"},
    {"pipeline", "fleet"},
    {"sweep"},
    {"figures"},
    {"measure"},
    {"commands", "cli", "app", "__init__", "__main__", "testing"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    """``pagelab/sweep/plan.py`` -> ``pagelab.sweep.plan``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``import from`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module ``source`` imports when it runs, with its line: ``from pagelab import units``
    is ``pagelab.units``, ``from pagelab import compose`` (a name) is ``pagelab``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else target))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "import_module"):
            found.append((node.lineno, node.args[0].value))
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
              and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets)):
            found.extend((v.lineno, v.value) for v in node.value.values
                         if isinstance(v, ast.Constant) and isinstance(v.value, str))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def layer(module: str) -> str | None:
    """The layer name of a pagelab module (its first component below ``pagelab``), None outside pagelab."""
    parts = module.split(".")
    if parts[0] != "pagelab":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_checker_sees_function_level_imports_and_skips_type_checking_only():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import pagelab.units\n"
        "from . import cards\n"
        "from pagelab import figures, GiB\n"
        "if TYPE_CHECKING:\n"
        "    from pagelab.sweep import plan\n"
        "else:\n"
        "    import pagelab.models\n"
        "def f():\n"
        "    from pagelab.pipeline.job import run_job\n"
        "    importlib.import_module('pagelab.fleet.run')\n"
        "_EXPORTS = {'x': 'pagelab.atomic'}\n"
    )
    found = {name for _, name in imports(source, "pagelab.datasets.read")}
    assert found == {"typing", "pagelab.units", "pagelab.datasets.cards", "pagelab.figures", "pagelab",
                     "pagelab.models", "pagelab.pipeline.job", "pagelab.fleet.run", "pagelab.atomic"}


def test_every_module_has_a_layer():
    unplaced = sorted({layer(module_name(p)) for p in _modules()} - set(RANK))
    assert not unplaced, f"add to LAYERS (and docs/architecture.md): {unplaced}"


def test_nothing_imports_a_higher_layer():
    upward = []
    for path in _modules():
        module = module_name(path)
        own = layer(module)
        assert own is not None
        for line, target in imports(path.read_text(), module, path.name == "__init__.py"):
            other = layer(target)
            if other is not None and RANK[other] > RANK[own]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {target} ({other}, a higher layer)")
    assert not upward, "imports upward:\n" + "\n".join(upward)


# The built-in strategies, and the example of an external plugin package (its code, not its tests).
PLUGINS = sorted([*(ROOT / "plugins").glob("*.py"), *(ROOT / "examples" / "pagelab-hotplug" / "src").rglob("*.py")])


@pytest.mark.parametrize("path", PLUGINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_plugin_api(path: Path):
    other = [f"{line}: {target}" for line, target in imports(path.read_text(), f"plugins.{path.stem}")
             if layer(target) is not None and target != "pagelab.plugin"]
    assert not other, f"{path.relative_to(ROOT)} imports more of pagelab than pagelab.plugin: {other}"
