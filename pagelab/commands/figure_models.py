"""The model tables of the model figures, computed where the models may be run: the command layer.

Figures read frames only (:mod:`pagelab.figures`); the folio census figure needs the
readahead model's census, and the memdesc figure the installed ``memdesc`` strategy's
metadata. :data:`MODELS` computes each one's ``model`` table from the rows the figure is
drawn from (and the measured census, if any); :func:`pagelab.commands.figure_build.build_figures`
hands it to the figure's ``data``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import polars as pl

from pagelab.allocator import REQUEST_SCHEMA, Machine, per_node
from pagelab.errors import PagelabError
from pagelab.figures import folios, memdesc_folios
from pagelab.models.readahead import folio_census
from pagelab.strategies.registry import installed_strategies

_MACHINE = Machine.even(1 << 30, thp="never")  # one node; page cache is never THP-mapped


def folio_params(rows: pl.DataFrame, measured: pl.DataFrame | None = None) -> dict[str, int]:
    """read_ahead_kb and max_order: the measurement's read_ahead_kb, else the folio runs' values
    if all agree, else the folio plugin's defaults."""
    spec = installed_strategies().get("folio")
    defaults = dataclasses.asdict(spec.spec.params()) if spec else {}
    params = {"read_ahead_kb": int(defaults.get("read_ahead_kb", 128)), "max_order": int(defaults.get("max_order", 9))}
    folio = rows.filter(pl.col("strategy") == "folio") if "strategy" in rows.columns else rows.clear()
    for key in params:
        column = f"strategy.{key}"
        if folio.height and column in folio.columns and folio[column].n_unique() == 1:
            params[key] = int(folio[column][0])
    if measured is not None and "read_ahead_kb" in measured.columns:
        values = measured["read_ahead_kb"].drop_nulls().unique()
        if values.len() == 1:  # draw the model for the device that was measured
            params["read_ahead_kb"] = int(values[0])
    return params


def folio_model(rows: pl.DataFrame, measured: pl.DataFrame | None = None) -> pl.DataFrame:
    """The readahead census of :data:`folios.SIZES` per read() size, and tmpfs (read_size null).

    The read() sizes are the figure's and the measurement's (:func:`folios.check_measured`).
    """
    params = folio_params(rows, measured)
    read_sizes = set(folios.READ_SIZES)
    if measured is not None:
        read_sizes |= set(folios.check_measured(measured)["read_size"].drop_nulls().to_list())
    sizes = pl.Series("size_bytes", folios.SIZES)
    parts = []
    for read_size in sorted(read_sizes):  # one vectorised census per read() size
        census = folio_census(sizes, read_size=read_size, read_ahead_kb=params["read_ahead_kb"],
                              max_order=params["max_order"])
        parts.append(pl.DataFrame({"size_bytes": sizes, "folios": census["folios"]})
                     .with_columns(read_size=pl.lit(read_size, pl.Int64)))
    tmpfs = folio_census(sizes, max_order=params["max_order"], eof="round_up")
    parts.append(pl.DataFrame({"size_bytes": sizes, "folios": tmpfs["folios"]})
                 .with_columns(read_size=pl.lit(None, pl.Int64)))
    return pl.concat([p.select(folios.MODEL_COLUMNS) for p in parts])


def _per_page(strategy: str, sizes: pl.Series, **params: object) -> pl.Series:
    """Metadata bytes per 4 KiB page of each file: struct pages plus the strategy's descriptors."""
    registered = installed_strategies().get(strategy)
    if registered is None:
        raise PagelabError(f"figure {memdesc_folios.NAME}: strategy {strategy!r} is not installed")
    spec = registered.spec
    allocate = spec.factory(dataclasses.replace(spec.params(), **params))
    files = pl.DataFrame({"kind": "file", "bytes": sizes, "count": 1, "node": 0}, schema=REQUEST_SCHEMA)
    allocation = allocate(_MACHINE, files)
    struct_page = sum(per_node(allocation.memmap_bytes, _MACHINE)) // allocation.struct_pages  # per 4 KiB page
    table = allocation.requests
    descriptors = table["descriptor_bytes"] if "descriptor_bytes" in table.columns else pl.Series([0] * table.height)
    pages = -(-sizes // 4096)
    return ((pages * struct_page + descriptors) / pages).cast(pl.Float64)


def memdesc_model(rows: pl.DataFrame, measured: pl.DataFrame | None = None) -> pl.DataFrame:
    """base4k's and memdesc's (per variant and read() size) metadata per 4 KiB page cached, per file size.

    Neither the rows nor a measurement enter it: it runs the installed strategies.
    """
    sizes = pl.Series("size_bytes", memdesc_folios.SIZES)
    parts = [pl.DataFrame({"size_bytes": sizes, "bytes_per_page": _per_page("base4k", sizes)}).with_columns(
        variant=pl.lit(None, pl.String), read_size=pl.lit(None, pl.Int64))]
    for variant in memdesc_folios.VARIANTS:
        for read_size in memdesc_folios.READ_SIZES:
            per_page = _per_page("memdesc", sizes, variant=variant, read_size=str(read_size))
            parts.append(pl.DataFrame({"size_bytes": sizes, "bytes_per_page": per_page}).with_columns(
                variant=pl.lit(variant), read_size=pl.lit(read_size, pl.Int64)))
    return pl.concat([p.select(memdesc_folios.MODEL_COLUMNS) for p in parts])


# The model figures, by name: rows and a measured census (or None) -> the figure's model table.
MODELS: dict[str, Callable[[pl.DataFrame, pl.DataFrame | None], pl.DataFrame]] = {
    folios.NAME: folio_model,
    memdesc_folios.NAME: memdesc_model,
}
