"""The ``pagelab`` command: subcommands by name, anything else goes to Hydra.

    pagelab strategy=dmemfs workload=hosting     # a run (Hydra overrides)
    pagelab -m strategy=base4k,page64k           # a sweep
    pagelab scan DIR -o tree.parquet             # a subcommand
"""

from __future__ import annotations

import importlib
import os
import sys

from pagelab.errors import PagelabError

# Subcommand name → module with ``main(argv: list[str]) -> int``; imported on demand.
COMMANDS = {
    "collect": "pagelab.commands.collect",
    "datasets": "pagelab.commands.datasets",
    "figures": "pagelab.commands.figures",
    "measure": "pagelab.commands.measure",
    "new-strategy": "pagelab.commands.new_strategy",
    "plugins": "pagelab.commands.plugins",
    "scan": "pagelab.commands.scan",
    "scan-procs": "pagelab.commands.scan_procs",
}


def run_command(name: str, argv: list[str]) -> int:
    """Run subcommand ``name``; a :class:`PagelabError` becomes one line on stderr and exit 2."""
    try:
        if name == "scan":  # find walks while the command's imports load
            from pagelab.scan import prestart

            prestart(argv)
        return importlib.import_module(COMMANDS[name]).main(argv)
    except PagelabError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"pagelab {name}: error: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> None:
    """Dispatch to a subcommand, or run the Hydra app with the arguments as overrides."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in COMMANDS:
        sys.exit(run_command(args[0], args[1:]))
    from pagelab.app import main as run_app
    from pagelab.config import register_configs

    try:
        register_configs()
    except PagelabError as error:
        print(f"pagelab: error: {error}", file=sys.stderr)
        sys.exit(2)
    run_app(list(args))
