"""Several sweeps, one after another, in one process: ``python -m pagelab.commands.series``.

``pagelab figures`` runs its default sweeps this way. One process composes them all and
the batch launcher's workers (joblib's reusable loky executor) stay up from one sweep to
the next, with the datasets they have loaded: a Python start-up, the imports and the
workers' warm-up are paid once, not once per sweep, and two sweeps never compete for
the same two cores.

Each argument is ``NAME=ARG1 ARG2 ...``, one sweep's ``pagelab`` arguments joined by
spaces (shell-style quoting). Every sweep's exit status is written to
``NAME.exit`` in the working directory as it ends; a sweep that fails does not stop the next.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


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


def main(argv: list[str]) -> int:
    """Run each ``NAME=ARGS`` sweep in turn; 0 if all of them exit 0."""
    from pagelab.pipeline.config import register_configs

    register_configs()
    worst = 0
    for spec in argv:
        name, _, joined = spec.partition("=")
        print(f"== sweep {name}", file=sys.stderr, flush=True)
        code = run_sweep(shlex.split(joined))
        Path(f"{name}.exit").write_text(f"{code}\n")
        worst = worst or code
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
