"""Figure 3: where a larger base page starts to win, against Hansen's "~300 GB"."""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pagelab.figures.common import (
    Summary,
    collect,
    number,
    page_bytes,
    require_columns,
    require_rows,
    seeds_note,
    size_bytes,
    size_label,
)
from pagelab.figures.reference import HANSEN_CROSSOVER_BYTES, HANSEN_DATASETS
from pagelab.figures.style import (
    DOUBLE_WIDTH,
    bytes_axis,
    finish_panels,
    format_bytes_short,
    new_figure,
    shade,
    strategy_colors,
)
from pagelab.sweep.seeds import over_seeds
from pagelab.units import ceil_div

NAME = "crossover"
TITLE = "Struct pages plus page-cache fragmentation against RAM at 4K/16K/64K: where the larger page wins"
COLUMNS = (
    "strategy", "installed_bytes", "memmap_bytes", "internal_frag_bytes",
    "workload.files.dataset", "workload.files.cache", "fits",
)
BASE_PAGE = 4096
_GROUP = ["dataset", "cache", "page_bytes"]


def data(summary: Summary, manifest: pl.DataFrame) -> pl.DataFrame:
    """Overhead per dataset, cache, page size and RAM, plus the RAM where each page size wins.

    overhead = memmap + internal fragmentation, summarised over seeds (mean and 95 %
    interval, null for one seed). A machine too small for the files at a page size
    (fits=false: only part of them was cached) keeps its row, with fits=false, but is no
    point of the curves: fits_from_bytes is the smallest RAM at which the page size fits
    (null if none). Over the RAM at which both fit, crossover_bytes is, for each page size
    above 4K, the smallest RAM at which its mean overhead drops to 4K's, interpolated
    linearly between the two grid points around the sign change (exact, as both overheads
    are linear in RAM for a fixed set of files). crossover_kind says ``crossing``,
    ``always`` (wins already at the smallest RAM where both fit), ``never`` (not within the
    grid) or ``baseline`` (the 4K rows themselves). The same against every smaller page
    size S: ``beats_<S>_from_bytes`` and ``beats_<S>`` (null on rows of S or smaller), so
    16K against 64K is not read off two comparisons with 4K. ``best`` marks, at each RAM,
    the page size with the lowest mean overhead among those that fit.

    ``manifest``: the sweep manifest (each strategy's default base page).
    """
    frame = collect(summary)
    require_columns(frame, COLUMNS, NAME)
    rows = frame.filter(pl.col("workload.files.dataset").is_not_null())
    rows = rows.with_columns(page_bytes=page_bytes(rows, manifest)).filter(pl.col("page_bytes").is_not_null()).with_columns(
        dataset="workload.files.dataset", cache="workload.files.cache",
        overhead_bytes=pl.col("memmap_bytes") + pl.col("internal_frag_bytes"),
    )
    keys = [*_GROUP, "strategy", "installed_bytes"]
    curves = over_seeds(rows, ["overhead_bytes"], by=keys).join(
        rows.group_by(keys).agg(fits=pl.col("fits").all()), on=keys, how="left"
    ).with_columns(
        fits_from_bytes=pl.col("installed_bytes").filter(pl.col("fits")).min().over(_GROUP),
    )
    fitting = curves.filter(pl.col("fits"))
    require_rows(curves.filter(pl.col("page_bytes") == BASE_PAGE), NAME,
                 "runs at 4K pages (base4k) with a files dataset")
    require_rows(curves.filter(pl.col("page_bytes") > BASE_PAGE), NAME,
                 "runs at a larger page size (page16k, page64k) with a files dataset")
    found = _thresholds(fitting, BASE_PAGE).rename({"from_bytes": "crossover_bytes", "kind": "crossover_kind"})
    out = curves.join(found, on=_GROUP, how="left")
    # Every pair, not only against 4K: beats_<S>_from_bytes is where this page size's
    # overhead drops to the smaller page size S's (same rules as crossover_bytes).
    smaller_sizes = sorted(p for p in curves["page_bytes"].unique().to_list() if p < curves["page_bytes"].max())
    pair_columns = []
    for smaller in smaller_sizes:
        label = pl.select(size_label(pl.lit(smaller, dtype=pl.Int64))).item()
        wins = _thresholds(fitting, smaller).rename({"from_bytes": f"beats_{label}_from_bytes", "kind": f"beats_{label}"})
        out = out.join(wins, on=_GROUP, how="left").with_columns(
            pl.when(pl.col("page_bytes") > smaller).then(pl.col(f"beats_{label}").fill_null("never"))
            .alias(f"beats_{label}"))
        pair_columns += [f"beats_{label}_from_bytes", f"beats_{label}"]
    # The best page size at each RAM: the lowest mean overhead among the page sizes that fit there.
    lowest = pl.col("overhead_bytes_mean").filter(pl.col("fits")).min().over("dataset", "cache", "installed_bytes")
    return (
        out.with_columns(
            page_size=size_label(pl.col("page_bytes")),
            crossover_kind=pl.when(pl.col("page_bytes") == BASE_PAGE).then(pl.lit("baseline"))
            .otherwise(pl.col("crossover_kind").fill_null("never")),
            cache_bytes=size_bytes(pl.col("cache")),
            best=pl.col("fits") & (pl.col("overhead_bytes_mean") == lowest),
        )
        .sort("dataset", "cache_bytes", "cache", "page_bytes", "installed_bytes", nulls_last=True)
        .select("dataset", "cache", "strategy", "page_bytes", "page_size", "installed_bytes", "overhead_bytes_mean",
                "overhead_bytes_lo", "overhead_bytes_hi", "seeds", "fits", "fits_from_bytes", "crossover_bytes",
                "crossover_kind", "best", *pair_columns)
    )


def _thresholds(fitting: pl.DataFrame, smaller: int) -> pl.DataFrame:
    """For each (dataset, cache) and page size above ``smaller``: the RAM from which its mean
    overhead is at most ``smaller``'s (``from_bytes``) and how (``kind``: always, crossing, never).

    Over the RAM at which both fit; interpolated linearly between the two grid points around
    the sign change (exact, as both overheads are linear in RAM for a fixed set of files).
    """
    base = fitting.filter(pl.col("page_bytes") == smaller).select(
        "dataset", "cache", "installed_bytes", base_bytes="overhead_bytes_mean"
    )
    larger = fitting.filter(pl.col("page_bytes") > smaller)
    # d > 0 while the larger page costs more; the crossing is where d changes sign.
    diff = (
        larger.join(base, on=["dataset", "cache", "installed_bytes"], how="inner")
        .sort(*_GROUP, "installed_bytes")
        .with_columns(d=pl.col("overhead_bytes_mean") - pl.col("base_bytes"))
        .with_columns(
            prev_d=pl.col("d").shift(1).over(_GROUP, order_by="installed_bytes"),
            prev_x=pl.col("installed_bytes").shift(1).over(_GROUP, order_by="installed_bytes"),
        )
    )
    x0, x1 = pl.col("prev_x").cast(pl.Float64), pl.col("installed_bytes").cast(pl.Float64)
    crossing = pl.when((pl.col("prev_d") > 0) & (pl.col("d") <= 0)).then(
        x0 + (x1 - x0) * pl.col("prev_d") / (pl.col("prev_d") - pl.col("d"))
    )
    found = diff.group_by(_GROUP).agg(
        crossing=crossing.min(),  # the first sign change: the RAM where it starts to win
        first_wins=pl.col("d").sort_by("installed_bytes").first() <= 0,
        first_x=pl.col("installed_bytes").min().cast(pl.Float64),
    )
    return found.select(
        *_GROUP,
        from_bytes=pl.when(pl.col("first_wins")).then(pl.col("first_x")).otherwise(pl.col("crossing")),
        kind=pl.when(pl.col("first_wins")).then(pl.lit("always"))
        .when(pl.col("crossing").is_not_null()).then(pl.lit("crossing"))
        .otherwise(pl.lit("never")),
    )


def render(frame: pl.DataFrame) -> Figure:
    """A panel per (dataset, cache): log-log overhead lines, crossovers and Hansen's 300 GB.

    Points that do not fit are left out of the lines; each panel says below which RAM a
    page size does not fit. Bands show the 95 % interval over seeds when there are several.
    """
    panels = frame.select("dataset", "cache").unique(maintain_order=True).rows()
    smaller_sizes = [c.removeprefix("beats_") for c in frame.columns if c.startswith("beats_")
                     and not c.endswith("_from_bytes")]
    cols = 2 if len(panels) == 4 else min(len(panels), 3)
    nrows = ceil_div(len(panels), cols)
    fig = new_figure(DOUBLE_WIDTH, 0.5 + 2.3 * nrows)
    axes = fig.subplots(nrows, cols, squeeze=False, sharex=True).ravel()
    colours = strategy_colors(frame["strategy"].unique().to_list())
    lo, hi = number(frame["installed_bytes"].min()), number(frame["installed_bytes"].max())
    hansen = bool(set(frame["dataset"].to_list()) & set(HANSEN_DATASETS))
    series = frame.select("page_bytes", "strategy", "page_size").unique(maintain_order=True).sort("page_bytes")
    handles = [Line2D([], [], color=colours[s], marker="o", label=f"{size} pages ({s})")
               for _page, s, size in series.iter_rows()]
    for ax, (dataset, cache) in zip(axes, panels, strict=False):
        part = frame.filter(pl.col("dataset") == dataset, pl.col("cache") == cache)
        drawn = part.filter(pl.col("fits"))
        notes: list[tuple[str, str]] = []
        misfits: dict[int | None, list[str]] = {}
        for (_page, strategy, size), line in part.group_by("page_bytes", "strategy", "page_size", maintain_order=True):
            colour = colours[strategy]
            points = line.filter(pl.col("fits"))
            ax.plot(points["installed_bytes"], points["overhead_bytes_mean"], marker="o", color=colour)
            if points["overhead_bytes_lo"].is_not_null().any():
                ax.fill_between(points["installed_bytes"], points["overhead_bytes_lo"], points["overhead_bytes_hi"],
                                color=colour, alpha=0.15, linewidth=0)
            fits_from = line["fits_from_bytes"][0]
            if line["crossover_kind"][0] in ("crossing", "always"):  # where it beats 4K, on the axis
                ax.axvline(line["crossover_bytes"][0], color=colour, linestyle=":", linewidth=1)
            for smaller in smaller_sizes:  # every pair: "64K beats 16K from ..."
                kind, cross = line[f"beats_{smaller}"][0], line[f"beats_{smaller}_from_bytes"][0]
                if kind in ("crossing", "always") and points.height:
                    at_most = "≤ " if kind == "always" else ""
                    notes.append((shade(colour, 1), f"{size} beats {smaller} from {at_most}{format_bytes_short(number(cross))}"))
                elif kind == "never" and points.height:
                    notes.append((shade(colour, 1), f"{size} never beats {smaller} up to {format_bytes_short(hi)}"))
            if points.height < line.height:  # grouped by threshold: one note line for all sizes
                misfits.setdefault(fits_from, []).append(size)
        notes.insert(0, ("black", f"best: {_best_segments(part)}"))
        for fits_from, sizes in misfits.items():
            where = "never fit" if fits_from is None else f"do not fit below {format_bytes_short(fits_from)}"
            notes.append(("0.25", f"files {where} at {', '.join(sizes)} (left out)"))
        if dataset in HANSEN_DATASETS:  # his "~300 GB" is 64K against 4K for a Linux kernel tree only
            ax.axvline(HANSEN_CROSSOVER_BYTES, color="black", linestyle="--", linewidth=0.9)
        for i, (colour, text) in enumerate(notes):
            ax.text(0.03, 0.97 - 0.085 * i, text, transform=ax.transAxes, color=colour, fontsize=6.5, va="top",
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        bytes_axis(ax, "x", min(lo, HANSEN_CROSSOVER_BYTES) if hansen else lo, hi)
        if drawn.height:
            top = number(drawn["overhead_bytes_hi"].fill_null(drawn["overhead_bytes_mean"]).max())
            bottom = number(drawn["overhead_bytes_lo"].fill_null(drawn["overhead_bytes_mean"]).min())
            bytes_axis(ax, "y", bottom, top)
            # Headroom above the data for the notes, so they never cover a line.
            share = min(0.1 + 0.085 * len(notes), 0.5)
            ax.set_ylim(bottom / 1.5, (top * 1.5) * ((top * 1.5) / (bottom / 1.5)) ** (share / (1 - share)))
        ax.set_title(f"{dataset}, cache={cache}")
        ax.set_xlabel("installed RAM")
        ax.tick_params(axis="x", labelbottom=True)
    finish_panels(axes, len(panels), cols, "memmap + page-cache\nfragmentation")
    if hansen:
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=0.9,
                              label='Hansen: 64K beats 4K at "~300 GB" (his kernel tree)'))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(f"points whose files do not fit the machine are left out; {seeds_note(frame['seeds'])}",
                 fontsize=7)
    return fig


def _best_segments(part: pl.DataFrame) -> str:
    """The best page size along RAM: "4K, 16K from 58.2 GiB, 64K from 1.1 TiB" (each until the next).

    Which size is best comes from the grid points; where one hands over to the next is the
    pair's threshold (``beats_<S>_from_bytes``, interpolated), else the two grid points.
    """
    best = (part.filter(pl.col("best")).group_by("installed_bytes")
            .agg(pl.col("page_size").sort_by("page_bytes").first(), pl.col("page_bytes").sort_by("page_bytes").first())
            .sort("installed_bytes"))
    if best.height == 0:
        return "none fits"
    runs = best.with_columns(run=(pl.col("page_size") != pl.col("page_size").shift(1)).fill_null(True).cum_sum())
    spans = runs.group_by("run", maintain_order=True).agg(
        pl.col("page_size").first(), pl.col("page_bytes").first(),
        lo=pl.col("installed_bytes").min(), hi=pl.col("installed_bytes").max()).rows(named=True)
    if len(spans) == 1:
        return f"{spans[0]['page_size']} at every RAM"
    edges = []  # where span i hands over to span i + 1
    for before, after in zip(spans, spans[1:]):
        column = f"beats_{before['page_size']}_from_bytes"
        rows = part.filter(pl.col("page_size") == after["page_size"])
        at = rows[column][0] if column in part.columns and after["page_bytes"] > before["page_bytes"] else None
        edges.append(format_bytes_short(at) if at is not None
                     else f"{format_bytes_short(before['hi'])}..{format_bytes_short(after['lo'])}")
    texts = [spans[0]["page_size"], *(f"{span['page_size']} from {edge}" for span, edge in zip(spans[1:], edges))]
    return ", ".join(texts)
