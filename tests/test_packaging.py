"""A normal wheel install works from any directory, the repository root included (Hydra's
installed-app test pattern): built without warnings, installed into a fresh venv, run from there.

Offline: the wheel is built without build isolation (setuptools from the test environment),
and the fresh venv reuses the test environment's dependencies through a .pth file (pagelab
itself comes from the wheel only). ``-m "not packaging"`` skips it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import polars as pl
import pytest

from .conftest import ROOT

pytestmark = pytest.mark.packaging

# What a source tree holds besides the package: environments, outputs, caches, old builds.
TOP_LEVEL_JUNK = {".git", ".venv", "build", "dist", "outputs", "multirun", "figures", ".pytest_cache", ".hypothesis"}
ANYWHERE = shutil.ignore_patterns("*.egg-info", "__pycache__", "*.tmp")


def ignore(folder: str, names: list[str]) -> set[str]:
    junk = set(ANYWHERE(folder, names))
    return junk | (TOP_LEVEL_JUNK & set(names)) if Path(folder) == ROOT else junk


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """(the wheel, the build's output), built from a clean copy of the source tree."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=ignore)
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it cannot byte-compile: not ours to judge.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                             "-w", str(work / "dist"), str(source)], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (work / "dist").glob("pagelab-*.whl")
    return wheel, result.stdout + result.stderr


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (no editable link to the repository)."""
    wheel, _ = built
    home = tmp_path_factory.mktemp("venv") / "wv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    python = home / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    # The test environment's packages, for the dependencies; its own pagelab is an editable
    # finder that only its .pth files activate, and a path listed in a .pth has its .pth files ignored.
    ours = sysconfig.get_paths()["purelib"]
    (purelib / "zz_test_dependencies.pth").write_text(ours + "\n")
    return home


def run_in(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR", "PAGELAB_PLUGINS")}
    return subprocess.run([str(venv / "bin" / "python"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_build_prints_no_setuptools_warnings(built):
    _, output = built
    flagged = [line for line in output.splitlines()
               if "warn" in line.lower() or "deprecated" in line.lower() or "absent from the `packages`" in line]
    assert flagged == []


def test_the_wheel_holds_the_packages_and_configs_but_no_maintenance_scripts(built):
    wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    assert "pagelab/testing/conformance.py" in names and "pagelab/conf/config.yaml" in names
    assert "pagelab/conf/strategy/page2m.yaml" in names and "pagelab_plugins/base4k.py" in names
    assert "pagelab_datasets/catalog.yaml" in names
    assert not [n for n in names if "maintenance" in n or "make_scanned" in n or "convert_published" in n]


@pytest.mark.parametrize("where", ["repository root", "elsewhere"])
def test_an_installed_wheel_runs_from_any_directory(venv, tmp_path, where):
    cwd = ROOT if where == "repository root" else tmp_path
    run_dir = tmp_path / "run"
    result = run_in(venv, cwd, "-m", "pagelab", "strategy=base4k", "workload=pc1991", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr
    row = pl.read_parquet(run_dir / "results.parquet").row(0, named=True)
    assert row["struct_pages"] == 1024 and row["memmap_bytes"] == 1024 * 64  # the article's 1991 PC: 4 MiB / 4 KiB
    listed = run_in(venv, cwd, "-m", "pagelab", "plugins")
    assert listed.returncode == 0 and "base4k: pagelab 0.1.0 (built-in)" in listed.stdout


def test_the_installed_package_is_the_wheel_not_the_checkout(venv, tmp_path):
    where = run_in(venv, tmp_path, "-c", "import pagelab, pagelab.conf, pagelab_plugins; print(pagelab.__file__); "
                                         "print(pagelab.conf.__file__); print(pagelab_plugins.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(str(venv) in line for line in where.stdout.splitlines())
    script = subprocess.run([str(venv / "bin" / "pagelab"), "new-strategy", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert script.returncode == 0 and "new-strategy" in script.stdout
