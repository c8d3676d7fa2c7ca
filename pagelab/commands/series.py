"""Several sweeps, one after another, in one process: ``python -m pagelab.commands.series``.

``pagelab figures`` runs its default sweeps this way. One process composes them all, so
that a Python start-up and the imports are paid once, not once per sweep, and the
datasets a sweep loads stay loaded for the next.

Each argument is ``NAME=ARG1 ARG2 ...``, one sweep's ``pagelab`` arguments joined by
spaces (shell-style quoting). A sweep is claimed first, by creating ``NAME.claim`` in the
working directory (``O_EXCL``: one process wins it), so several series started in one
folder with the same arguments share the sweeps between them, each taking the next
unclaimed one. Every sweep's exit status is written to ``NAME.exit`` as it ends; a sweep
that fails does not stop the next.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

CLAIM = ".claim"
EXIT = ".exit"


def run_sweep(args: list[str]) -> int:
    """Run one sweep (``pagelab ARGS``) in this process; its exit status."""
    from pagelab.app import main as run_app

    try:
        run_app(args)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except Exception as error:  # reported, and the next sweep still runs
        print(f"pagelab: error: {error}", file=sys.stderr)
        return 1
    return 0


def claim(name: str) -> bool:
    """True if this process is the first to claim the sweep ``name`` in the working directory."""
    try:
        os.close(os.open(f"{name}{CLAIM}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def main(argv: list[str]) -> int:
    """Run each ``NAME=ARGS`` sweep that no other series has claimed, in turn; 0 if all exit 0."""
    from pagelab.pipeline.config import register_configs

    register_configs()
    worst = 0
    for spec in argv:
        name, _, joined = spec.partition("=")
        if not claim(name):
            continue
        print(f"== sweep {name}", file=sys.stderr, flush=True)
        code = run_sweep(shlex.split(joined))
        Path(f"{name}{EXIT}").write_text(f"{code}\n")
        worst = worst or code
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
