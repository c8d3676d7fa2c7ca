"""Shared helpers of the benchmarks: timing commands, medians, the machine they ran on."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Row:
    """One row of the table: a measured ratio against its baseline, side by side in one run."""

    name: str
    measured_s: float  # what pagelab takes (median)
    baseline_s: float  # what it is compared with (median)
    ratio: float
    budget: float  # the bound on the ratio
    repeats: int
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        """Whether the ratio is within its budget."""
        return self.ratio <= self.budget

    def to_json(self) -> dict[str, object]:
        """The row as JSON values."""
        return {**asdict(self), "met": self.met}


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def run(command: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``command``; return its wall time in seconds and its result."""
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    environment.update(env or {})
    tic = time.perf_counter()
    result = subprocess.run(list(command), cwd=cwd, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - tic
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return wall, result


def alternate(first: Callable[[int], float], second: Callable[[int], float], repeats: int) -> tuple[list[float], list[float]]:
    """Time two things side by side, alternating, after one warm-up each; both lists of seconds."""
    first(-1)
    second(-1)
    a, b = [], []
    for n in range(repeats):
        a.append(first(n))
        b.append(second(n))
    return a, b


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True,
                               check=False).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {p: version(p) for p in ("polars", "hydra-core", "joblib", "numpy", "pyarrow")},
        "commit": commit + (" with uncommitted changes" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
