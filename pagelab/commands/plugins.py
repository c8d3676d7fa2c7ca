"""``pagelab plugins``: every plugin, where it comes from, its hooks, strategies and parameters.

    pagelab plugins          # text, one block per plugin
    pagelab plugins --json   # the same as JSON (a list of plugins, then the skipped ones)

Skipped plugins (failed to import, unknown hook, wrong return type) are listed last with
their one-line fault.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from pagelab.commands.parser import subcommand_parser
from pagelab.strategies.registry import PluginInfo, Registry, registry


def _default(item: dataclasses.Field) -> Any:
    from pagelab.pipeline.config import field_default
    from pagelab.plugin import Size, format_size

    value = field_default(item)
    if value is dataclasses.MISSING:
        return "(required)"
    return format_size(value) if isinstance(value, Size) else value


def _strategy(found: Registry, name: str) -> dict[str, Any]:
    spec = found.strategies[name].spec
    return {
        "name": name,
        "description": spec.description,
        "guest_memory": spec.guest_memory,
        "parameters": {f.name: _default(f) for f in dataclasses.fields(spec.params)},
    }


def describe(found: Registry) -> dict[str, Any]:
    """The plugins of ``found`` as plain data: what ``--json`` prints."""

    def plugin(info: PluginInfo) -> dict[str, Any]:
        return {
            "name": info.name,
            "kind": info.kind,
            "version": info.version,
            "source": info.source,
            "hooks": list(info.hooks),
            "strategies": [_strategy(found, name) for name in info.strategies],
        }

    return {"plugins": [plugin(info) for info in found.plugins],
            "skipped": [{"plugin": f.plugin, "fault": f.message} for f in found.faults]}


def _text(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for plugin in data["plugins"]:
        # A local file's name is its path: say what it is instead of repeating it.
        source = "local file" if plugin["kind"] == "local file" else plugin["source"]
        lines.append(f"{plugin['name']}: {source}")
        lines.append(f"  hooks: {', '.join(plugin['hooks'])}")
        for strategy in plugin["strategies"]:
            about = f" - {strategy['description']}" if strategy["description"] else ""
            lines.append(f"  strategy {strategy['name']}{about}")
            for key, value in strategy["parameters"].items():
                lines.append(f"    {key} = {json.dumps(value) if not isinstance(value, str) else value}")
    if data["skipped"]:
        lines.append("skipped:")
        lines.extend(f"  {item['fault']}" for item in data["skipped"])
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print every plugin (text or ``--json``); exit 0 even with skipped plugins (they are listed)."""
    parser = subcommand_parser("pagelab plugins", __doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    data = describe(registry())
    print(json.dumps(data, indent=2) if args.json else _text(data))
    return 0
