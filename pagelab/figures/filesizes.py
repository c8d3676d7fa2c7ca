"""Figure 7: file-size distributions of every files dataset, as the surveys present them.

Drawn from the datasets themselves, not from results rows: no run, fitting or not, enters it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from pagelab import datasets
from pagelab.errors import PagelabError
from pagelab.figures.common import Summary, collect, number
from pagelab.figures.style import DOUBLE_WIDTH, bytes_axis, new_figure, sequential

NAME = "filesizes"
TITLE = "File-size distributions: cumulative share of files and of bytes against size (log x)"
COLUMNS: tuple[str, ...] = ()  # datasets come from the catalog (and any the results name)
SEED = 0  # the default seed: the same expansion the runs use
PAGE_SIZES = {"4K": 4096, "16K": 16384, "64K": 65536, "2M": 2 << 20}


def files_datasets(summary: Summary) -> list[str]:
    """Every ``files`` dataset of the catalog, plus dataset files named in the results that exist."""
    names = [name for name, card in datasets.catalog().items() if card["kind"] == "files"]
    frame = collect(summary)
    if "workload.files.dataset" in frame.columns:
        named = frame["workload.files.dataset"].drop_nulls().unique().sort().to_list()
        names += [n for n in named if n not in names and Path(n).expanduser().exists()]
    return names


def cdf(files: pl.DataFrame) -> pl.DataFrame:
    """Cumulative share of files and of bytes at each power of two (size <= 2**k).

    ``files`` has ``size`` and ``count``. Powers of two are exact bucket edges of the
    published histograms, so no synthetic in-bucket sizes show. Columns: size_bytes,
    files_pct, bytes_pct.
    """
    top = max(int(number(files["size"].max())), 1)
    powers = [1 << k for k in range((top - 1).bit_length() + 1)]
    grid = pl.DataFrame({"size_bytes": powers}, schema={"size_bytes": pl.Int64})
    # join_asof "forward": the smallest power of two >= size (exact integer arithmetic).
    bucketed = (
        files.select(pl.col("size").cast(pl.Int64), pl.col("count").cast(pl.Int64))
        .sort("size")
        .join_asof(grid, left_on="size", right_on="size_bytes", strategy="forward")
        .group_by("size_bytes")
        .agg(files=pl.col("count").sum(), bytes=(pl.col("size") * pl.col("count")).sum())
    )
    return (
        grid.join(bucketed, on="size_bytes", how="left")
        .fill_null(0)
        .sort("size_bytes")
        .select(
            "size_bytes",
            files_pct=100 * pl.col("files").cum_sum() / pl.col("files").sum(),
            bytes_pct=100 * pl.col("bytes").cum_sum() / pl.col("bytes").sum(),
        )
    )


def data(summary: Summary, names: list[str] | None = None) -> pl.DataFrame:
    """The CDFs of every files dataset (or of ``names``), long format.

    Columns: dataset, measure (files | bytes), size_bytes, cum_pct.
    """
    parts = []
    for name in names if names is not None else files_datasets(summary):  # one per dataset
        table = datasets.all_files(datasets.resolve(name, "files", "files dataset"), SEED)
        parts.append(cdf(table).with_columns(dataset=pl.lit(name)))
    if not parts:
        raise PagelabError(f"figure {NAME}: no files dataset in the catalog or the results")
    return (
        pl.concat(parts)
        .unpivot(on=["files_pct", "bytes_pct"], index=["dataset", "size_bytes"], variable_name="measure",
                 value_name="cum_pct")
        .with_columns(measure=pl.col("measure").str.replace("_pct", ""))
        .sort("dataset", pl.col("measure") == "bytes", "size_bytes")
        .select("dataset", "measure", "size_bytes", "cum_pct")
    )


def render(frame: pl.DataFrame) -> Figure:
    """Two panels, share of files and share of bytes; a line per dataset; page sizes marked."""
    fig = new_figure(DOUBLE_WIDTH, 2.9)
    axes = fig.subplots(1, 2, sharey=True)
    names = frame["dataset"].unique(maintain_order=True).to_list()
    colours = dict(zip(names, sequential(len(names)), strict=True))
    markers = dict(zip(names, ["o", "s", "^", "D", "v", "P", "X"] * (len(names) // 7 + 1), strict=False))
    for ax, (measure, title) in zip(axes, (("files", "files"), ("bytes", "bytes (space)")), strict=True):
        part = frame.filter(pl.col("measure") == measure)
        for (dataset,), line in part.group_by("dataset", maintain_order=True):
            ax.plot(line["size_bytes"], line["cum_pct"], color=colours[dataset], marker=markers[dataset],
                    markersize=2.5, label=dataset)
        for label, size in PAGE_SIZES.items():
            ax.axvline(size, color="0.6", linewidth=0.6, zorder=0)
            # Labels where the curves are not: low for files (curves rise early), high for bytes.
            y, va = (2, "bottom") if measure == "files" else (98, "top")
            ax.text(size * 1.15, y, label, rotation=90, ha="left", va=va, fontsize=6, color="0.35")
        bytes_axis(ax, "x", number(frame["size_bytes"].min()), number(frame["size_bytes"].max()))
        ax.set_ylim(0, 100)
        ax.set_title(f"cumulative share of {title}")
        ax.set_xlabel("file size (at most)")
    axes[0].set_ylabel("cumulative share (%)")
    # Below the panels: inside, a legend would cover some dataset's curve at some size.
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=min(len(names), 5))
    return fig
