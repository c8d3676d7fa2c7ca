"""Regenerate the scanned datasets (linux_6_1, debian_usr, python_venv, ci_vm_mappings).

Run from the repository root, as root, with the project's virtual environment::

    apt-get install -y linux-source-6.1          # gives /usr/src/linux-source-6.1.tar.xz
    .venv/bin/python datasets/maintenance/make_scanned.py
    .venv/bin/python datasets/maintenance/make_scanned.py linux_6_1    # just one

Each dataset is made by the real command line, exactly as a user would run it:

    pagelab scan --tar /usr/src/linux-source-6.1.tar.xz -o linux_6_1.parquet --name linux_6_1
    pagelab scan /usr -o debian_usr.parquet --name debian_usr
    pagelab scan <venv>/lib/python3.11/site-packages -o python_venv.parquet --name python_venv
    pagelab scan-procs -o ci_vm_mappings.parquet --name ci_vm_mappings

then made smaller without losing anything: files become unique (size, allocated) rows
with a ``count``; mappings are sorted so that their order says nothing about which
process they came from. The scan's Parquet metadata (skip counts, source) is kept and
the date is added. The script prints the numbers the catalog cards record; copy them
into ``catalog.yaml`` (the tests check the cards against the files).

The tarball and the venv give the same files on every run; ``/usr`` and the processes
are a snapshot of the machine the script runs on.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import polars as pl

from pagelab.atomic import atomic_write_parquet
from pagelab.datasets import Dataset, aggregate_files, describe, parquet_metadata

HERE = Path(__file__).resolve().parent.parent  # datasets/, where the Parquet files live
LINUX_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
PAGES = {"4K": 4096, "16K": 16384, "64K": 65536}


def site_packages() -> Path:
    """site-packages of the interpreter running this script (the project's venv)."""
    return Path(sysconfig.get_paths()["purelib"])


def commands() -> dict[str, list[str]]:
    """The ``pagelab`` arguments that scan each dataset (output path added later)."""
    return {
        "linux_6_1": ["scan", "--tar", str(LINUX_TARBALL)],
        "debian_usr": ["scan", "/usr"],
        "python_venv": ["scan", str(site_packages())],
        "ci_vm_mappings": ["scan-procs"],
    }


def scan(name: str, workdir: Path) -> Path:
    """Run the real ``pagelab`` command for ``name``; return the raw Parquet it wrote."""
    raw = workdir / f"{name}.parquet"
    argv = [sys.executable, "-m", "pagelab", *commands()[name], "-o", str(raw), "--name", name]
    print("$ pagelab", " ".join(argv[3:]), file=sys.stderr)
    subprocess.run(argv, check=True)
    return raw


def shrink(raw: Path) -> pl.DataFrame:
    """The shipped table: files aggregated to (size[, allocated], count); mappings sorted."""
    frame = pl.read_parquet(raw)
    if parquet_metadata(raw).get("kind") == "mappings":
        return frame.sort(frame.columns)
    return aggregate_files(frame)


def footprints(path: Path) -> dict[str, int]:
    """Page-cache footprint of every file at 4K/16K/64K: sum of ceil(size/page)*page."""
    frame = pl.read_parquet(path)
    return {
        page: int(frame.select(((pl.col("size") + size - 1) // size * size * pl.col("count")).sum()).item())
        for page, size in PAGES.items()
    }


def report(name: str, path: Path) -> None:
    """Print the card's expected numbers for the shipped file."""
    summary = describe(Dataset(name, parquet_metadata(path)["kind"], "rows", path))
    print(f"{name}: rows {summary.rows}, represented {summary.represented}, "
          f"total_bytes {summary.total_bytes}, median_bytes {summary.median_bytes}")
    if summary.kind == "files":
        for page, footprint in footprints(path).items():
            over = 100 * (footprint / summary.total_bytes - 1)
            print(f"  footprint {page}: {footprint} bytes (+{over:.2f} % over bytes)")


def main(names: list[str]) -> None:
    """Scan, shrink and write each named dataset (all four by default) into datasets/."""
    today = datetime.date.today().isoformat()
    with tempfile.TemporaryDirectory() as workdir:
        for name in names or list(commands()):
            raw = scan(name, Path(workdir))
            metadata = {**parquet_metadata(raw), "collected": today, "command": "pagelab " + " ".join(commands()[name])}
            target = HERE / f"{name}.parquet"
            atomic_write_parquet(shrink(raw), target, metadata)
            target.chmod(0o644)  # the temporary file was private; shipped data is readable
            report(name, target)


if __name__ == "__main__":
    main(sys.argv[1:])
