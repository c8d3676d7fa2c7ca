"""One paper style, one palette, byte-unit axes: what every pagelab figure shares.

A strategy's colour follows from its name, except where its plugin declares one: those
declarations come from the sweep manifest's ``colour`` column, handed to :func:`paper_style`.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import matplotlib
import numpy.typing as npt
import polars as pl
from matplotlib import rc_params_from_file
from matplotlib import style as mpl_style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

# Column widths in inches (ACM and IEEE single column, two-column spread).
COLUMN_WIDTH = 3.33
DOUBLE_WIDTH = 7.0

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
# The strategies of the results and the colour each one's plugin declares (None: from its
# name), set by paper_style for the figures drawn inside it.
_DECLARED: ContextVar[Mapping[str, str | None]] = ContextVar("pagelab_declared_colours",
                                                            default=MappingProxyType({}))


def style_path() -> Path:
    """The shipped ``paper.mplstyle``."""
    return Path(str(resources.files("pagelab.figures") / "paper.mplstyle"))


@contextmanager
def paper_style(colours: Mapping[str, str | None] | None = None) -> Iterator[None]:
    """Apply the paper style (and the Agg-safe warning filters) for the duration of the block.

    Rendering and saving must both happen inside: pdf.fonttype and svg.hashsalt are read
    when the file is written. ``colours``: the results' strategies and their plugins'
    declared colours (:func:`declared_colours` of the sweep manifest), for
    :func:`strategy_colors` inside the block.
    """
    token = _DECLARED.set(dict(colours or {}))
    try:
        with mpl_style.context(str(style_path())), warnings.catch_warnings():
            # seaborn 0.13.2 passes copy= to pandas 3, which warns on every call.
            warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
            yield
    finally:
        _DECLARED.reset(token)


def declared_colours(manifest: pl.DataFrame) -> dict[str, str | None]:
    """Each strategy of a sweep manifest and the colour its plugin declares (None: none)."""
    rows = manifest.select("strategy", "colour").unique("strategy", keep="first", maintain_order=True)
    return dict(rows.sort("strategy").iter_rows())


@cache
def palette() -> tuple[str, ...]:
    """The colour-blind-safe palette of the style file, as hex strings."""
    params = rc_params_from_file(str(style_path()), use_default_template=False)
    return tuple(params["axes.prop_cycle"].by_key()["color"])


# Each built-in's palette entry and shade, fixed: the first seven are the colours they had in
# the sorted registry before colours were fixed, so the shipped figures keep their look.
BUILTIN_COLOURS = {
    "base4k": (0, 0), "clustering": (1, 0), "dmemfs": (2, 0), "folio": (3, 0), "hvo": (4, 0),
    "page16k": (5, 0), "page64k": (6, 0), "devdax": (7, 0), "memdesc": (8, 0), "tailpack": (9, 0),
    "thp": (3, 1),  # folio's family, darker: large folios for anonymous memory
}


def strategy_colour(name: str, declared: str | None = None) -> str:
    """A strategy's colour, from nothing but its name (and the colour its plugin declares).

    A built-in has its fixed entry; a plugin's ``StrategySpec.colour`` wins for its own
    strategy; any other name hashes (SHA-256, not Python's salted ``hash``) to a palette
    colour in a darker shade, so that installing a plugin never recolours another strategy.
    """
    colours = palette()
    if declared is not None:
        return matplotlib.colors.to_hex(declared)
    if name in BUILTIN_COLOURS:
        index, rank = BUILTIN_COLOURS[name]
        return shade(colours[index], rank)
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return shade(colours[digest % len(colours)], 1 + (digest // len(colours)) % 2)


def strategy_colors(extra: Iterable[str] = ()) -> dict[str, str]:
    """The colour of every strategy :func:`paper_style` was given (sorted), then of ``extra`` names sorted.

    ``extra``: names the figure draws (a preset's, a foreign plugin's), so a figure never
    fails on a name it was not told of. Each colour is :func:`strategy_colour` of the name
    and its declared colour.
    """
    declared = _DECLARED.get()
    names = sorted(declared) + sorted(set(extra) - set(declared))
    return {name: strategy_colour(name, declared.get(name)) for name in names}


def sequential(n: int) -> list[str]:
    """``n`` colours ordered by lightness (colour-blind safe): for datasets and stack parts."""
    cmap = matplotlib.colormaps["viridis"]
    if n <= 1:
        return [matplotlib.colors.to_hex(cmap(0.25))]
    return [matplotlib.colors.to_hex(cmap(0.05 + 0.8 * i / (n - 1))) for i in range(n)]


def shade(colour: str, rank: int) -> str:
    """The ``rank``-th variant of a strategy's colour: 0 is the colour, later ones darker."""
    rgb = matplotlib.colors.to_rgb(colour)
    factor = 0.72**rank
    red, green, blue = (c * factor for c in rgb)
    return matplotlib.colors.to_hex((red, green, blue))


def new_figure(width: float = COLUMN_WIDTH, height: float = 2.4) -> Figure:
    """A Figure of the given size in inches that pyplot does not track (no global state)."""
    return Figure(figsize=(width, height), layout="constrained")


def format_bytes_short(n: float) -> str:
    """``4194304`` -> ``'4 MiB'``; ``1.5 GiB`` keeps up to three significant digits."""
    if n <= 0:
        return "0 B"
    power = min(int(math.log2(n) // 10), len(_UNITS) - 1)
    value = n / 1024**power
    text = f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.3g}"
    return f"{text} {_UNITS[power]}"


def bytes_axis(ax: Axes, which: str, lo: float, hi: float, max_ticks: int = 6) -> None:
    """Make ``ax``'s ``which`` ("x" or "y") axis log-2 from ``lo`` to ``hi`` bytes.

    Ticks sit at powers of two (a step of 10 exponents gives KiB, MiB, GiB ...) and are
    labelled in binary units.
    """
    first, last = math.floor(math.log2(max(lo, 1))), math.ceil(math.log2(max(hi, 2)))
    # Steps divide 10, so KiB/MiB/GiB boundaries are ticks whenever the range allows.
    step = next(s for s in (1, 2, 5, 10, 20, 30, 60) if (last - first) // s + 1 <= max_ticks)
    ticks = [2.0**e for e in range(first, last + 1) if e % step == 0]
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", base=2)
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: format_bytes_short(value)))


def finish_panels(axes: Sequence[Axes] | npt.NDArray[Any], used: int, cols: int, ylabel: str) -> None:
    """Hide the panels of a grid beyond the ``used`` ones; label the y axes of its first column."""
    for ax in axes[used:]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel(ylabel)
