"""Hydra overrides as users type them: the kernel's ``dmem=!16G`` syntax, strict keys, the seed.

The command line and :func:`pagelab.run` pass their overrides through :func:`prepare`
before Hydra parses them, so both accept and refuse the same things.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from pagelab.errors import PagelabError

# Opt-in for ``+key=value`` overrides that add keys pagelab does not define (docs/sweeps.md).
ALLOW_EXTRA_KEYS = "PAGELAB_ALLOW_EXTRA_KEYS"
# Seeds are stored in an Int64 column and feed numpy's SeedSequence.
SEED_LIMIT = 2**63
# An unquoted element that starts with "!": dmem=!16G, dmem=!16G,!8G, choice(!1G,!2G).
_BANG = re.compile(r"(^|[,(\[{]\s*)(![^,()\[\]{}\s]*)")


def quote_bangs(override: str) -> str:
    """``key=!16G`` → ``key='!16G'``: the kernel's "!" (dmem=, kernel-facts.md) is not part of
    Hydra's unquoted-value grammar. Values that already hold a quote are left as typed."""
    key, sep, value = override.partition("=")
    if not sep or "!" not in value or "'" in value or '"' in value:
        return override
    return key + sep + _BANG.sub(lambda m: f"{m.group(1)}'{m.group(2)}'", value)


def config_groups() -> set[str]:
    """Config groups a ``+group=option`` may add: folders of ``pagelab.conf`` and ConfigStore groups."""
    from importlib.resources import files

    from hydra.core.config_store import ConfigStore

    from pagelab.pipeline.config import register_configs

    register_configs()
    shipped = {entry.name for entry in files("pagelab.conf").iterdir() if entry.is_dir() and entry.name != "__pycache__"}
    return shipped | set(ConfigStore.instance().repo)


def _seed_values(parsed: Any) -> Iterable[Any]:
    if parsed.is_sweep_override():
        try:
            return list(parsed.sweep_iterator())
        except Exception:  # an interval sweep has no list of values; the job's check catches it
            return []
    return [parsed.value()]


def check_seed(value: Any, where: str = "seed") -> int:
    """``value`` as a seed: a non-negative integer below 2^63; anything else raises one line."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_LIMIT:
        text = getattr(value, "text", value)  # a QuotedString holds its text
        raise PagelabError(f"{where}: must be a non-negative integer below 2^63, got {text!r}")
    return value


def prepare(overrides: list[str]) -> list[str]:
    """Quote ``!`` values, then refuse bad seeds and ``+key=`` keys pagelab does not define.

    An override Hydra's grammar cannot parse raises one line (Hydra's parser, Hydra's words).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    quoted = [quote_bangs(o) for o in overrides]
    parser = OverridesParser.create()
    groups: set[str] | None = None
    for text in quoted:
        try:
            (parsed,) = parser.parse_overrides([text])
        except Exception as error:  # noqa: BLE001 -- OverrideParseException, or the grammar's own errors
            raise PagelabError(hydra_error_line(error)) from None
        key = parsed.key_or_group
        if key == "seed" and not parsed.is_delete():
            for value in _seed_values(parsed):
                check_seed(value)
        if parsed.is_add() and not key.startswith("hydra") and "/" not in key and os.environ.get(ALLOW_EXTRA_KEYS) != "1":
            groups = config_groups() if groups is None else groups
            if "." in key or key not in groups:
                raise PagelabError(
                    f"{text}: pagelab defines no key '{key}' (a typo? drop the '+' to set a defined key; "
                    f"{ALLOW_EXTRA_KEYS}=1 allows extra keys)"
                )
    return quoted


def hydra_error_line(error: BaseException) -> str:
    """One line from one of Hydra's (multi-line) composition errors, with its cause's first line.

    A missing group option keeps the options Hydra lists (``strategy=nope`` names them).
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    head = lines[0] if lines else type(error).__name__
    if "Available options" in str(error):
        start = next(i for i, line in enumerate(lines) if line.startswith("Available options"))
        end = next((i for i, line in enumerate(lines) if line.startswith("Config search path")), len(lines))
        options = lines[start + 1 : end]
        missing = re.search(r"Could not find '(.+)/([^'/]+)'", head)
        if missing:  # "workload=nosuch: no such workload", as the user typed it
            group, option = missing.groups()
            head = f"{group}={option}: no such {group.rsplit('/', 1)[-1]} (choose from {', '.join(options)})"
        else:
            head = f"{head} ({lines[start].rstrip(':').lower()}: {', '.join(options)})"
    elif len(lines) > 1 and not lines[1].startswith("See "):  # "missing EQUAL", "To append ..."
        head = f"{head} ({lines[1]})"
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        head = f"{head}: {str(cause).strip().splitlines()[0]}"
    return head
