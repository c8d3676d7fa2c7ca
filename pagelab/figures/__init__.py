"""Paper figures: each is a data function over results rows and a render function.

``FIGURES`` lists them in paper order. A spec's ``data(summary, **inputs)`` turns results
rows (a polars DataFrame or LazyFrame) into the tidy frame that is plotted and saved; its
``render(frame)`` draws a matplotlib Figure (or, for the table, LaTeX text).

Figures read frames only: the results rows and the tables named in a spec's ``inputs``
(the sweep manifest, a model table, a measured census). They never compose a config,
consult the plugin registry or launch a sweep: ``pagelab figures``
(:mod:`pagelab.commands.figures`, :func:`pagelab.commands.figure_build.build_figures`)
reads or runs the sweeps, computes the model tables and hands everything in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    the published marks it draws (see :mod:`pagelab.figures.reference`). ``inputs`` names
    the tables ``data`` takes as keywords besides the rows: ``manifest`` (the sweep
    manifest), ``model`` (a model table the command layer computes from the rows),
    ``measured`` (a measured census, passed only when the user gave one).
    """

    name: str
    title: str
    experiments: tuple[str, ...]
    columns: tuple[str, ...]
    data: Callable[..., pl.DataFrame]
    render: Callable[[pl.DataFrame], Figure | str]
    references: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()

    @property
    def is_table(self) -> bool:
        """True for the LaTeX table (rendered to text, not to PDF/SVG/PNG)."""
        return self.name == table.NAME


def _spec(module: ModuleType, experiments: tuple[str, ...], references: tuple[str, ...] = (),
          inputs: tuple[str, ...] = ()) -> FigureSpec:
    """A spec from a figure module's NAME, TITLE, COLUMNS, data and render."""
    return FigureSpec(module.NAME, module.TITLE, experiments, module.COLUMNS, module.data, module.render, references,
                      inputs)


_MANIFEST = ("manifest",)  # the figures that read the sweep manifest


FIGURES: dict[str, FigureSpec] = {
    s.name: s
    for s in (
        _spec(metadata, ("metadata_vs_ram",), ("article",)),
        _spec(footprint, ("pagecache_bloat",), ("hansen_bloat",), _MANIFEST),
        _spec(crossover, ("crossover",), ("hansen_crossover",), _MANIFEST),
        _spec(hosting, ("hosting_density",), inputs=_MANIFEST),
        _spec(mechanisms, ("hosting_density",), inputs=_MANIFEST),
        _spec(dmem, ("dmem_sizing", "dmem_optimum", "hosting_density"), inputs=_MANIFEST),
        _spec(folios, ("folio_orders",), inputs=("model", "measured")),
        _spec(memdesc_folios, (), inputs=("model",)),
        _spec(filesizes, ()),
        _spec(fleet, ("fleet_overcommit",)),
        _spec(fleet_timeline, ("fleet_overcommit",)),
        _spec(table, ("headline",), inputs=_MANIFEST),
    )
}


__all__ = ["FIGURES", "FigureSpec"]
