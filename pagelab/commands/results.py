"""Reading sweep results for the figures: every ``summary.parquet`` under a directory, and its manifest.

Each summary's sweep manifest (``manifest.parquet`` beside it, written by ``pagelab
collect``; :mod:`pagelab.sweep.manifest`) comes with it. A summary collected before
manifests existed has none: its manifest is built here from its rows, with this
installation's configs and plugins (``pagelab collect DIR`` writes it for good).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from pagelab.errors import PagelabError
from pagelab.figures.save import sha256
from pagelab.outputs import MANIFEST, MULTIRUN_YAML, RESULTS, SUMMARY
from pagelab.pipeline.metrics import RESULT_SCHEMA
from pagelab.sweep.manifest import KEYS, sweep_manifest

EXPERIMENT = "experiment"


@dataclass(frozen=True)
class Results:
    """The results rows of every summary found, their sweep manifest, and where each came from.

    ``sources`` go into the figures' ``manifest.json``; ``parts`` (per experiment, when
    generated) are the summaries and ``manifests`` their sweep manifests, kept beside the figures.
    """

    summary: pl.DataFrame
    sources: list[dict[str, object]]
    manifest: pl.DataFrame
    parts: dict[str, pl.DataFrame] = field(default_factory=dict)
    manifests: dict[str, pl.DataFrame] = field(default_factory=dict)


def normalise(frame: pl.DataFrame, experiment: str | None = None) -> pl.DataFrame:
    """Keep the results-row columns (plus ``experiment``) and sort every row deterministically.

    Job and status columns (paths, timings) are dropped: they would change the bytes of
    the outputs between identical runs and no figure reads them. Nested columns (``pools``,
    one entry per node and pool) are kept but are no sort key: the scalar columns already
    order the rows, and polars cannot sort every nested type.
    """
    if experiment is not None and EXPERIMENT not in frame.columns:
        frame = frame.with_columns(pl.lit(experiment).alias(EXPERIMENT))
    keep = [c for c in RESULT_SCHEMA if c in frame.columns]
    keep += sorted(c for c in frame.columns if c.startswith(("strategy.", "workload.")))
    keep += [EXPERIMENT] if EXPERIMENT in frame.columns else []
    frame = frame.select(keep)
    keys = [c for c in keep if not frame.schema[c].is_nested()]
    return frame.sort(keys, nulls_last=True, maintain_order=True)


def _experiment_name(path: Path, root: Path) -> str:
    """The preset a sweep directory ran: Hydra's recorded choice, else the directory's name."""
    multirun = path.parent / MULTIRUN_YAML
    if multirun.exists():
        try:
            cfg = yaml.safe_load(multirun.read_text()) or {}
            choice = cfg.get("hydra", {}).get("runtime", {}).get("choices", {}).get("experiment")
        except (yaml.YAMLError, AttributeError):
            choice = None
        if choice:
            return str(choice)
    relative = path.parent.relative_to(root) if path.parent != root else Path(root.resolve().name)
    return relative.as_posix()


def load_results(root: Path) -> Results:
    """Read ``root/summary.parquet`` or every ``summary.parquet`` below ``root``.

    A ``.parquet`` file may be given directly. Each summary gets an ``experiment`` column
    (its own, Hydra's ``+experiment`` choice, or its directory's name). Raises
    :class:`PagelabError` when nothing usable is found.
    """
    root = Path(root)
    if root.is_file() and root.suffix == ".parquet":
        files, base = [root], root.parent
    elif root.is_dir():
        files = sorted(
            p for p in root.rglob(SUMMARY) if not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        base = root
        if not files:
            hint = " (run `pagelab collect DIR` first)" if next(root.rglob(RESULTS), None) else ""
            raise PagelabError(f"--results {root}: no {SUMMARY} found{hint}")
    else:
        raise PagelabError(f"--results {root}: no such directory")
    frames, sources, manifests = [], [], []
    for path in files:
        try:
            frame = pl.read_parquet(path)
        except Exception as error:  # noqa: BLE001 -- polars raises several types for corrupt files
            raise PagelabError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from None
        if "strategy" not in frame.columns:
            raise PagelabError(f"{path}: not a pagelab summary (no 'strategy' column)")
        name = _experiment_name(path, base)
        frames.append(normalise(frame, name))
        manifests.append(read_manifest(path.parent / MANIFEST, frame))
        sources.append({"path": path.relative_to(base).as_posix() if path != root else path.name,
                        "experiment": name, "rows": frame.height, "sha256": sha256(path)})
    summary = normalise(pl.concat(frames, how="diagonal_relaxed"))
    return Results(summary, sources, merge_manifests(manifests))


def read_manifest(path: Path, summary: pl.DataFrame) -> pl.DataFrame:
    """The sweep manifest at ``path``; built from ``summary`` if the sweep predates manifests."""
    if not path.exists():
        return sweep_manifest(summary)
    try:
        return pl.read_parquet(path)
    except Exception as error:  # noqa: BLE001 -- polars raises several types for corrupt files
        raise PagelabError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]}); "
                           f"`pagelab collect {path.parent}` rewrites it") from None


def merge_manifests(manifests: list[pl.DataFrame]) -> pl.DataFrame:
    """One manifest of several sweeps': each (strategy, workload, preset) once, the first sweep's."""
    if not manifests:
        return pl.DataFrame(schema={k: pl.String for k in KEYS})
    merged = pl.concat(manifests, how="diagonal_relaxed")
    return (merged.unique(["strategy", "workload", "preset"], keep="first", maintain_order=True)
            .sort("strategy", "preset", "workload", nulls_last=False))
