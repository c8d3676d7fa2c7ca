"""Paper figures: each is a data function over results rows and a render function.

``FIGURES`` lists them in paper order. A spec's ``data(summary)`` turns results rows (a
polars DataFrame or LazyFrame) into the tidy frame that is plotted and saved; its
``render(frame)`` draws a matplotlib Figure (or, for the table, LaTeX text).
``pagelab figures`` (:mod:`pagelab.commands.figures`) runs them all; see
:func:`pagelab.figures.build.build_figures`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from types import ModuleType

import polars as pl
from matplotlib.figure import Figure

from pagelab.figures import (
    crossover,
    dmem,
    filesizes,
    fleet,
    fleet_timeline,
    folios,
    footprint,
    hosting,
    mechanisms,
    memdesc_folios,
    metadata,
    table,
)


@dataclass(frozen=True)
class FigureSpec:
    """One output of ``pagelab figures``.

    ``experiments`` names the default sweeps that feed it, preferred first (rows of other
    experiments are used only if none of these are in the results); ``references`` names
    the published marks it draws (see :mod:`pagelab.figures.reference`).
    """

    name: str
    title: str
    experiments: tuple[str, ...]
    columns: tuple[str, ...]
    data: Callable[[pl.DataFrame], pl.DataFrame]
    render: Callable[[pl.DataFrame], Figure | str]
    references: tuple[str, ...] = ()

    @property
    def is_table(self) -> bool:
        """True for the LaTeX table (rendered to text, not to PDF/SVG/PNG)."""
        return self.name == table.NAME


def _spec(module: ModuleType, experiments: tuple[str, ...], references: tuple[str, ...] = ()) -> FigureSpec:
    """A spec from a figure module's NAME, TITLE, COLUMNS, data and render."""
    return FigureSpec(module.NAME, module.TITLE, experiments, module.COLUMNS, module.data, module.render, references)


FIGURES: dict[str, FigureSpec] = {
    s.name: s
    for s in (
        _spec(metadata, ("metadata_vs_ram",), ("article",)),
        _spec(footprint, ("pagecache_bloat",), ("hansen_bloat",)),
        _spec(crossover, ("crossover",), ("hansen_crossover",)),
        _spec(hosting, ("hosting_density",)),
        _spec(mechanisms, ("hosting_density",)),
        _spec(dmem, ("dmem_sizing", "dmem_optimum", "hosting_density")),
        _spec(folios, ("folio_orders",)),
        _spec(memdesc_folios, ()),
        _spec(filesizes, ()),
        _spec(fleet, ("fleet_overcommit",)),
        _spec(fleet_timeline, ("fleet_overcommit",)),
        _spec(table, ("headline",)),
    )
}


def figure_specs(measured: pl.DataFrame | None = None) -> dict[str, FigureSpec]:
    """The figures, with a measured folio census (from ``pagelab measure``) bound to figure 6."""
    if measured is None:
        return dict(FIGURES)
    specs = dict(FIGURES)
    specs[folios.NAME] = replace(specs[folios.NAME], data=partial(folios.data, measured=measured))
    return specs


__all__ = ["FIGURES", "FigureSpec", "figure_specs"]
