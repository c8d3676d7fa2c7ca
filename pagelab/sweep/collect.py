"""Collect a sweep's per-job results into ``summary.parquet``: lazily, sorted, each job once.

The same function runs at the end of every sweep (the Hydra callback, in the parent
process) and behind ``pagelab collect DIR``, for sweeps that ran elsewhere or were killed.
It reads what the jobs left on disk, never what they returned, so it is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pagelab.atomic import atomic_write_parquet
from pagelab.errors import PagelabError
from pagelab.metrics import RESULT_SCHEMA
from pagelab.seeds import over_seeds
from pagelab.sweep import MULTIRUN_YAML, RESULTS, SEEDS, STATUS, SUMMARY
from pagelab.sweep.status import read_status

JOB_SCHEMA: dict[str, pl.DataType] = {
    "job": pl.String,  # the job's directory, relative to the sweep's
    "state": pl.String,  # running | done | failed | unknown (results without a status.json)
    "error": pl.String,
    "started": pl.String,
    "finished": pl.String,
    "duration_s": pl.Float64,
    "config_hash": pl.String,
    "overrides": pl.String,  # space-separated, as typed on the command line
    "has_results": pl.Boolean,
}
# A job's row counts in the summary once it finished, failed or not; an interrupted job's
# results are not trusted.
_FINISHED = ("done", "failed", "unknown")
# Metrics summarised over seeds in seeds.parquet (fits: the share of seeds that fit).
SEED_METRICS = ("fits", "guests", "guest_bytes", "overhead_bytes", "overhead_pct", "free_bytes", "files_cached",
                "file_bytes")


@dataclass(frozen=True)
class Sweep:
    """A collected sweep: one row per job, the results rows of the finished ones, and one
    row per configuration over its seeds."""

    directory: Path
    jobs: pl.DataFrame
    summary: pl.DataFrame
    seeds: pl.DataFrame

    def count(self, state: str) -> int:
        """Number of jobs in ``state``."""
        return self.jobs.filter(pl.col("state") == state).height

    @property
    def failed(self) -> pl.DataFrame:
        """The failed jobs, in job order."""
        return self.jobs.filter(pl.col("state") == "failed")


def find_job_dirs(directory: Path) -> list[Path]:
    """The job folders of a sweep: its subfolders that hold a status or results file.

    Hydra's default ``hydra.sweep.subdir`` is the job number, one level down; hidden
    folders (``.submitit``) and anything deeper (``superseded``) are not jobs.
    """
    return [
        path
        for path in sorted(directory.iterdir())
        if path.is_dir() and not path.name.startswith(".") and ((path / STATUS).exists() or (path / RESULTS).exists())
    ]


def _job_row(directory: Path, job_dir: Path) -> dict[str, object]:
    has_results = (job_dir / RESULTS).exists()
    row: dict[str, object] = {"job": job_dir.relative_to(directory).as_posix(), "has_results": has_results}
    try:
        status = read_status(job_dir)
    except PagelabError as error:
        return {**row, "state": "unknown", "error": str(error)}
    if status is None:
        return {**row, "state": "unknown"}
    return {
        **row,
        "state": status.state,
        "error": status.error,
        "started": status.started,
        "finished": status.finished,
        "duration_s": status.duration_s,
        "config_hash": status.config_hash,
        "overrides": " ".join(status.overrides),
    }


def job_table(directory: Path) -> pl.DataFrame:
    """One row per job directory, sorted by job (numbers numerically)."""
    directory = Path(directory)
    rows = [_job_row(directory, job_dir) for job_dir in find_job_dirs(directory)]
    jobs = pl.DataFrame(rows, schema=JOB_SCHEMA)
    return jobs.sort(pl.col("job").cast(pl.Int64, strict=False), "job", nulls_last=True)


# Parameter columns differ between strategies, and a null parameter is typed Null:
# let the scan widen integers to floats and fill Null columns from the unified schema.
_CASTS = pl.ScanCastOptions(integer_cast=["upcast", "allow-float"], float_cast="upcast")


def _read_results(directory: Path, jobs: pl.DataFrame) -> pl.DataFrame:
    """Every finished job's results row (with job and state), in job order."""
    finished = jobs.filter(pl.col("has_results") & pl.col("state").is_in(_FINISHED)).select(
        "job", "state", _path=pl.lit(str(directory) + "/") + pl.col("job") + pl.lit("/" + RESULTS)
    )
    if finished.height == 0:
        return pl.DataFrame()
    paths = finished["_path"].to_list()
    # One scan over all files lets polars read them in parallel; it needs one schema, the
    # union of the files' (footers only), with polars' own rules for conflicting types.
    schemas = {tuple(pl.read_parquet_schema(path).items()) for path in paths}
    unified = pl.concat([pl.DataFrame(schema=dict(s)) for s in schemas], how="diagonal_relaxed").schema
    scan = pl.scan_parquet(
        paths, schema=unified, missing_columns="insert", cast_options=_CASTS, include_file_paths="_path"
    )
    rows = scan.join(finished.lazy().with_row_index("_order"), on="_path", how="inner")
    try:
        frame = rows.sort("_order").collect()
    except pl.exceptions.SchemaError:  # a column typed as text in one file, numbers in another
        rows_read = pl.concat([pl.read_parquet(path) for path in paths], how="diagonal_relaxed")
        frame = pl.concat([finished.drop("_path"), rows_read], how="horizontal")
    return frame.select(_column_order(frame.columns))


def _column_order(columns: list[str]) -> list[str]:
    """job and state, the fixed results columns, then every parameter column sorted."""
    lead = ["job", "state", *[c for c in RESULT_SCHEMA if c in columns]]
    return lead + sorted(c for c in columns if c not in lead and not c.startswith("_"))


def collect(directory: Path, *, write: bool = True) -> Sweep:
    """Collect the sweep in ``directory``; write ``summary.parquet`` there when asked.

    The summary holds one row per finished job that wrote results (its ``state`` says
    whether it failed afterwards), sorted by job, with stable column order: rewriting it
    from the same jobs gives the same bytes. ``seeds.parquet`` beside it holds one row
    per configuration, with the mean and 95 % interval of each metric over its seeds
    (:func:`pagelab.seeds.over_seeds`). Raises :class:`PagelabError` if ``directory`` is
    not a sweep.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PagelabError(f"{directory}: no such directory")
    if not (directory / MULTIRUN_YAML).exists():
        raise PagelabError(f"{directory}: not a sweep directory (no {MULTIRUN_YAML}; give hydra.sweep.dir)")
    jobs = job_table(directory)
    summary = _read_results(directory, jobs)
    seeds = over_seeds(summary, SEED_METRICS) if summary.height else pl.DataFrame()
    if write and summary.height:
        atomic_write_parquet(summary, directory / SUMMARY)
        atomic_write_parquet(seeds, directory / SEEDS)
    return Sweep(directory, jobs, summary, seeds)
