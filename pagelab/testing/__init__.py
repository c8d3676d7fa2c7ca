"""pagelab's kit for testing strategy plugins, an opt-in pytest plugin.

Turn it on in a test module or the root ``conftest.py``::

    pytest_plugins = ["pagelab.testing"]

    from pagelab.testing import ConformanceSuite

    class TestPage8k(ConformanceSuite):
        strategy = "page8k"

(or ``pytest -p pagelab.testing``). It is not registered under ``pytest11``, so it never
loads into other projects' test runs. It provides the ``pagelab_strategy`` fixture (the
class's ``strategy``), :class:`ConformanceSuite` (the rules every strategy must keep, the
built-ins included) and the inputs it uses: hypothesis strategies :data:`request_tables`
and :data:`machines`, :func:`empty_requests`, :func:`petabyte_requests`,
:func:`many_requests` and :func:`configured` (a strategy with Hydra-composed params).
Needs pytest and hypothesis (``pip install 'pagelab[test]'``).
"""

from __future__ import annotations

from pagelab.testing.conformance import ConformanceSuite, pagelab_strategy
from pagelab.testing.inputs import (
    PiB,
    configured,
    empty_requests,
    machines,
    many_requests,
    petabyte_requests,
    request_tables,
)

__all__ = [
    "ConformanceSuite",
    "PiB",
    "configured",
    "empty_requests",
    "machines",
    "many_requests",
    "pagelab_strategy",
    "petabyte_requests",
    "request_tables",
]
