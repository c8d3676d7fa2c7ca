"""Every built-in strategy passes the conformance suite plugins get (pagelab.testing)."""

from __future__ import annotations

import pytest

from pagelab.strategies.registry import BUILTIN, registry
from pagelab.testing import ConformanceSuite

# pyproject.toml loads the kit with `-p pagelab.testing`; a plugin's own tests write
# pytest_plugins = ["pagelab.testing"] in their root conftest.py instead.

# The strategies of every module in pagelab_plugins.BUILTINS: a new built-in joins by itself.
BUILTIN_STRATEGIES = sorted(name for info in registry().plugins if info.kind == BUILTIN for name in info.strategies)


def test_every_builtin_module_provides_a_strategy():
    from pagelab_plugins import BUILTINS

    assert [info.name for info in registry().plugins if info.kind == BUILTIN] == list(BUILTINS)
    assert all(info.strategies for info in registry().plugins if info.kind == BUILTIN)


class TestBuiltinStrategies(ConformanceSuite):
    @pytest.fixture(params=BUILTIN_STRATEGIES)
    def pagelab_strategy(self, request: pytest.FixtureRequest) -> str:
        return request.param
