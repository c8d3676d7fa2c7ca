"""Start-up: a single run composes once, heavy libraries load only where used, scan's walk starts first.

Real subprocesses and real find; compositions are counted by wrapping Hydra's own
``ConfigLoaderImpl.load_configuration`` (it still runs), never by replacing it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pagelab.datasets.scan import _EARLY, prestart, scan_tree, start_tree_walk

from .conftest import pagelab_cli

COUNTING = r"""
import json, sys
from hydra._internal.config_loader_impl import ConfigLoaderImpl
calls = []
load = ConfigLoaderImpl.load_configuration
def counted(self, *args, **kwargs):
    calls.append(kwargs.get("run_mode"))
    return load(self, *args, **kwargs)
ConfigLoaderImpl.load_configuration = counted
from pagelab.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(json.dumps({"compositions": len(calls), "code": code}), file=sys.stderr)
"""


def counted_run(*args: str, cwd: Path) -> tuple[dict, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run([sys.executable, "-c", COUNTING, *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    return json.loads(result.stderr.strip().splitlines()[-1]), result


def test_a_single_run_composes_once_and_writes_what_hydras_path_writes(tmp_path):
    fast, result = counted_run("strategy=dmemfs", "workload=hosting", f"hydra.run.dir={tmp_path / 'fast'}", cwd=tmp_path)
    assert fast == {"compositions": 1, "code": 0}, result.stderr
    # -r (--run) takes @hydra.main's own path: it composes twice (the mode, then the run).
    hydra, result = counted_run("-r", "strategy=dmemfs", "workload=hosting", f"hydra.run.dir={tmp_path / 'hydra'}",
                                cwd=tmp_path)
    assert hydra == {"compositions": 2, "code": 0}, result.stderr
    ours, theirs = tmp_path / "fast", tmp_path / "hydra"
    assert (ours / "results.parquet").read_bytes() == (theirs / "results.parquet").read_bytes()
    for name in ("config.yaml", "overrides.yaml"):
        assert (ours / ".hydra" / name).read_text() == (theirs / ".hydra" / name).read_text()
    same_but_dir = (theirs / ".hydra" / "hydra.yaml").read_text().replace(str(theirs), str(ours))
    assert (ours / ".hydra" / "hydra.yaml").read_text() == same_but_dir
    assert "- hydra.mode=RUN" in same_but_dir


def test_a_preset_without_m_still_sweeps_and_errors_are_hydras(tmp_path):
    sweep = tmp_path / "sweep"
    counts, result = counted_run("+experiment=metadata_vs_ram", "strategy=base4k", "workload.installed=4M",
                                 f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert counts["code"] == 0 and (sweep / "summary.parquet").exists(), result.stderr
    bad = {flag: pagelab_cli(*flag, "strategy=nope", f"hydra.run.dir={tmp_path / 'x'}", cwd=tmp_path)
           for flag in ((), ("-r",))}
    assert bad[()].returncode == bad[("-r",)].returncode == 2  # an unknown strategy: pagelab's one line (registry)
    assert bad[()].stderr == bad[("-r",)].stderr and "nope" in bad[()].stderr


def test_heavy_libraries_load_only_where_used():
    code = (
        "import sys, pagelab.app, pagelab.sweep.worker, pagelab.sweep.batch, pagelab.pipeline.terminal, pagelab.sweep.callback\n"
        "print(sorted(m for m in ('rich', 'pyarrow', 'seaborn', 'matplotlib', 'scipy') if m in sys.modules))\n"
        "import pagelab.datasets.scan, pagelab.cli\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
    result = subprocess.run([sys.executable, "-c", "import sys, pagelab.cli, pagelab.datasets.scan; print('polars' in sys.modules)"],
                            capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_a_prestarted_walk_is_the_one_the_scan_finishes(tmp_path):
    tree = tmp_path / "tree"
    for n, size in enumerate((10, 0, 4097)):
        (tree / f"d{n}").mkdir(parents=True)
        (tree / f"d{n}" / "f").write_bytes(b"x" * size)
    prestart([str(tree), "-o", str(tmp_path / "out.parquet")])
    [early] = _EARLY.values()
    assert start_tree_walk(tree) is early and not _EARLY
    scanned = early.finish()
    again = scan_tree(tree)
    assert sorted(scanned.frame["size"].to_list()) == sorted(again.frame["size"].to_list()) == [0, 10, 4097]
    assert scanned.skipped == again.skipped
    prestart(["--tar", "x.tar"])  # a tarball: nothing to start
    prestart(["-o"])  # unreadable arguments: left to the command
    assert not _EARLY


def _is_find(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"find")
    except OSError:
        return False


def test_a_walk_nobody_adopts_is_stopped_at_exit(tmp_path):
    # find over / takes more than a second: still walking when the command exits, unless stopped.
    code = "from pagelab.datasets.scan import _EARLY, prestart; prestart(['/']); print([w.process.pid for w in _EARLY.values()])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    [pid] = json.loads(result.stdout)
    assert not _is_find(pid)


def test_pagelab_scan_of_a_tree_is_unchanged(tmp_path):
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "one").write_bytes(b"1" * 100)
    (tree / "two").write_bytes(b"2" * 5000)
    os.symlink(tree / "two", tree / "link")
    result = pagelab_cli("scan", str(tree), "-o", str(tmp_path / "t.parquet"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 files" in result.stderr and "symlink 1" in result.stderr


def test_a_sweep_composes_its_config_once_and_saves_what_hydras_path_saves(tmp_path):
    args = ("-m", "strategy=base4k,page16k", "workload=pc1991")
    fast, result = counted_run(*args, f"hydra.sweep.dir={tmp_path / 'fast'}", cwd=tmp_path)
    assert fast["code"] == 0, result.stderr
    # -cn config names the same config, but any flag but -m takes @hydra.main's own path.
    hydra, result = counted_run("-cn", "config", *args, f"hydra.sweep.dir={tmp_path / 'hydra'}", cwd=tmp_path)
    assert hydra["code"] == 0, result.stderr
    # The basic launcher composes each of the two jobs twice either way; Hydra's path also
    # composes the sweep's config twice (its mode, then the sweep). At the end, collect's
    # manifest composes only the task's part of each pair (compose_task, not counted here).
    assert (fast["compositions"], hydra["compositions"]) == (1 + 4, 2 + 4)
    ours, theirs = tmp_path / "fast", tmp_path / "hydra"
    for name in ("multirun.yaml", "0/.hydra/hydra.yaml", "1/.hydra/config.yaml"):
        assert (ours / name).read_text() == (theirs / name).read_text().replace(str(theirs), str(ours)), name
    assert "- hydra.mode=MULTIRUN" in (ours / "multirun.yaml").read_text()
    assert (ours / "summary.parquet").read_bytes() == (theirs / "summary.parquet").read_bytes()
