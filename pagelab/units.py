"""Byte sizes as the kernel writes them (``memparse``) and as people read them."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, TypeVar

from pagelab.errors import PagelabError

if TYPE_CHECKING:
    import polars as pl

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40

# The size grammar, the one copy (parse_size here; figures' polars expression reads it too).
# lib/cmdline.c memparse(): binary suffixes K, M, G, T, P, E, case-insensitive; "" is bytes.
SIZE_SUFFIXES = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB, "P": 1 << 50, "E": 1 << 60}
# Group 1 the number (decimal or 0x hex), group 2 the suffix; an optional B or iB follows.
SIZE_PATTERN = r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*([KMGTPEkmgtpe]?)(?:i?B)?\s*$"
_SIZE = re.compile(SIZE_PATTERN)


def parse_size(text: str | int, what: str = "size") -> int:
    """Parse ``16G``, ``128M``, ``0x40000000`` or a plain integer into bytes.

    ``what`` names the parameter in the error message.
    """
    if isinstance(text, bool):
        raise PagelabError(f"{what}: expected a size such as 16G, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise PagelabError(f"{what}: size must not be negative, got {text}")
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise PagelabError(f"{what}: expected a size such as 4K, 128M or 16G, got {text!r}")
    number, suffix = match.groups()
    return int(number, 0) * SIZE_SUFFIXES[suffix.upper()]


def parse_size_or_share(text: str | int, what: str, whole: int, most: float = math.inf) -> int:
    """A size (``8G``) in bytes, or a percentage (``50%``) of ``whole`` bytes, rounded down.

    A percentage must be a finite number from 0 to ``most``; ``what`` names the parameter.
    """
    text = str(text).strip()
    if not text.endswith("%"):
        return parse_size(text, what)
    try:
        share = float(text[:-1])
    except ValueError:
        raise PagelabError(f"{what}: expected a size or a percentage, got {text!r}") from None
    if not (math.isfinite(share) and 0 <= share <= most):  # NaN fails every comparison
        bound = f"within 0-{most:g}%" if math.isfinite(most) else "a finite number, at least 0%"
        raise PagelabError(f"{what}: percentage must be {bound}, got {text!r}")
    return int(whole * share / 100)  # as written: whole * (share / 100) rounds differently


def format_bytes(n: int) -> str:
    """Format bytes with binary units: ``format_bytes(268435456) == '256.0 MiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# Ceiling arithmetic for ints and for polars expressions alike: both spell it the same.
N = TypeVar("N", int, "pl.Expr")


def ceil_div(n: N, divisor: N | int) -> N:
    """``n / divisor`` rounded up, in integers (an Int64 expression stays Int64)."""
    return -((-n) // divisor)


def round_up(n: N, granule: N | int) -> N:
    """``n`` rounded up to a multiple of ``granule``."""
    return ceil_div(n, granule) * granule
