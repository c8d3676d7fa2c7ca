"""``pagelab new-strategy NAME [DIR]``: a pip-installable strategy package, ready to test.

    pagelab new-strategy page8k               # writes ./pagelab-page8k/
    pagelab new-strategy page8k plugins/p8k   # writes plugins/p8k/
    cd pagelab-page8k && pip install -e . && pytest && python -m pagelab strategy=page8k

The package has a ``pyproject.toml`` with the ``pagelab`` entry point, the strategy module
(a params dataclass with a ``Size`` field, the strategy, the hook), tests that run the
conformance kit (``pagelab.testing``) and one test of the model, and a README. The model it
starts from is a base page of ``page_size`` bytes (one struct page each): change it.
"""

from __future__ import annotations

import argparse
import keyword
from pathlib import Path

from pagelab.commands.parser import subcommand_parser
from pagelab.errors import PagelabError

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "pagelab-{dash}"
version = "0.1.0"
description = "{name}: a pagelab strategy"
requires-python = ">=3.11"
dependencies = ["pagelab"]

[project.optional-dependencies]
test = ["pytest>=8", "hypothesis>=6.100"]

# pagelab finds the strategy through this entry point; after changing it, pip install again.
[project.entry-points.pagelab]
{name} = "pagelab_{name}.strategy"

[tool.setuptools]
packages = ["pagelab_{name}"]
package-dir = {{ "" = "src" }}

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

STRATEGY = '''\
"""{name}: base pages of ``page_size`` bytes, one 64-byte struct page each.

Replace this model with yours; keep it in polars expressions (no Python loop over rows).
``tests/test_{name}.py`` runs pagelab's conformance suite on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab.plugin import Allocation, Machine, PagelabError, Size, StrategySpec, hookimpl, memmap, uniform_allocation


@dataclass
class {title}Params:
    """``page_size``: the base page (a power of two, at least the MMU's 4 KiB)."""

    page_size: Size = Size("8K")  # strategy.page_size=16K on the command line


class {title}:
    """One struct page per base page; every object rounded up to whole base pages."""

    def __init__(self, params: {title}Params) -> None:
        if params.page_size < 4096 or params.page_size & (params.page_size - 1):
            raise PagelabError(f"strategy.page_size: must be a power of two >= 4K, got {{params.page_size}}")
        self.page = params.page_size

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        struct_pages, memmap_bytes = memmap(machine, self.page)
        return Allocation(uniform_allocation(requests, machine, self.page), struct_pages, memmap_bytes)


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("{name}", {title}Params, {title}, "{name}: base pages of page_size bytes")]
'''

CONFTEST = '''\
# pagelab's conformance kit is an opt-in pytest plugin.
pytest_plugins = ["pagelab.testing"]
'''

TESTS = '''\
"""{name} passes pagelab's conformance suite, and its model gives the numbers worked out below."""

from __future__ import annotations

import polars as pl

from pagelab.plugin import GiB, Machine
from pagelab.testing import ConformanceSuite, configured


class Test{title}Conformance(ConformanceSuite):
    strategy = "{name}"


def test_one_struct_page_per_base_page_and_whole_pages_per_object():
    _, strategy = configured("{name}", ["workload=laptop", "strategy.page_size=8K"])
    machine = Machine.even(16 * GiB)
    requests = pl.DataFrame({{"kind": ["file"], "bytes": [10_000], "count": [3], "node": [0]}}).cast(
        {{"kind": pl.Enum(["file", "anon", "guest", "host"]), "bytes": pl.Int64, "count": pl.Int64, "node": pl.Int64}}
    )
    allocation = strategy(machine, requests)
    # 16 GiB / 8 KiB = 2,097,152 struct pages of 64 bytes; 10,000 bytes take two 8 KiB pages.
    assert allocation.struct_pages == 2_097_152
    assert allocation.requests["allocated_bytes"].to_list() == [3 * 2 * 8192]
'''

README = '''\
# pagelab-{dash}

A [pagelab](https://pypi.org/project/pagelab/) strategy, `{name}`.

```sh
pip install -e '.[test]'      # registers the entry point (again after changing pyproject.toml)
pytest                        # pagelab's conformance suite and the model's own test
python -m pagelab strategy={name} workload=laptop strategy.page_size=16K
python -m pagelab -m strategy=base4k,{name} workload=laptop,pagecache   # a sweep
```
'''


def scaffold(name: str, folder: Path) -> list[Path]:
    """Write the package for strategy ``name`` into ``folder``; return the files written.

    Raises PagelabError for a name that is not a lowercase identifier or a ``folder`` that
    exists and is not empty (nothing is written then).
    """
    if not name.isidentifier() or name != name.lower() or keyword.iskeyword(name):
        raise PagelabError(f"NAME: a strategy name is a lowercase Python identifier (page8k, zoned), got {name!r}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise PagelabError(f"{folder}: exists and is not an empty folder; choose another DIR")
    title = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    values = {"name": name, "dash": name.replace("_", "-"), "title": title}
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/pagelab_{name}/__init__.py": '"""pagelab-{dash}: the {name} strategy for pagelab."""\n',
        f"src/pagelab_{name}/strategy.py": STRATEGY,
        "tests/conftest.py": CONFTEST,
        f"tests/test_{name}.py": TESTS,
    }
    written = []
    for relative, template in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """Scaffold the package and say how to install and test it."""
    parser = subcommand_parser("pagelab new-strategy", __doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="the strategy's name: a lowercase identifier")
    parser.add_argument("dir", nargs="?", type=Path, help="the package's folder (default: ./pagelab-NAME)")
    args = parser.parse_args(argv)
    folder = args.dir or Path(f"pagelab-{args.name.replace('_', '-')}")
    from pagelab.strategies.registry import installed_strategies

    if args.name in installed_strategies():
        raise PagelabError(f"NAME: strategy {args.name!r} is installed already ({installed_strategies()[args.name].source})")
    written = scaffold(args.name, folder)
    print(f"wrote {len(written)} files into {folder}/; next:")
    print(f"  cd {folder} && pip install -e '.[test]' && pytest && python -m pagelab strategy={args.name}")
    return 0
