"""Seeded draws that stop at a byte budget, in vectorised batches, with bounded work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pagelab.units import format_bytes

BATCH = 1 << 16
MAX_ITEMS = 20_000_000  # a draw needing more items than this is refused, not run for minutes
# Bounds that keep every running sum in Int64: 2^16 items of at most 64 TiB add up to at
# most 2^62, and a budget is at most 2 EiB.
MAX_SIZE = 1 << 46
MAX_BUDGET = 1 << 61


def draw_until(
    draw: Callable[[int, np.random.Generator], np.ndarray], budget: int, seed: int, *, inclusive: bool,
    max_items: int = MAX_ITEMS,
) -> np.ndarray:
    """Draw items until their sizes add up to ``budget``; return the sizes' prefix.

    ``draw(n, rng)`` returns ``n`` sizes. Batches use independent generators derived
    from ``(seed, batch)``, so the sequence never depends on the batch size needed.
    With ``inclusive`` the item that crosses the budget is kept (guest candidates:
    the packer decides); without it the total stays within the budget. Raises
    ValueError, saying why, for sizes that are all 0, a size above 1 EiB, or a budget
    that would need more than ``max_items`` items.
    """
    if budget > MAX_BUDGET:
        raise ValueError(f"a budget of {budget:,} bytes is above 2 EiB")
    batches: list[np.ndarray] = []
    total = 0
    batch = 0
    while total < budget:
        if batch * BATCH >= max_items:
            raise ValueError(f"filling {format_bytes(budget)} would take more than {max_items:,} draws; ask for less")
        sizes = draw(BATCH, np.random.default_rng([seed, batch]))
        if not sizes.any():
            raise ValueError("every drawn size is 0, so the budget is never reached")
        if int(sizes.max()) > MAX_SIZE:
            raise ValueError(f"a size of {int(sizes.max()):,} bytes is above 64 TiB, more than one object can be")
        batches.append(sizes)
        total += int(sizes.sum())
        batch += 1
    sizes = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    running = np.cumsum(sizes)
    cut = int(np.searchsorted(running, budget, side="left" if inclusive else "right"))
    return sizes[: cut + 1] if inclusive else sizes[:cut]


@dataclass(frozen=True)
class CacheDraw:
    """The page cache's candidates: each drawn file's request row, in draw order, and the budget."""

    order: np.ndarray
    budget: int
