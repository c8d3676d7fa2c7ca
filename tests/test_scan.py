"""``pagelab scan``: real trees and tarballs, real find, real permission errors."""

from __future__ import annotations

import array
import bz2
import fcntl
import gzip
import io
import json
import lzma
import os
import pty
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import termios
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import polars as pl
import pytest
import zstandard

from pagelab.cli import run_command
from pagelab.datasets.scan import classify_find_message, scan_tar, start_tree_walk

from .conftest import ROOT, read_output, run_as_nobody

NOBODY = 65534
main = partial(run_command, "scan")


def distinct_allocated(root: Path) -> int:
    """st_blocks * 512 summed over distinct regular files, by an independent walk."""
    seen: dict[tuple[int, int], int] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            info = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(info.st_mode):
                seen[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    return sum(seen.values())


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder that nobody (uid 65534) can enter; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="pagelab-scan-"))
    path.chmod(0o755)
    yield path
    for dirpath, dirs, _files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(dirpath, name), 0o755)
    shutil.rmtree(path)


def write(path: Path, size: int) -> Path:
    """Create ``path`` holding ``size`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def assert_failed_cleanly(rc: int, err: str, out_dir: Path) -> None:
    """Exit 2, one line 'pagelab scan: error: ...', and nothing at all written."""
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pagelab scan: error: "), err
    assert list(out_dir.iterdir()) == []


# ------------------------------------------------------------------------------- trees


def test_tree_counts_files_bytes_and_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    sizes = {"a.txt": 100, "b.bin": 5000, "h1": 1000, "empty": 0, "sub/c": 12345}
    for name, size in sizes.items():
        write(tree / name, size)
    os.link(tree / "h1", tree / "h2")
    os.link(tree / "h1", tree / "sub" / "h3")
    sparse = tree / "sparse"
    with open(sparse, "wb") as handle:
        handle.truncate(8 << 20)
        handle.seek(1 << 20)
        handle.write(b"y" * 4096)
    os.symlink("loop_b", tree / "loop_a")
    os.symlink("loop_a", tree / "loop_b")
    os.symlink("..", tree / "sub" / "up")  # a directory cycle, were links followed
    os.mkfifo(tree / "fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tree / "sock"))
    out = tmp_path / "out" / "tree.parquet"

    try:
        rc = main([str(tree), "-o", str(out), "--name", "mytree"])
    finally:
        server.close()

    assert rc == 0
    frame, meta = read_output(out)
    assert frame.schema == pl.Schema({"size": pl.Int64, "allocated": pl.Int64})
    assert sorted(frame["size"].to_list()) == sorted([*sizes.values(), 8 << 20])
    assert frame["allocated"].sum() == distinct_allocated(tree)
    sparse_row = frame.filter(pl.col("size") == 8 << 20)
    assert sparse_row.height == 1 and sparse_row["allocated"][0] < 8 << 20
    expected_skips = {"fifo": 1, "hardlink": 2, "socket": 1, "symlink": 3}
    assert meta == {"name": "mytree", "kind": "files", "source": "tree", "skipped": json.dumps(expected_skips)}
    err = capsys.readouterr().err
    assert "6 files" in err and "fifo 1, hardlink 2, socket 1, symlink 3" in err
    # Sizes only: no file or folder name is anywhere in the file.
    raw = out.read_bytes()
    for name in (b"loop_a", b"sparse", b"a.txt", tmp_path.name.encode()):
        assert name not in raw


def test_relative_path_and_odd_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "-name" / "x", 7)  # would be an expression for find
    write(tmp_path / "-name" / "line\nbreak", 9)
    assert main(["-o", "o.parquet", "--", "-name"]) == 0
    frame, _meta = read_output(tmp_path / "o.parquet")
    assert sorted(frame["size"].to_list()) == [7, 9]


def test_file_deleted_during_the_scan_is_counted_as_vanished(tmp_path: Path) -> None:
    """Deterministic: find is paused (its output pipe is full) while inside one
    folder, and the folder it will visit next is deleted before it gets there."""
    tree = tmp_path / "tree"
    for name in ("x", "y"):
        (tree / name).mkdir(parents=True)
    first, second = os.listdir(tree)  # find visits a folder's entries in this order
    filler = write(tree / first / "f0", 1)
    for i in range(1, 5000):  # ~110 KB of find output: more than a 64 KiB pipe holds
        os.link(filler, tree / first / f"f{i}")  # links: far quicker to make than files
    for i in range(3):
        write(tree / second / "deep" / f"v{i}", 10)
    walk = start_tree_walk(tree, read_now=False)
    fd = walk.process.stdout.fileno()  # type: ignore[union-attr]
    capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    queued = array.array("i", [0])
    deadline = time.monotonic() + 30
    while queued[0] < capacity:
        assert time.monotonic() < deadline and walk.process.poll() is None, "find never filled its pipe"
        time.sleep(0.002)
        fcntl.ioctl(fd, termios.FIONREAD, queued)
    shutil.rmtree(tree / second)

    result = walk.finish()

    assert result.skipped == {"hardlink": 4999, "vanished": 1}
    assert (result.files, result.total_bytes) == (1, 1)


def test_unreadable_directory_as_nobody(shared_tmp: Path) -> None:
    tree = shared_tmp / "tree"
    write(tree / "ok1", 10)
    write(tree / "ok2", 20)
    write(tree / "open" / "f3", 40)
    os.link(tree / "ok1", tree / "open" / "ok1-again")
    write(tree / "locked" / "secret", 30)
    write(tree / "locked" / "inner" / "deeper", 50)
    (tree / "locked").chmod(0o000)
    out_dir = shared_tmp / "out"
    out_dir.mkdir(mode=0o777)
    out_dir.chmod(0o777)

    child = run_as_nobody("scan", [str(tree), "-o", str(out_dir / "t.parquet")], shared_tmp)

    assert child.returncode == 0, child.stderr
    frame, meta = read_output(out_dir / "t.parquet")
    assert sorted(frame["size"].to_list()) == [10, 20, 40]
    assert json.loads(meta["skipped"]) == {"hardlink": 1, "permission": 1}
    assert "skipped: hardlink 1, permission 1" in child.stderr
    # The same tree as root: the folder is readable, so the error above was real.
    assert main([str(tree), "-o", str(out_dir / "root.parquet")]) == 0
    frame, meta = read_output(out_dir / "root.parquet")
    assert sorted(frame["size"].to_list()) == [10, 20, 30, 40, 50]
    assert json.loads(meta["skipped"]) == {"hardlink": 1}


def _mount(args: list[str]) -> None:
    """Run mount(8), skipping the test where this machine may not mount."""
    if shutil.which("mount") is None:
        pytest.skip("needs mount(8)")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"needs CAP_SYS_ADMIN to mount ({done.stderr.strip()})")


def test_stays_on_one_file_system_unless_asked(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "here", 11)
    (tree / "mnt").mkdir()
    _mount(["-t", "tmpfs", "-o", "size=1m", "pagelab-test", str(tree / "mnt")])
    try:
        write(tree / "mnt" / "there", 22)
        assert main([str(tree), "-o", str(tmp_path / "one.parquet")]) == 0
        assert main([str(tree), "--cross-filesystems", "-o", str(tmp_path / "all.parquet")]) == 0
    finally:
        subprocess.run(["umount", str(tree / "mnt")], check=True)
    frame, meta = read_output(tmp_path / "one.parquet")
    assert frame["size"].to_list() == [11]
    assert json.loads(meta["skipped"]) == {"other_filesystem": 1}
    frame, meta = read_output(tmp_path / "all.parquet")
    assert sorted(frame["size"].to_list()) == [11, 22]
    assert json.loads(meta["skipped"]) == {}


def test_file_system_loop_is_counted(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "f", 5)
    (tree / "sub" / "again").mkdir(parents=True)
    _mount(["--bind", str(tree), str(tree / "sub" / "again")])  # same device: -xdev descends
    try:
        result = start_tree_walk(tree).finish()
    finally:
        subprocess.run(["umount", str(tree / "sub" / "again")], check=True)
    assert result.skipped == {"loop": 1}
    assert result.files == 1


def test_device_files_are_skipped(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(tree / "f", 3)
    try:
        os.mknod(tree / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("needs CAP_MKNOD to create a device file")
    result = start_tree_walk(tree).finish()
    assert result.skipped == {"device": 1}
    assert (result.files, result.total_bytes) == (1, 3)


def test_find_messages_are_classified() -> None:
    assert classify_find_message("find: './a': Permission denied") == "permission"
    assert classify_find_message("find: './a': No such file or directory") == "vanished"
    loop = "find: File system loop detected; './b' is part of the same file system loop as '.'."
    assert classify_find_message(loop) == "loop"
    assert classify_find_message("find: './c': Input/output error") == "error"
    assert classify_find_message("find: warning: something odd") is None


def test_nonexistent_path_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = main([str(tmp_path / "missing"), "-o", str(out_dir / "x.parquet")])
    err = capsys.readouterr().err
    assert_failed_cleanly(rc, err, out_dir)
    assert "missing: no such file or directory" in err


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for i in range(50):
        write(tree / f"f{i}", i)
    command = [sys.executable, "-c", "import sys; from pagelab.cli import run_command; sys.exit(run_command('scan', sys.argv[1:]))"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    piped = subprocess.run([*command, str(tree), "-o", str(tmp_path / "a.parquet")], capture_output=True, env=env)
    assert piped.returncode == 0 and b"\x1b" not in piped.stderr
    master, slave = pty.openpty()
    with subprocess.Popen([*command, str(tree), "-o", str(tmp_path / "b.parquet")], stderr=slave, env=env) as child:
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other end closed
                break
            if not chunk:
                break
            seen += chunk
    os.close(master)
    assert child.returncode == 0
    assert b"\x1b[" in seen  # rich drew (and cleared) a live display
    assert b"50 files" in seen


# ---------------------------------------------------------------------------- tarballs

TAR_SIZES = [0, 1, 511, 512, 513, 100_000]


def make_tarball(folder: Path, compression: str) -> Path:
    """A tarball with files of TAR_SIZES, a hard link, a symlink, a fifo and folders."""
    src = folder / "src"
    for i, size in enumerate(TAR_SIZES):
        write(src / "d" / f"f{i}", size)
    os.link(src / "d" / "f5", src / "hard")
    os.symlink("d/f1", src / "soft")
    os.mkfifo(src / "pipe")
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.GNU_FORMAT) as archive:
        archive.add(src, arcname="src")  # tarfile stores the second link as LNKTYPE
        assert sum(member.islnk() for member in archive.getmembers()) == 1
    shutil.rmtree(src)
    packers = {
        "": lambda data: data,
        "gz": gzip.compress,
        "xz": lzma.compress,
        "bz2": bz2.compress,
        "zst": zstandard.ZstdCompressor().compress,
    }
    path = folder / ("t.tar" + (f".{compression}" if compression else ""))
    path.write_bytes(packers[compression](plain.getvalue()))
    return path


@pytest.mark.parametrize("compression", ["", "gz", "xz", "bz2", "zst"])
def test_tarball_listing(tmp_path: Path, compression: str) -> None:
    tarball = make_tarball(tmp_path, compression)
    out = tmp_path / "t.parquet"
    assert main(["--tar", str(tarball), "-o", str(out)]) == 0
    frame, meta = read_output(out)
    assert sorted(frame["size"].to_list()) == TAR_SIZES
    assert frame["allocated"].null_count() == len(TAR_SIZES)
    assert json.loads(meta["skipped"]) == {"fifo": 1, "hardlink": 1, "symlink": 1}
    assert (meta["kind"], meta["source"], meta["compression"]) == ("files", "tar", compression or "none")
    # Listed, not extracted: nothing appeared beside the tarball or in the working folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([tarball.name, "t.parquet"])
    assert not Path("src").exists()


def test_tarball_from_gnu_tar_with_zstd(tmp_path: Path) -> None:
    if shutil.which("tar") is None or shutil.which("zstd") is None:
        pytest.skip("needs GNU tar and the zstd program")
    src = tmp_path / "src"
    write(src / "a", 3000)
    write(src / "b", 7)
    os.link(src / "a", src / "a2")
    tarball = tmp_path / "g.tar.zst"
    subprocess.run(["tar", "--zstd", "-cf", str(tarball), "-C", str(tmp_path), "src"], check=True)
    result = scan_tar(tarball)
    assert sorted(result.frame["size"].to_list()) == [7, 3000]
    assert result.skipped == {"hardlink": 1}


def test_empty_tarball_is_written_only_when_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tarball = tmp_path / "empty.tar"
    with tarfile.open(tarball, "w"):
        pass
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = run_command("scan", ["--tar", str(tarball), "-o", str(out_dir / "e.parquet")])
    assert_failed_cleanly(rc, capsys.readouterr().err, out_dir)
    assert main(["--tar", str(tarball), "-o", str(out_dir / "e.parquet"), "--allow-empty"]) == 0
    assert read_output(out_dir / "e.parquet")[0].height == 0


def test_empty_tree_is_an_error_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tree" / "only" / "directories").mkdir(parents=True)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = run_command("scan", [str(tmp_path / "tree"), "-o", str(out_dir / "t.parquet")])
    err = capsys.readouterr().err
    assert_failed_cleanly(rc, err, out_dir)
    assert "--allow-empty" in err
    assert run_command("scan", [str(tmp_path / "tree"), "-o", str(out_dir / "t.parquet"), "--allow-empty"]) == 0
    assert read_output(out_dir / "t.parquet")[0].height == 0


@pytest.mark.parametrize("target, phrase", [
    ("/proc", "a proc file system"),
    ("/sys", "a sysfs file system"),
    ("/proc/self", "a proc file system"),
    ("PLAIN_FILE", "not a directory"),
])
def test_pseudo_file_systems_and_plain_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, phrase: str
) -> None:
    if target == "PLAIN_FILE":
        target = str(write(tmp_path / "plain.txt", 10))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = run_command("scan", [target, "-o", str(out_dir / "x.parquet")])
    err = capsys.readouterr().err
    assert_failed_cleanly(rc, err, out_dir)
    assert phrase in err and target in err


@pytest.mark.parametrize("command", ["scan", "scan-procs"])
def test_an_output_name_of_another_format_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    write(tmp_path / "tree" / "a", 10)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    source = [str(tmp_path / "tree")] if command == "scan" else []
    rc = run_command(command, [*source, "-o", str(out_dir / "sizes.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().endswith("name the file *.parquet"), err
    assert list(out_dir.iterdir()) == []


def _corrupt(kind: str, folder: Path) -> Path:
    """Tarballs that must be refused, each broken a different way."""
    good = make_tarball(folder, "")
    data = good.read_bytes()
    with tarfile.open(good) as archive:
        members = archive.getmembers()
    biggest = max(members, key=lambda member: member.size)
    bad = folder / f"bad-{kind}"
    if kind == "text":
        bad.write_bytes(b"this is not a tarball\n" * 200)
    elif kind == "empty-file":
        bad.write_bytes(b"")
    elif kind == "truncated-gz":
        bad.write_bytes(gzip.compress(data)[:-200])
    elif kind == "truncated-zst":
        bad.write_bytes(zstandard.ZstdCompressor().compress(data)[:-100])
    elif kind == "truncated-mid-member":
        bad.write_bytes(data[: biggest.offset_data + 1000])
    elif kind == "truncated-at-header":
        bad.write_bytes(data[: members[2].offset])
    elif kind == "bad-checksum":
        damaged = bytearray(data)
        damaged[members[2].offset + 148 : members[2].offset + 156] = b"0000000\0"
        bad.write_bytes(bytes(damaged))
    elif kind == "directory":
        bad.mkdir()
    elif kind.startswith("cut-after-long-name"):
        plain = io.BytesIO()
        with tarfile.open(fileobj=plain, mode="w", format=tarfile.GNU_FORMAT) as archive:
            archive.addfile(tarfile.TarInfo("short"), io.BytesIO())
            archive.addfile(tarfile.TarInfo("long/" * 40 + "name"), io.BytesIO())
            cut = archive.offset - 512  # just before the real header that follows the long name
        zero = b"\0" * 1024 if kind.endswith("zeros") else b""
        bad.write_bytes(plain.getvalue()[:cut] + zero)
    good.unlink()
    return bad


@pytest.mark.parametrize(
    "kind",
    [
        "text",
        "empty-file",
        "truncated-gz",
        "truncated-zst",
        "truncated-mid-member",
        "truncated-at-header",
        "bad-checksum",
        "directory",
        "cut-after-long-name",
        "cut-after-long-name-then-zeros",
    ],
)
def test_corrupt_tarball_is_a_one_line_error(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _corrupt(kind, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = main(["--tar", str(bad), "-o", str(out_dir / "x.parquet")])
    err = capsys.readouterr().err
    assert_failed_cleanly(rc, err, out_dir)
    assert str(bad) in err


def test_unreadable_tarball_as_nobody(shared_tmp: Path) -> None:
    tarball = make_tarball(shared_tmp, "gz")
    tarball.chmod(0o600)
    out_dir = shared_tmp / "out"
    out_dir.mkdir()
    out_dir.chmod(0o777)
    args = ["--tar", str(tarball), "-o", str(out_dir / "x.parquet")]
    child = run_as_nobody("scan", args, shared_tmp)
    assert_failed_cleanly(child.returncode, child.stderr, out_dir)
    assert "permission denied" in child.stderr


def test_nonexistent_tarball(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc = main(["--tar", str(tmp_path / "nope.tar.gz"), "-o", str(out_dir / "x.parquet")])
    assert_failed_cleanly(rc, capsys.readouterr().err, out_dir)
