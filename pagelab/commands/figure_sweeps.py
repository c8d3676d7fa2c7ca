"""The small default sweeps behind ``pagelab figures`` when no results are given (command layer).

Each experiment is a sweep preset of ``conf/experiment`` run as a real multirun
(``python -m pagelab -m +experiment=NAME ...``) with overrides that shrink it to what its
figure needs, or that point it at the figure's question (see each entry's comment). The
table's sweep (every strategy at the defaults of every workload) needs no preset. Each
sweep's collect writes its summary and its sweep manifest, which the figures then read.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pagelab.commands.results import normalise, read_manifest
from pagelab.commands.series import CLAIM, EXIT
from pagelab.errors import PagelabError
from pagelab.outputs import MANIFEST, RESULTS, SUMMARY
from pagelab.strategies.registry import installed_strategies

HOSTING_SEEDS = 20
DMEM_SEEDS = 10
DMEM_SHARES_GIB = (4, 6, 8, 10, 11, 12, 13, 14, 16, 24)


def _plugins() -> str:
    """Every installed strategy (not the presets such as page2m): one line or bar each."""
    return ",".join(installed_strategies())


@dataclass(frozen=True)
class Experiment:
    """A default sweep: a preset (None: a plain multirun) and the overrides it runs with."""

    name: str
    preset: str | None
    overrides: Callable[[], list[str]]

    def argv(self, sweep_dir: Path) -> list[str]:
        """The ``python -m pagelab`` arguments of this sweep."""
        preset = [f"+experiment={self.preset}"] if self.preset else []
        return ["-m", *preset, *self.overrides(), f"hydra.sweep.dir={sweep_dir}"]


# In the order the sweeps start: the longest first, so that the last one to end is short
# (their model time: python benchmarks/figures_floor.py).
EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        # The table: every strategy at the defaults of every shipped workload.
        Experiment("headline", None, lambda: [
            f"strategy={_plugins()}", "workload=pc1991,laptop,hosting,pagecache", "hydra/launcher=batch",
        ]),
        # Every strategy and preset on the default VM mix at the workload's dmem=, 20 seeds.
        Experiment("hosting_density", "hosting_density", lambda: [
            "workload.guests.dataset=azure_2017", f"seed=range(0,{HOSTING_SEEDS})",
        ]),
        # The carve-out sweep on the default VM mix: dmemfs (2M and 1G dpages) and hvo with
        # its pool reserved at boot (hvo_boot) over the kernel's share per node, base4k as
        # the reference (it ignores dmem=).
        Experiment("dmem_sizing", "dmem_optimum", lambda: [
            "strategy=base4k,dmemfs,dmemfs_1g,hvo_boot", "workload.guests.dataset=azure_2017",
            "workload.dmem=" + ",".join(f"'!{n}G'" for n in DMEM_SHARES_GIB), f"seed=range(0,{DMEM_SEEDS})",
        ]),
        # Issue 14: base4k, dmemfs, hvo x overcommit 1.0-2.0 on a 50-host azure_2017 fleet over a
        # month, shrunk to 3 seeds (the preset runs 10) to keep `pagelab figures` quick.
        Experiment("fleet_overcommit", "fleet_overcommit", lambda: ["seed=range(0,3)"]),
        # The article's numbers: the 1991 PC is flatmem (a 4 MiB sparse machine would pay a
        # whole 128 MiB section's memmap), the sizes include 16 GiB and 320 GiB.
        Experiment("metadata_vs_ram", "metadata_vs_ram", lambda: [
            f"strategy={_plugins()}", "workload.memory_model=flatmem",
            "workload.installed=4M,64M,1G,16G,320G,4T",
        ]),
        # As shipped: every file of each dataset cached (cache=all), the RAM grows.
        Experiment("crossover", "crossover", list),
        # As shipped: every files dataset cached on a 64 TiB machine, at 4K/16K/64K/2M pages and folios.
        Experiment("pagecache_bloat", "pagecache_bloat", list),
    )
}


def preset_exists(name: str) -> bool:
    """True if ``conf/experiment/<name>.yaml`` ships with this installation."""
    return (resources.files("pagelab.conf") / "experiment" / f"{name}.yaml").is_file()


def _jobs_done(sweep_dir: Path) -> int:
    return sum(1 for _ in sweep_dir.glob(f"*/{RESULTS}")) if sweep_dir.is_dir() else 0


@dataclass(frozen=True)
class Ran:
    """One default sweep's outcome: its normalised summary, its sweep manifest, its failed jobs."""

    summary: pl.DataFrame
    manifest: pl.DataFrame
    failed: int


def run_experiments(names: list[str], console: Console, on_core_free: Callable[[], None] | None = None
                    ) -> dict[str, Ran]:
    """Run the named sweeps on every core; return each one's outcome.

    One series process per core (:mod:`pagelab.commands.series`, at most one per sweep),
    each running its jobs in its own process (``hydra.launcher.n_jobs=1``), takes the next
    unclaimed sweep, the longest first: a sweep's serial parts (composing its bases,
    collecting) run beside another sweep's jobs instead of leaving a core idle, and
    Python, the imports and the datasets load once per process. The results do not depend
    on how jobs are spread (the batch launcher's tests). Progress shows on a terminal
    only. ``on_core_free`` is called once, when the first series ends while another still
    runs. Raises :class:`PagelabError` if a preset is missing or a sweep fails as a whole
    (failed jobs, such as a dmem shortfall, still give rows).
    """
    experiments = [e for name, e in EXPERIMENTS.items() if name in names]  # the longest first
    for e in experiments:
        if e.preset and not preset_exists(e.preset):
            raise PagelabError(f"sweep preset conf/experiment/{e.preset}.yaml is not installed")
    processes = max(1, min(os.cpu_count() or 1, len(experiments)))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("HYDRA_FULL_ERROR", None)
    if processes > 1:  # a core each: polars' pool would spin a thread per core in every process
        env.setdefault("POLARS_MAX_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="pagelab-figures-") as tmp, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, disable=not console.is_terminal, transient=True,
    ) as progress:
        folder = Path(tmp)
        in_process = ["hydra.launcher.n_jobs=1"] if processes > 1 else []
        specs = [f"{e.name}={shlex.join([*e.argv(folder / e.name), *in_process])}" for e in experiments]
        series = []
        for number in range(processes):
            # stderr to a file: a pipe nobody reads could fill up and stall the sweeps.
            # Each in its own process group, with its loky workers: Ctrl-C comes to this
            # process, which stops a whole group at once (no worker left writing into tmp).
            with open(folder / f"sweeps-{number}.stderr", "w") as log:
                series.append(subprocess.Popen([sys.executable, "-m", "pagelab.commands.series", *specs], cwd=tmp,
                                               env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
                                               start_new_session=True))
        task = progress.add_task("sweeps", total=None)
        finished = False
        try:
            while (alive := sum(process.poll() is None for process in series)):
                if on_core_free is not None and alive < len(series):
                    on_core_free()
                    on_core_free = None
                time.sleep(0.2)
                running = [e.name for e in experiments if (folder / f"{e.name}{CLAIM}").exists()
                           and not (folder / f"{e.name}{EXIT}").exists()]
                progress.update(task, description="sweeps " + ", ".join(
                    f"{name}: {_jobs_done(folder / name)} jobs" for name in running))
            finished = True
        finally:
            if not finished:  # interrupted: stop the sweeps too, workers included
                for process in series:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        stderr = "".join((folder / f"sweeps-{number}.stderr").read_text() for number in range(processes))
        ran: dict[str, Ran] = {}
        for e in (EXPERIMENTS[name] for name in names):
            # A sweep with failed jobs exits non-zero but still writes its summary (a dmem
            # shortfall is a result: the cliff); only a sweep without one has failed.
            if not (folder / e.name / SUMMARY).exists():
                raise PagelabError(f"sweep {e.name} failed: {_reason(_section(stderr, e.name))}")
            summary = pl.read_parquet(folder / e.name / SUMMARY)
            failed = summary.filter(pl.col("state") == "failed").height if "state" in summary.columns else 0
            ran[e.name] = Ran(normalise(summary, e.name), read_manifest(folder / e.name / MANIFEST, summary), failed)
    return ran


def _section(stderr: str, name: str) -> str:
    """What the sweep ``name`` wrote to the series' stderr."""
    _, _, after = stderr.partition(f"== sweep {name}\n")
    return after.split("\n== sweep ", 1)[0]


def _reason(stderr: str) -> str:
    """The line of a failed sweep's stderr that says why: the last error line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1]
