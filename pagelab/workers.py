"""joblib's loky workers, started before their work arrives."""

from __future__ import annotations

import threading
from collections.abc import Callable


def start_workers(n: int, warm: Callable[..., object], *args: object, name: str = "pagelab-warm") -> threading.Thread:
    """Start ``n`` loky workers in a background thread, each calling ``warm(*args)`` once.

    ``warm`` imports what the work will need, so the workers start while this process does
    something else. joblib keeps its loky executor between calls: a later ``Parallel`` with
    the same ``n_jobs`` and backend reuses these workers. Join the returned thread first.
    """

    def start() -> None:
        from joblib import Parallel, delayed

        Parallel(n_jobs=n, backend="loky")(delayed(warm)(*args) for _ in range(n))

    thread = threading.Thread(target=start, name=name, daemon=True)
    thread.start()
    return thread
