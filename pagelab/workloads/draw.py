"""Seeded draws that stop at a byte budget, in vectorised batches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BATCH = 1 << 16


def draw_until(
    draw: Callable[[int, np.random.Generator], np.ndarray], budget: int, seed: int, *, inclusive: bool
) -> np.ndarray:
    """Draw items until their sizes add up to ``budget``; return the sizes' indices' prefix.

    ``draw(n, rng)`` returns ``n`` sizes. Batches use independent generators derived
    from ``(seed, batch)``, so the sequence never depends on the batch size needed.
    With ``inclusive`` the item that crosses the budget is kept (guest candidates:
    the packer decides); without it the total stays within the budget (page cache).
    """
    batches: list[np.ndarray] = []
    total = 0
    batch = 0
    while total < budget:
        sizes = draw(BATCH, np.random.default_rng([seed, batch]))
        if not sizes.any():
            raise ValueError("every drawn size is 0, so the budget is never reached")
        batches.append(sizes)
        total += int(sizes.sum())
        batch += 1
    sizes = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    running = np.cumsum(sizes)
    cut = int(np.searchsorted(running, budget, side="left" if inclusive else "right"))
    return sizes[: cut + 1] if inclusive else sizes[:cut]
