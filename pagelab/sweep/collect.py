"""Collect a sweep's per-job results into ``summary.parquet``: lazily, sorted, each job once.

Beside the summary go ``seeds.parquet`` (each configuration over its seeds) and
``manifest.parquet`` (:mod:`pagelab.sweep.manifest`: the defaults, presets and colours of
the summary's strategies and workloads, what figures read instead of composing configs).
The same function runs at the end of every sweep (the Hydra callback, in the parent
process) and behind ``pagelab collect DIR``, for sweeps that ran elsewhere or were killed.
It reads what the jobs left on disk, never what they returned, so it is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from polars._typing import PolarsDataType

from pagelab.atomic import atomic_write_parquet
from pagelab.errors import PagelabError
from pagelab.outputs import MANIFEST, MULTIRUN_YAML, RESULTS, SEEDS, STATUS, SUMMARY
from pagelab.pipeline.metrics import RESULT_SCHEMA
from pagelab.pipeline.status import one_line, read_status
from pagelab.sweep.manifest import sweep_manifest
from pagelab.sweep.seeds import over_seeds

JOB_SCHEMA: dict[str, PolarsDataType] = {
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
    left_out: tuple[str, ...] = ()  # one line per job whose results could not be summarised

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


def _family(dtype: pl.DataType) -> str:
    """Types the scan may unify: every number is one family; Null joins any."""
    if dtype == pl.Null:
        return "null"
    return "number" if dtype.is_numeric() else str(dtype)


def _schema_problem(path: str) -> tuple[dict[str, pl.DataType] | None, str | None]:
    """A results file's schema, or why it is not a pagelab results row."""
    try:
        schema = dict(pl.read_parquet_schema(path))
    except Exception as error:  # polars raises several types for a file that is not Parquet
        return None, f"{path}: not a readable Parquet file ({one_line(error)})"
    for name, dtype in RESULT_SCHEMA.items():
        if name not in schema:
            return None, f"{path}: not a pagelab results row (no column {name!r})"
        if schema[name] != dtype and schema[name] != pl.Null:
            return None, f"{path}: column {name!r} is {schema[name]}, a results row's is {dtype}"
    return schema, None


def _check_schemas(
    finished: pl.DataFrame,
) -> tuple[dict[str, dict[str, pl.DataType]], list[dict[str, pl.DataType]], dict[str, str]]:
    """Each readable results file's schema, the distinct ones among them, and why each other
    file (by job) is left out.

    A parameter column whose type differs between jobs takes the type most jobs have (the
    first job's on a tie); a job with another type is left out and named, so that one odd
    job cannot turn every job's column into text. Jobs of one strategy share a schema:
    each distinct schema is weighed once, with its number of jobs.
    """
    schemas: dict[str, dict[str, pl.DataType]] = {}
    problems: dict[str, str] = {}
    jobs_of: dict[tuple[tuple[str, str], ...], list[str]] = {}  # a schema as text -> its jobs, in order
    for job, path in finished.select("job", "_path").iter_rows():  # one footer per file: I/O, not rows
        schema, problem = _schema_problem(path)
        if problem is not None:
            problems[job] = problem
        else:
            schemas[job] = schema  # type: ignore[assignment]
            jobs_of.setdefault(tuple((name, str(dtype)) for name, dtype in schema.items()), []).append(job)  # type: ignore[union-attr]
    if not schemas:
        return schemas, [], problems
    first = {job: order for order, job in enumerate(schemas)}
    distinct = list(jobs_of.items())
    columns = pl.DataFrame(
        [(index, first[jobs[0]], len(jobs), name, _family(schemas[jobs[0]][name]), dtype)
         for index, (key, jobs) in enumerate(distinct) for name, dtype in key],
        schema={"schema": pl.Int64, "order": pl.Int64, "jobs": pl.Int64, "column": pl.String, "family": pl.String,
                "dtype": pl.String},
        orient="row",
    ).filter(pl.col("family") != "null")
    chosen = (columns.sort("order").group_by("column", "family", maintain_order=True)
              .agg(pl.col("jobs").sum().alias("len"), pl.col("order").min(), pl.col("dtype").first())
              .sort(["column", "len", "order"], descending=[False, True, False]).unique("column", keep="first"))
    odd = (columns.join(chosen.select("column", pl.col("family").alias("want"), pl.col("dtype").alias("want_dtype")),
                        on="column").filter(pl.col("family") != pl.col("want"))
           .sort("order", "column").unique("schema", keep="first", maintain_order=True))
    paths = dict(finished.select("job", "_path").iter_rows())
    left_out = sorted(((job, column, dtype, want)
                       for index, column, dtype, want in odd.select("schema", "column", "dtype", "want_dtype").iter_rows()
                       for job in distinct[index][1]), key=lambda item: first[item[0]])
    for job, column, dtype, want in left_out:
        problems[job] = f"{paths[job]}: column {column!r} is {dtype}, other jobs' is {want}"
        del schemas[job]
    return schemas, [schemas[jobs[0]] for _, jobs in distinct if jobs[0] in schemas], problems


def _read_results(directory: Path, jobs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """Every finished job's results row (with job and state), in job order, and the jobs
    whose results were left out (by job: one line naming the file and what is wrong)."""
    finished = jobs.filter(pl.col("has_results") & pl.col("state").is_in(_FINISHED)).select(
        "job", "state", _path=pl.lit(str(directory) + "/") + pl.col("job") + pl.lit("/" + RESULTS)
    )
    if finished.height == 0:
        return pl.DataFrame(), {}
    schemas, distinct, problems = _check_schemas(finished)
    finished = finished.filter(pl.col("job").is_in(list(schemas)))
    if finished.height == 0:
        return pl.DataFrame(), problems
    paths = finished["_path"].to_list()
    # One scan over all files lets polars read them in parallel; it needs one schema, the
    # union of the files' (footers only), with polars' own rules for numbers and nulls.
    unified = pl.concat([pl.DataFrame(schema=s) for s in distinct], how="diagonal_relaxed").schema
    scan = pl.scan_parquet(
        paths, schema=unified, missing_columns="insert", cast_options=_CASTS, include_file_paths="_path"
    )
    rows = scan.join(finished.lazy().with_row_index("_order"), on="_path", how="inner")
    try:
        frame = rows.sort("_order").collect()
    except pl.exceptions.PolarsError as error:  # a file that changed or broke since its footer was read
        raise PagelabError(f"{directory}: cannot read the jobs' results ({one_line(error)})") from None
    return frame.select(_column_order(frame.columns)), problems


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
    (:func:`pagelab.sweep.seeds.over_seeds`), and ``manifest.parquet`` what figures need to
    read the rows (:func:`pagelab.sweep.manifest.sweep_manifest`). Raises :class:`PagelabError` if ``directory`` is
    not a sweep.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PagelabError(f"{directory}: no such directory")
    if not (directory / MULTIRUN_YAML).exists():
        raise PagelabError(f"{directory}: not a sweep directory (no {MULTIRUN_YAML}; give hydra.sweep.dir)")
    jobs = job_table(directory)
    summary, problems = _read_results(directory, jobs)
    if problems:  # their rows are left out; the jobs count as failed, with the reason
        reasons = pl.DataFrame({"job": list(problems), "_why": list(problems.values())})
        jobs = jobs.join(reasons, on="job", how="left", maintain_order="left").with_columns(
            state=pl.when(pl.col("_why").is_null()).then("state").otherwise(pl.lit("failed")),
            error=pl.coalesce("_why", "error"),
        ).drop("_why")
    seeds = over_seeds(summary, SEED_METRICS) if summary.height else pl.DataFrame()
    if write and summary.height:
        atomic_write_parquet(summary, directory / SUMMARY)
        atomic_write_parquet(seeds, directory / SEEDS)
        atomic_write_parquet(sweep_manifest(summary), directory / MANIFEST)
    return Sweep(directory, jobs, summary, seeds, tuple(problems.values()))
