"""From results (or from nothing) to every figure, its data and one manifest, all or nothing.

The command layer of ``pagelab figures``: it reads the results and their sweep manifests
(:mod:`pagelab.commands.results`), or runs the default sweeps first
(:mod:`pagelab.commands.figure_sweeps`), computes the model figures' tables
(:mod:`pagelab.commands.figure_models`), and hands each figure the frames it names in its
``inputs``. The figures themselves (:mod:`pagelab.figures`) only read those frames.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from pagelab import __version__
from pagelab.atomic import atomic_write_json, atomic_write_parquet
from pagelab.commands.figure_models import MODELS
from pagelab.commands.figure_sweeps import EXPERIMENTS, run_experiments
from pagelab.commands.results import (
    EXPERIMENT,
    Results,
    load_results,
    merge_manifests,
    normalise,
)
from pagelab.errors import PagelabError, WriteError
from pagelab.figures import FIGURES, FigureSpec
from pagelab.figures.common import require_columns
from pagelab.figures.defaults import chosen
from pagelab.figures.reference import references
from pagelab.figures.save import save_data, save_figure, save_text, sha256
from pagelab.figures.style import declared_colours, paper_style, style_path
from pagelab.figures.where import apply_where, parse_where
from pagelab.outputs import MANIFEST as SWEEP_MANIFEST
from pagelab.outputs import SUMMARY
from pagelab.workers import start_workers

MANIFEST = "manifest.json"
SUMMARIES = "summaries"  # where generated sweeps are kept: `--results OUT/summaries` replays them
T = TypeVar("T")


def select(names: Sequence[str] | None, specs: dict[str, FigureSpec]) -> list[FigureSpec]:
    """The specs named in ``names`` (all when empty), in paper order; unknown names raise."""
    if not names:
        return list(specs.values())
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise PagelabError(f"--only: unknown figure {', '.join(unknown)} (choose from {', '.join(specs)})")
    return [s for s in specs.values() if s.name in set(names)]


def rows_for(summary: pl.DataFrame, spec: FigureSpec) -> pl.DataFrame:
    """The rows of the experiments that feed ``spec``; all rows if the results lack them."""
    if EXPERIMENT not in summary.columns:
        return summary
    for experiment in spec.experiments:
        rows = summary.filter(pl.col(EXPERIMENT) == experiment)
        if rows.height:
            return rows
    return summary


def _warm_renderer() -> None:
    """Import what drawing needs beyond this module's imports: seaborn and matplotlib's PDF, SVG
    and PNG backends."""
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_pdf
    import matplotlib.backends.backend_svg  # noqa: F401
    import seaborn  # noqa: F401


class RenderPool:
    """joblib's loky workers that draw the figures, one per core (none on one core).

    Starting them costs each ~2 s of imports (seaborn brings scipy and pandas), so
    :meth:`warm` starts them as soon as a core is free (the last sweep running alone);
    :meth:`map` waits for that, then reuses them (joblib keeps its loky executor).
    """

    def __init__(self, figures: int) -> None:
        from joblib import effective_n_jobs

        self.workers = min(effective_n_jobs(-1), figures)
        self._warming: threading.Thread | None = None

    def warm(self) -> None:
        """Start the workers in the background (once)."""
        if self.workers > 1 and self._warming is None:
            self._warming = start_workers(self.workers, _warm_renderer, name="pagelab-figures-warm")

    def map(self, function: Callable[..., T], calls: Iterable[tuple[object, ...]]) -> Iterator[T]:
        """``function(*args)`` for each of ``calls``, in order, on the workers (or here)."""
        from joblib import Parallel, delayed

        if self.workers < 2:
            return (function(*args) for args in calls)
        if self._warming is not None:
            self._warming.join()
        return iter(Parallel(n_jobs=self.workers, backend="loky", batch_size=1, return_as="generator")(
            delayed(function)(*args) for args in calls))


def _progress(console: Console) -> Progress:
    """A progress bar on the terminal; silent when output is not a TTY."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not console.is_terminal, transient=True)


def generate(specs: list[FigureSpec], console: Console, renderers: RenderPool) -> Results:
    """Run the default sweeps the selected figures need and return their summaries.

    ``renderers`` are warmed up once a core is free (the last sweep running alone).
    """
    needed = sorted({s.experiments[0] for s in specs if s.experiments and s.experiments[0] in EXPERIMENTS})
    ran = run_experiments(needed, console, on_core_free=renderers.warm) if needed else {}
    sources = [
        {
            "path": f"{SUMMARIES}/{name}/{SUMMARY}",
            "experiment": name,
            "rows": outcome.summary.height,
            "failed_jobs": outcome.failed,  # e.g. dmem shortfalls: they still give their row
            "command": shlex.join(["python", "-m", "pagelab", *EXPERIMENTS[name].argv(Path("DIR"))]),
        }
        for name, outcome in ran.items()
    ]
    parts = {name: outcome.summary for name, outcome in ran.items()}
    manifests = {name: outcome.manifest for name, outcome in ran.items()}
    manifest = merge_manifests(list(manifests.values()))
    if not parts:
        return Results(pl.DataFrame(schema={"strategy": pl.String}), sources, manifest)
    summary = normalise(pl.concat(list(parts.values()), how="diagonal_relaxed"))
    return Results(summary, sources, manifest, parts, manifests)


def figure_data(spec: FigureSpec, rows: pl.DataFrame, manifest: pl.DataFrame,
                measured: pl.DataFrame | None = None) -> pl.DataFrame:
    """``spec``'s tidy frame from ``rows``, with the tables its ``inputs`` name."""
    inputs: dict[str, pl.DataFrame] = {}
    if "manifest" in spec.inputs:
        inputs["manifest"] = manifest
    if "model" in spec.inputs:
        inputs["model"] = MODELS[spec.name](rows, measured)
    if "measured" in spec.inputs and measured is not None:
        inputs["measured"] = measured
    return spec.data(rows, **inputs)


def build_figures(
    out: Path,
    *,
    results: Path | None = None,
    only: Sequence[str] | None = None,
    measured: Path | None = None,
    command: str = "pagelab figures",
    console: Console | None = None,
    where: Sequence[str] = (),
) -> dict[str, object]:
    """Write every selected figure (PDF, SVG, PNG, Parquet, CSV), the table and ``manifest.json``.

    With ``results`` (a sweep directory, a folder of them, or a summary.parquet) the
    figures read those rows; without, the default sweeps run first and their summaries are
    kept under ``out/summaries``. Everything is computed and rendered into a staging
    folder before any file reaches ``out``, so bad input leaves ``out`` untouched.
    Returns the manifest.
    """
    console = console or Console(stderr=True)
    measured_frame = _read_measured(measured) if measured is not None else None
    specs = select(only, FIGURES)
    filters = parse_where(where)
    given = load_results(results) if results is not None else None
    renderers = RenderPool(len(specs))
    source = given or generate(specs, console, renderers)
    # Every data function runs before anything is written: a bad summary fails here.
    tables = {}
    with chosen(f.column for f in filters):
        for spec in specs:
            rows = rows_for(source.summary, spec)
            if spec.columns:  # a sweep of another kind: one line, never a degenerate figure
                require_columns(rows, spec.columns, spec.name)
            chosen_rows = apply_where(rows, filters) if filters else rows
            tables[spec.name] = figure_data(spec, chosen_rows, source.manifest, measured_frame)

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise PagelabError(f"--out {out}: exists and is not a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as error:  # read-only, no permission, a file in the way, a full disk
        raise PagelabError(f"--out {out}: cannot write: {error.strerror or error}") from None
    try:
        entries = _render_all(specs, tables, staging, console, renderers, [str(f) for f in filters],
                              colours=declared_colours(source.manifest))
        if given is None:
            _keep_summaries(source, staging)
        manifest = _manifest(specs, tables, entries, source, results=results if given else None,
                             measured=measured, command=command)
        if filters:
            manifest["where"] = [str(f) for f in filters]
        atomic_write_json(manifest, staging / MANIFEST)
        _publish(staging, out)
    except WriteError as error:  # it names a staged file: name --out instead
        raise PagelabError(f"--out {out}: cannot write: {os.strerror(error.errno) if error.errno else error}") from None
    except PagelabError:
        raise
    except OSError as error:  # ENOSPC while rendering, EROFS, EACCES: one line naming --out
        raise PagelabError(f"--out {out}: cannot write: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _read_measured(path: Path) -> pl.DataFrame:
    """Read a measured folio census (Parquet or CSV); validated later by the folio figure."""
    try:
        return pl.read_parquet(path) if Path(path).suffix == ".parquet" else pl.read_csv(path)
    except FileNotFoundError:
        raise PagelabError(f"--measured {path}: no such file") from None
    except Exception as error:  # noqa: BLE001 -- polars raises several types for unreadable files
        raise PagelabError(f"--measured {path}: not readable ({str(error).splitlines()[0]})") from None


def render_one(spec: FigureSpec, frame: pl.DataFrame, staging: Path, where: Sequence[str],
               colours: dict[str, str | None] | None) -> list[Path]:
    """Render ``spec`` from its tidy ``frame`` in the paper style and save its files into ``staging``."""
    stem = staging / spec.name
    with paper_style(colours):
        drawn = spec.render(frame)
        if isinstance(drawn, str):
            paths = [save_text(drawn, stem.with_name(f"{spec.name}.tex"))]
        else:
            if where:  # the figure says which runs it shows when they are not the defaults
                shown = "only runs with " + ", ".join(where)
                drawn.suptitle(f"{drawn.get_suptitle()}; {shown}" if drawn.get_suptitle() else shown,
                               fontsize="small")
            paths = save_figure(drawn, stem)
    return paths + save_data(frame, stem)


def _render_all(specs: list[FigureSpec], tables: dict[str, pl.DataFrame], staging: Path,
                console: Console, renderers: RenderPool, where: Sequence[str] = (),
                colours: dict[str, str | None] | None = None) -> dict[str, list[Path]]:
    """Render and save every figure (with the plugins' declared ``colours``); return each one's files.

    Figures are independent and drawing is most of the time (a PDF embeds and subsets its
    fonts, every format lays the figure out again): they render on ``renderers``. Each
    output depends on its figure alone, so the bytes are the same as one after another in
    this process (tests/test_figures.py compares them).
    """
    entries: dict[str, list[Path]] = {}
    with _progress(console) as progress:
        task = progress.add_task("figures", total=len(specs))
        rendered = renderers.map(render_one, [(spec, tables[spec.name], staging, where, colours) for spec in specs])
        for spec, paths in zip(specs, rendered, strict=True):
            entries[spec.name] = paths
            progress.advance(task)
    return entries


def _keep_summaries(source: Results, staging: Path) -> None:
    """Write each generated experiment's summary and sweep manifest so a later run can replay
    them with --results."""
    for entry in source.sources:
        path = staging / str(entry["path"])
        experiment = str(entry["experiment"])
        atomic_write_parquet(source.parts[experiment], path)
        atomic_write_parquet(source.manifests[experiment], path.with_name(SWEEP_MANIFEST))
        entry["sha256"] = sha256(path)


def _manifest(
    specs: list[FigureSpec],
    tables: dict[str, pl.DataFrame],
    entries: dict[str, list[Path]],
    source: Results,
    *,
    results: Path | None,
    measured: Path | None,
    command: str,
) -> dict[str, object]:
    """Version, command, the results the figures came from, and every output's SHA-256.

    No timestamps and no temporary paths: the same command on the same results gives the
    same bytes.
    """
    figures = []
    for spec in specs:
        figures.append({
            "name": spec.name,
            "title": spec.title,
            "experiments": list(spec.experiments),
            "rows": tables[spec.name].height,
            "files": {p.name: sha256(p) for p in entries[spec.name]},
            "references": references(*spec.references),
        })
    return {
        "pagelab_version": __version__,
        "command": command,
        "results": {
            "mode": "given" if results is not None else "generated",
            "path": str(results) if results is not None else SUMMARIES,
            "summaries": source.sources,
        },
        "measured": {"path": str(measured), "sha256": sha256(Path(measured))} if measured else None,
        "style": {"file": style_path().name, "sha256": sha256(style_path())},
        "software": {name: version(name) for name in ("matplotlib", "seaborn", "polars", "pyarrow")},
        "figures": figures,
    }


def _publish(staging: Path, out: Path) -> None:
    """Move every staged file into ``out`` (each rename atomic), the manifest last."""
    files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != MANIFEST)
    for path in [*files, staging / MANIFEST]:
        target = out / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

