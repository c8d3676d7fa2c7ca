"""``pagelab plugins``: the installed strategies, where they come from, and their parameters."""

from __future__ import annotations

import argparse
import dataclasses

from rich.console import Console
from rich.table import Table

from pagelab.registry import installed_strategies


def main(argv: list[str]) -> int:
    """Print one line per strategy: name, source plugin, parameters with defaults."""
    argparse.ArgumentParser(prog="pagelab plugins", description=__doc__).parse_args(argv)
    table = Table(title="pagelab strategies", title_justify="left")
    for column in ("strategy", "plugin", "parameters", "description"):
        table.add_column(column)
    for name, registered in installed_strategies().items():
        params = ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(registered.spec.params))
        table.add_row(name, registered.source, params, registered.spec.description)
    Console().print(table)
    return 0
