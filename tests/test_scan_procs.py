"""``pagelab scan-procs``: this machine's real /proc, read as root and as nobody."""

from __future__ import annotations

import json
import mmap
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from pagelab.cli import run_command
from pagelab.datasets.procs import SCHEMA, scan_procs

from .conftest import read_output, run_as_nobody

PAGE = mmap.PAGESIZE
main = partial(run_command, "scan-procs")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder that nobody (uid 65534) can write to; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="pagelab-procs-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


def test_own_mappings_appear_without_names(tmp_path: Path) -> None:
    # Three mappings of this very process, of sizes and residency we choose.
    private = mmap.mmap(-1, 301 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    private.madvise(mmap.MADV_NOHUGEPAGE)  # its own VMA (no merging), and no huge pages
    for i in range(7):
        private[i * 40 * PAGE] = 1
    shared = mmap.mmap(-1, 37 * PAGE)  # MAP_SHARED anonymous: "/dev/zero (deleted)"
    shared[0] = shared[20 * PAGE] = 1
    backing = tmp_path / "pagelab-secret-backing-file"
    backing.write_bytes(b"z" * 67 * PAGE)
    with open(backing, "rb") as handle:
        filemap = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ)
    assert filemap[0] == ord("z")
    out = tmp_path / "m.parquet"

    rc = main(["-o", str(out), "--name", "here"])

    frame, meta = read_output(out)
    assert rc == 0
    assert frame.schema == pl.Schema(SCHEMA)

    def rows(**where: object) -> int:
        return frame.filter(*(pl.col(k) == v for k, v in where.items())).height

    assert rows(size=301 * PAGE, rss=7 * PAGE, anon=True, anon_bytes=7 * PAGE, huge=0) >= 1
    assert rows(size=37 * PAGE, rss=2 * PAGE, anon=True, anon_bytes=0) >= 1
    assert rows(size=67 * PAGE, anon=False) >= 1
    assert frame["size"].sum() > 0 and frame["anon"].any() and not frame["anon"].all()
    assert (frame["rss"] <= frame["size"]).all() and (frame["pss"] <= frame["rss"]).all()
    assert meta["name"] == "here" and meta["kind"] == "mappings" and meta["source"] == "proc"
    assert int(meta["processes"]) >= 1
    # No names, paths or pids: no string column, and none of them in the file's bytes.
    assert not any(dtype == pl.String for dtype in frame.schema.values())
    raw = out.read_bytes().replace(b"Polars (python) version", b"")  # the writer's own name, in every file
    for leak in (b"python", b"/usr/", b"[heap]", b"/dev/zero", backing.name.encode(), str(os.getpid()).encode()):
        assert leak not in raw
    for value in meta.values():
        assert "/" not in value and "python" not in value
    private.close()
    shared.close()
    filemap.close()


def test_as_nobody_reads_own_and_reports_skipped(shared_tmp: Path) -> None:
    out = shared_tmp / "m.parquet"
    child = run_as_nobody("scan-procs", ["-o", str(out)], shared_tmp)
    assert child.returncode == 0, child.stderr
    frame, meta = read_output(out)
    skipped = json.loads(meta["skipped"])
    # pytest itself runs as root, so at least one process was out of reach.
    assert skipped.get("permission", 0) >= 1
    assert frame.height > 0 and int(meta["processes"]) >= 1  # its own mappings
    assert "not root: only this user's processes were read" in child.stderr
    assert f"permission {skipped['permission']:,}" in child.stderr


def test_exited_processes_are_skipped_not_fatal(tmp_path: Path) -> None:
    """A process reaped before its smaps is opened, and a zombie whose memory is
    gone, are both counted as exited; a live one is read."""
    reaped = subprocess.Popen(["sleep", "600"])
    zombie = subprocess.Popen(["sleep", "600"])
    fake_proc = tmp_path / "proc"
    fake_proc.mkdir()
    for proc in (reaped, zombie):
        (fake_proc / str(proc.pid)).symlink_to(f"/proc/{proc.pid}")
    (fake_proc / str(os.getpid())).symlink_to(f"/proc/{os.getpid()}")
    reaped.kill()
    reaped.wait()
    zombie.kill()
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
    try:
        assert Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
        result = scan_procs(fake_proc)
    finally:
        zombie.wait()
    assert result.skipped == {"exited": 2}
    assert result.processes == 1 and result.frame.height > 0


def test_not_a_proc_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = main(["--proc", str(tmp_path), "-o", str(out_dir / "m.parquet")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("pagelab scan-procs: error: ")
    assert list(out_dir.iterdir()) == []
