"""``pagelab measure``: real measurements of the running kernel, compared with the models.

Everything here touches the real kernel: files on the real ext4 root, private tmpfs and
loop-mounted ext4 in private mount namespaces (``unshare -m``), /proc/kpageflags. Tests
that need root skip without it and say which capability is missing. No test asserts on
time. Sizes are generated (seeded, log-uniform from 1 byte to 40 MiB) and include the
sizes of kernel-measurements.md, so the check is not limited to the published rows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pagelab.measure import compare
from pagelab.measure.kernel import folio_census as kernel_census
from pagelab.measure.memmap import (
    boot_log,
    hvo_expected,
    hvo_lines,
    hvo_model,
    kernel_image,
    measure_memmap,
    present_pages,
    reserved_at_boot,
)
from pagelab.measure.pagecache import measure_pagecache, read_and_measure
from pagelab.measure.safety import Interrupted, cleanup_on_signals
from pagelab.measure.sample import from_sizes
from pagelab.measure.storage import mount_of, mounts_under, readahead_of
from pagelab.measure.tmpfs import measure_tmpfs
from pagelab.models.readahead import folio_census as model_census

ROOT = Path(__file__).resolve().parent.parent
KiB, MiB = 1 << 10, 1 << 20
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root for /proc/kpageflags and PFNs in /proc/self/pagemap")
needs_mount = pytest.mark.skipif(not IS_ROOT, reason="needs root (CAP_SYS_ADMIN) to mount in a private namespace")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (mincore, /proc)")

# kernel-measurements.md, "ext4, cold sequential read": file sizes and read() sizes.
REFERENCE_SIZES = [16_384, 65_536, 300_000, 1_048_576, 8_388_608, 33_554_432]
READ_SIZES = [4 * KiB, 64 * KiB, 1 * MiB]


def varied_sizes(n: int, seed: int, top: int = 40 * MiB) -> list[int]:
    """``n`` log-uniform sizes in [1, top], plus page, folio and readahead-window edges."""
    rng = np.random.default_rng(seed)
    drawn = np.floor(np.exp(rng.uniform(0, np.log(top), n))).astype(np.int64).tolist()
    edges = [0, 1, 4095, 4096, 4097, 16_385, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 8 * MiB + 4096 * 3 + 5]
    return sorted(set(drawn + edges))


def ext4_parent() -> Path:
    """A directory on ext4 with large folios (not /tmp if /tmp is tmpfs), or skip."""
    release = re.match(r"(\d+)\.(\d+)", os.uname().release)
    if release is None or (int(release[1]), int(release[2])) < (6, 16):
        pytest.skip("ext4 caches files in large folios only since Linux 6.16")
    for candidate in (Path("/var/tmp"), Path(os.environ.get("TMPDIR", "/tmp")), ROOT):
        if candidate.is_dir() and os.access(candidate, os.W_OK) and mount_of(candidate).fstype == "ext4":
            return candidate
    pytest.skip("needs a writable directory on ext4 (/var/tmp, TMPDIR or the source tree)")


def pagelab_cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """``python -m pagelab ARGS`` in a subprocess, with this source tree first on the path."""
    environment = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pagelab", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


def in_namespace(script: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a shell script in a private mount namespace (its mounts die with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-ec", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


def kernel_vs(frame: pl.DataFrame, model: str, group: str = "read_size") -> pl.DataFrame:
    """Kernel rows joined with one model's rows (suffix ``_m``)."""
    kernel = frame.filter(pl.col("source") == "kernel", pl.col("file").is_not_null())
    return kernel.join(frame.filter(pl.col("source") == model), on=[group, "file"], suffix="_m")


def orders(max_order: int = 9) -> list[str]:
    return compare.order_columns(max_order)


# --- page cache on ext4 --------------------------------------------------------------


@pytest.fixture(scope="module")
def ext4_measurement():
    """One real measurement shared by the ext4 tests: 3 read sizes over ~100 varied files."""
    if not IS_ROOT:
        pytest.skip("needs root for /proc/kpageflags and PFNs in /proc/self/pagemap")
    sizes = sorted(set(varied_sizes(90, seed=6) + REFERENCE_SIZES))
    return measure_pagecache(from_sizes(sizes), READ_SIZES, ext4_parent())


@needs_root
def test_ext4_resident_pages_equal_base4k_for_every_file(ext4_measurement):
    joined = kernel_vs(ext4_measurement.frame, "base4k")
    assert joined.height == len(READ_SIZES) * ext4_measurement.frame["file"].n_unique()
    assert (joined["resident_pages"] == -(-joined["size"] // 4096)).all()
    assert (joined["resident_pages"] == joined["resident_pages_m"]).all()
    # fincore's view: no folio extends past the page holding EOF on ext4.
    assert (joined["pages"] == joined["resident_pages"]).all()


@needs_root
def test_ext4_folio_census_equals_the_folio_model_exactly(ext4_measurement):
    frame = ext4_measurement.frame
    joined = kernel_vs(frame, "folio")
    exact = pl.all_horizontal([pl.col(c) == pl.col(f"{c}_m") for c in ["pages", "folios", *orders()]])
    mismatches = joined.filter(~exact)
    assert mismatches.height == 0, mismatches.select("read_size", "size", "folios", "folios_m")
    # The check is not vacuous: large folios of several orders were really seen ...
    kernel = frame.filter(pl.col("source") == "kernel")
    assert kernel.select([pl.col(f"o{k}").sum() > 0 for k in (2, 4, 6, 9)]).row(0) == (True,) * 4
    # ... the read size changed the census, and sizes beyond the published rows were covered.
    by_read = kernel.filter(pl.col("size") == 8 * MiB).sort("read_size")["o0"].to_list()
    assert by_read == [4, 64, 512]
    assert len(set(kernel["size"].to_list()) - set(REFERENCE_SIZES)) >= 90
    summary = ext4_measurement.tables["agreement"]
    assert (summary["exact"] == summary["files"]).all() and summary.height == 2 * len(READ_SIZES)
    assert ext4_measurement.tables["differences"].height == 0


@needs_root
def test_ext4_reproduces_kernel_measurements_md(ext4_measurement):
    """The published census of a 300,000-byte file read with 64 KiB reads: 1:64, 2:1, 4:2."""
    row = ext4_measurement.frame.filter(source="kernel", size=300_000, read_size=64 * KiB).row(0, named=True)
    assert {1 << k: row[f"o{k}"] for k in range(10) if row[f"o{k}"]} == {1: 64, 2: 1, 4: 2}


@needs_root
def test_ext4_measurement_uses_the_devices_read_ahead_kb(ext4_measurement):
    parent = ext4_parent()
    expected = readahead_of(parent).read_ahead_kb
    dev = os.stat(parent).st_dev
    sysfs = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    queue = sysfs / "queue" if (sysfs / "queue").exists() else sysfs / ".." / "queue"
    assert expected == int((queue / "read_ahead_kb").read_text())
    assert set(ext4_measurement.frame["read_ahead_kb"].to_list()) == {expected}
    assert ext4_measurement.metadata["measure.read_ahead_kb"] == str(expected)


@needs_root
def test_measurement_dataset_follows_the_runs_conventions(ext4_measurement, tmp_path):
    from pagelab.measure.output import write

    frame = ext4_measurement.frame
    for name in ("read_size", "file", "size", "resident_pages", "pages", "bytes", "folios", *orders()):
        assert frame.schema[name] == pl.Int64
    assert frame.columns[:3] == ["measure", "source", "fs_type"]
    assert frame.equals(frame.sort("read_size", "file", "source"))
    assert sorted(frame["source"].unique()) == ["base4k", "folio", "kernel"]
    assert (frame["bytes"] == frame["pages"] * 4096).all()
    out = tmp_path / "m.parquet"
    write(ext4_measurement, out)
    first = out.read_bytes()
    write(ext4_measurement, out)
    assert out.read_bytes() == first  # no timestamps: byte-identical
    assert pl.read_parquet(out).equals(frame)
    assert [p.name for p in tmp_path.iterdir()] == ["m.parquet"]  # no temporary left behind


@needs_root
def test_one_open_per_file_equals_one_process_per_file():
    """Readahead state lives in struct file (f_ra), so a fresh open() is as cold as a fresh process."""
    parent = ext4_parent()
    sizes = [70_000, 777_777, 3 * MiB + 5, 9 * MiB]
    directory = Path(tempfile.mkdtemp(prefix="pagelab-test-", dir=parent))
    try:
        paths = []
        for i, size in enumerate(sizes):
            path = directory / f"f{i}"
            path.write_bytes(b"\x01" * size)
            paths.append(path)
        for read_size in (4 * KiB, 64 * KiB):
            together = _read_and_measure_cold(paths, sizes, read_size)
            apart = [_read_and_measure_cold([p], [s], read_size)[0] for p, s in zip(paths, sizes)]
            assert together == apart
            predicted = model_census(
                pl.Series(sizes), read_size=read_size, read_ahead_kb=readahead_of(parent).read_ahead_kb
            )
            assert [tuple(row[1:]) for row in together] == predicted.select(orders()).rows()
            assert any(sum(row[3:]) for row in together)  # large folios, so the comparison means something
    finally:
        shutil.rmtree(directory)


def _read_and_measure_cold(paths: list[Path], sizes: list[int], read_size: int) -> list[list[int]]:
    from pagelab.measure.kernel import evict

    for path, size in zip(paths, sizes):
        assert evict(path, size) == 0
    return read_and_measure(paths, sizes, read_size, 9)


# --- other devices and file systems (loop-mounted ext4, tmpfs) in private namespaces ---


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    """A directory of files with varied sizes, copied by ``pagelab measure pagecache PATH``."""
    directory = tmp_path_factory.mktemp("tree")
    for i, size in enumerate(varied_sizes(14, seed=11, top=6 * MiB)):
        (directory / f"file{i}").write_bytes(b"\x02" * size)
    return directory


def _loop_ext4(tmp_path: Path, source: Path, mount_options: str, read_ahead_kb: int, read_sizes: str) -> str:
    for tool in ("mkfs.ext4", "losetup"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    image, mnt, out = tmp_path / "ext4.img", tmp_path / "mnt", tmp_path / "out.parquet"
    return f"""
        truncate -s 192M {image}
        mkfs.ext4 -q -F {image}
        mkdir {mnt}
        mount -o loop,{mount_options} {image} {mnt}
        dev=$(basename "$(findmnt -no SOURCE {mnt})")
        echo {read_ahead_kb} > /sys/block/$dev/queue/read_ahead_kb
        {sys.executable} -m pagelab measure pagecache {source} --dir {mnt} --read-size {read_sizes} -o {out}
    """


@needs_mount
def test_loop_device_read_ahead_kb_is_the_files_device(tmp_path, source_tree):
    """On an ext4 image with read_ahead_kb=128, the model with 128 (not vda's 8192) matches."""
    done = in_namespace(_loop_ext4(tmp_path, source_tree, "rw", 128, "4K,64K,1M"))
    assert done.returncode == 0, done.stderr
    frame = pl.read_parquet(tmp_path / "out.parquet")
    assert set(frame["read_ahead_kb"].to_list()) == {128}
    joined = kernel_vs(frame, "folio")
    exact = pl.all_horizontal([pl.col(c) == pl.col(f"{c}_m") for c in ["pages", *orders()]])
    small_reads = joined.filter(pl.col("read_size") <= 64 * KiB)
    assert small_reads.filter(~exact).height == 0
    # With the root disk's 8192 KiB window the prediction would differ: the device matters.
    kernel = frame.filter(source="kernel", read_size=4 * KiB).sort("file")
    wrong = model_census(kernel["size"], read_size=4 * KiB, read_ahead_kb=8192).select(orders())
    assert not kernel.select(orders()).equals(wrong)
    # 1 MiB reads exceed the 128 KiB window and the loop device's io_pages is larger:
    # the kernel widens the window (ractl_max_pages), and the model given io_pages too.
    assert "io_pages" in done.stdout and "so does the folio model" in done.stdout
    big_reads = joined.filter(pl.col("read_size") == MiB)
    assert big_reads.height > 0 and big_reads.filter(~exact).height == 0
    # Without io_pages the model keeps the 128 KiB window and misses files beyond it.
    narrow = model_census(big_reads["size"], read_size=MiB, read_ahead_kb=128).select(orders())
    assert not big_reads.select(orders()).equals(narrow)
    assert (joined["resident_pages"] == joined["resident_pages_m"]).all()


@needs_mount
def test_fs_without_large_folios_is_reported_and_compared_with_order0(tmp_path, source_tree):
    """ext4 with data=journal caches no large folios (ext4_should_enable_large_folio)."""
    done = in_namespace(_loop_ext4(tmp_path, source_tree, "data=journal", 128, "4K"))
    assert done.returncode == 0, done.stderr
    assert "used no large folios" in done.stdout and "compared against order-0" in done.stdout
    frame = pl.read_parquet(tmp_path / "out.parquet")
    joined = kernel_vs(frame, "base4k")
    assert (joined["o0"] == joined["o0_m"]).all() and (joined["folios"] == joined["resident_pages"]).all()
    assert frame.filter(source="folio").select(pl.sum_horizontal(orders()[1:]).sum()).item() > 0


@needs_mount
def test_pagecache_on_tmpfs_huge_never_is_order0(tmp_path, source_tree):
    mnt, out = tmp_path / "t", tmp_path / "out.parquet"
    done = in_namespace(f"""
        mkdir {mnt}
        mount -t tmpfs -o huge=never,size=64M none {mnt}
        {sys.executable} -m pagelab measure pagecache {source_tree} --dir {mnt} --read-size 4K -o {out}
    """)
    assert done.returncode == 0, done.stderr
    assert "tmpfs (huge=never) used no large folios" in done.stdout
    frame = pl.read_parquet(out)
    joined = kernel_vs(frame, "folio")
    assert frame.filter(source="kernel")["o0"].sum() == frame.filter(source="kernel")["resident_pages"].sum()
    assert (joined["o0"] == joined["o0_m"]).all()


# --- tmpfs ---------------------------------------------------------------------------


@needs_mount
def test_tmpfs_huge_always_takes_the_2mib_model(tmp_path):
    sizes = [8] * 20 + [70_000, 2 * MiB + 1, 300_000, 4096, 0] + varied_sizes(12, seed=3, top=5 * MiB)
    measured = measure_tmpfs(from_sizes(sizes), tmp_path)
    memory = {row["huge"]: row for row in measured.tables["memory"].iter_rows(named=True)}
    files, page = len(sizes), 4096
    always = memory["always"]
    huge_model = (-(-pl.Series(sizes) // (2 * MiB)) * 2 * MiB).sum()
    assert always["model_bytes"] == always["folio_bytes"] == huge_model
    for measure in ("shmem_bytes", "df_bytes", "census_bytes"):
        assert abs(always[measure] - huge_model) <= files * page, measure  # the tolerance
    assert always["df_bytes"] == always["census_bytes"] == huge_model  # per mount: exact
    # Per file, the census is the round-up model exactly: a 70,000-byte file sits in one 2 MiB folio.
    joined = kernel_vs(measured.frame, "folio", group="huge").filter(pl.col("huge") == "always")
    assert (joined["pages"] == joined["pages_m"]).all() and (joined["o9"] == joined["o9_m"]).all()
    assert joined.filter(pl.col("size") == 70_000)["o9"].to_list() == [1]
    # never and within_size take base4k's memory; never has only order-0 folios.
    base4k = (-(-pl.Series(sizes) // page) * page).sum()
    for huge in ("never", "within_size"):
        assert memory[huge]["df_bytes"] == memory[huge]["census_bytes"] == base4k
        assert abs(memory[huge]["shmem_bytes"] - base4k) <= files * page
    assert any("huge=never) used no large folios" in note for note in measured.notes)
    never = measured.frame.filter(source="kernel", huge="never")
    assert never.select(pl.sum_horizontal(orders()[1:]).sum()).item() == 0
    assert mounts_under(tmp_path) == [] and list(tmp_path.iterdir()) == []


# --- memmap --------------------------------------------------------------------------


def test_memmap_sections_equal_base4k_and_present_pages_explain_the_rest():
    measured = measure_memmap()
    memmap = {row["source"]: row for row in measured.frame.filter(item="memmap").iter_rows(named=True)}
    present = sum(present_pages().values())
    assert memmap["zoneinfo_present"]["bytes"] == present * 64
    assert memmap["base4k_flatmem"]["bytes"] == present * 64  # flatmem: one entry per present page
    # sparsemem_vmemmap: whole 128 MiB sections, holes included.
    assert memmap["base4k"]["pages"] % (128 * MiB // 4096) == 0
    assert 0 <= memmap["base4k"]["pages"] - present < 128 * MiB // 4096 * len(present_pages())
    if "memory_sections" in memmap:
        assert memmap["memory_sections"]["bytes"] == memmap["base4k"]["bytes"]


def test_hvo_lines_parse_and_match_theory():
    log = (
        "HugeTLB: 16380 KiB vmemmap can be freed for a 1.00 GiB page\n"
        "other line\n"
        "HugeTLB: 28 KiB vmemmap can be freed for a 2.00 MiB page"
    )
    assert hvo_lines(log) == [(2 * MiB, 28 * KiB), (1 << 30, 16380 * KiB)]
    assert hvo_expected(2 * MiB) == 7 * 4096 and hvo_expected(1 << 30) == 4095 * 4096
    # The hvo strategy frees exactly what theory and the kernel's log say.
    assert hvo_model(2 * MiB) == 28 * KiB and hvo_model(1 << 30) == 16380 * KiB


@needs_root
def test_memmap_reads_the_boot_logs_hvo_lines():
    measured = measure_memmap()
    hvo = measured.tables["hvo"]
    if hvo.height == 0:
        pytest.skip("this kernel printed no HugeTLB vmemmap line (HVO not built in, or the log rotated)")
    assert hvo["exact"].all()
    assert set(hvo["page_size"].to_list()) <= {2 * MiB, 1 << 30}
    assert any("hvo strategy" in note for note in measured.notes)


# --- without root, bad input, interruption ---------------------------------------------


@pytest.fixture
def shared_tmp():
    """A folder uid 65534 can use (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="pagelab-test-nobody-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


def _world_usable(path: Path) -> bool:
    """Can any user reach and use ``path`` (every directory above it searchable)?"""
    path = path.resolve()
    if not path.exists() or not path.stat().st_mode & 0o005:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


def _as_nobody(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m pagelab ARGS`` as uid 65534, with an interpreter and libraries it can use.

    pagelab measure starts helper processes with its own interpreter, so the interpreter
    itself must be executable by nobody (a pyenv under /root is not).
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    interpreter = next((p for p in (Path(sys.executable), Path("/usr/bin") / version) if _world_usable(p)), None)
    libraries = [Path(pl.__file__).parents[1], Path(np.__file__).parents[1]]
    if interpreter is None or not all(_world_usable(p) for p in libraries):
        pytest.skip(f"needs a {version} interpreter and libraries that uid 65534 can use")

    def drop() -> None:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    path = os.pathsep.join([str(ROOT), *dict.fromkeys(str(p) for p in libraries)])
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "PYTHONPATH": path}
    return subprocess.run(
        [str(interpreter), "-m", "pagelab", *args],
        cwd=cwd,
        env=env,
        preexec_fn=drop,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(not IS_ROOT, reason="needs root to drop to uid 65534 for a real unprivileged run")
def test_without_root_residency_works_and_the_rest_refuses(shared_tmp):
    tree = shared_tmp / "tree"
    tree.mkdir()
    for i, size in enumerate(varied_sizes(10, seed=8, top=3 * MiB)):
        (tree / f"f{i}").write_bytes(b"\x04" * size)
        (tree / f"f{i}").chmod(0o644)
    tree.chmod(0o755)
    done = _as_nobody(shared_tmp, "measure", "pagecache", str(tree), "--dir", str(shared_tmp), "-o", "out.parquet")
    assert done.returncode == 0, done.stderr
    assert "folio census skipped: it needs root" in done.stdout
    frame = pl.read_parquet(shared_tmp / "out.parquet")
    kernel = frame.filter(source="kernel")
    assert kernel["o0"].null_count() == kernel.height  # no census without root
    assert (kernel["resident_pages"] == -(-kernel["size"] // 4096)).all()
    refused = _as_nobody(shared_tmp, "measure", "tmpfs", str(tree), "-o", "t.parquet")
    assert refused.returncode == 2
    expected = (
        "pagelab measure: error: pagelab measure tmpfs needs root (CAP_SYS_ADMIN to mount tmpfs in a private "
        "namespace); running as uid 65534"
    )
    assert refused.stderr.strip().splitlines() == [expected]
    assert sorted(p.name for p in shared_tmp.iterdir()) == ["out.parquet", "tree"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pagecache"], "give PATH, or --dataset NAME --sample N"),
        (["pagecache", "--dataset", "no_such_data", "--sample", "3"], "not a catalog name"),
        (["pagecache", "--dataset", "azure_2017", "--sample", "3"], "a files dataset is needed"),
        (["pagecache", "--dataset", "irlam_ufs93"], "--dataset needs --sample N"),
        (["pagecache", "--dataset", "irlam_ufs93", "--sample", "0"], "--sample: must be a positive"),
        (["pagecache", "/no/such/path"], "/no/such/path: No such file or directory"),
        (["pagecache", "README.md", "--dataset", "irlam_ufs93"], "give PATH or --dataset, not both"),
        (["pagecache", "README.md", "--read-size", "0"], "--read-size: expected positive sizes"),
        (["pagecache", "README.md", "--read-size", "4Q"], "--read-size: expected a size such as"),
        (["pagecache", "README.md", "--dir", "/no/such/dir"], "--dir /no/such/dir: not a directory"),
        (["pagecache", "README.md", "--read-size", "4K,1G"], "--read-size: at most 256.0 MiB"),
        (["memmap", "-o", "docs"], "-o docs: is a directory"),
        (["tmpfs", "README.md", "--huge", "sometimes"], "--huge: choose from always, within_size, never"),
        (["pagecache", "--bogus"], "unrecognized arguments: --bogus"),
        (["teleport"], "invalid choice: 'teleport'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    output = [] if "-o" in args else ["-o", str(tmp_path / "out.parquet")]
    done = pagelab_cli("measure", *args, *output, cwd=ROOT)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("pagelab measure: error: ") and message in lines[0]
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


def test_a_sample_that_does_not_fit_in_memory_is_refused_before_any_file(tmp_path):
    sizes = tmp_path / "huge.txt"
    sizes.write_text(f"{1 << 40}\n")  # a 1 TiB file: never fits
    work = tmp_path / "work"
    work.mkdir()
    done = pagelab_cli(
        "measure",
        "pagecache",
        "--dataset",
        str(sizes),
        "--sample",
        "1",
        "--dir",
        str(work),
        "-o",
        str(tmp_path / "out.parquet"),
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert "more than half of MemAvailable" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert list(work.iterdir()) == [] and not (tmp_path / "out.parquet").exists()


@needs_mount
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_tmpfs_removes_workspace_and_mounts(tmp_path, sig):
    work = tmp_path / "work"
    work.mkdir()
    sizes = tmp_path / "sizes.txt"
    sizes.write_text("".join(f"{70_000 + i}\n" for i in range(200)))  # 1000 files: 2 GiB with huge=always
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pagelab",
            "measure",
            "tmpfs",
            "--dataset",
            str(sizes),
            "--sample",
            "1000",
            "--dir",
            str(work),
            "-o",
            str(tmp_path / "out.parquet"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the namespace worker has left our mount namespace: it is about to mount.
    own = os.readlink("/proc/self/ns/mnt")
    workers: list[int] = []
    while proc.poll() is None and not any(_mount_ns(pid) not in (None, own) for pid in workers):
        workers = _children(proc.pid)
        time.sleep(0.005)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(work.iterdir()) == [] and not (tmp_path / "out.parquet").exists()
    for pid in workers:  # the namespace worker is gone, and with it its mounts
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not any("pagelab-tmpfs" in line for line in Path("/proc/self/mountinfo").read_text().splitlines())


@needs_root
def test_interrupting_pagecache_removes_the_workspace(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    sizes = tmp_path / "sizes.txt"
    sizes.write_text("".join(f"{300_000 + 4096 * i}\n" for i in range(100)))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pagelab",
            "measure",
            "pagecache",
            "--dataset",
            str(sizes),
            "--sample",
            "3000",
            "--read-size",
            "4K,64K",
            "--dir",
            str(work),
            "-o",
            str(tmp_path / "out.parquet"),
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while proc.poll() is None and not _children(proc.pid):  # wait for the first reader process
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(work.iterdir()) == [] and not (tmp_path / "out.parquet").exists()


class _SignalsItselfWhenCollected:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler's exception is printed and dropped


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception, on purpose
def test_a_signal_whose_exception_was_swallowed_is_raised_again_at_the_blocks_end():
    # CI once saw SIGTERM land in Popen.__del__: Python ignores exceptions raised there,
    # and the measurement went on to write its output.
    reached_the_end = False
    with pytest.raises(Interrupted, match="SIGTERM"):
        with cleanup_on_signals():
            _SignalsItselfWhenCollected()  # collected at once, SIGTERM handled inside __del__
            reached_the_end = True
    assert reached_the_end  # the block went on, as in CI; its end did not
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with cleanup_on_signals():
        pass  # the signal was consumed: a later block is not interrupted


def _mount_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@needs_root
def test_census_of_a_file_nobody_cached_is_empty(tmp_path):
    """The census only looks: it faults in cached pages and never reads new ones."""
    path = ext4_parent() / f"pagelab-test-{os.getpid()}"
    try:
        path.write_bytes(b"\x03" * (3 * MiB))
        from pagelab.measure.kernel import evict

        assert evict(path, 3 * MiB) == 0
        resident, counts = kernel_census(path, 3 * MiB, 9)
        assert resident == 0 and counts.sum() == 0
        assert evict(path, 3 * MiB) == 0  # and nothing was read in by the census
    finally:
        path.unlink(missing_ok=True)


def test_boot_reservations_are_read_from_the_kernel_and_compared_with_the_model():
    log = boot_log()
    if not log or reserved_at_boot(log) is None:
        pytest.skip("no readable 'Memory: ... reserved' line in this kernel's log")
    measured = measure_memmap()
    boot = {row["source"]: row["bytes"] for row in measured.frame.filter(item="boot_reserved").iter_rows(named=True)}
    assert boot["kernel_reserved"] == reserved_at_boot(log)
    sections = {row["source"]: row["bytes"] for row in measured.frame.filter(item="memmap").iter_rows(named=True)}
    if "kernel_reserved_less_memmap" in boot:
        assert boot["kernel_reserved_less_memmap"] == boot["kernel_reserved"] - sections["memory_sections"]
        # The kernel image is part of what memblock reserved before the memmap.
        assert 0 < boot.get("kernel_image", 1) <= boot["kernel_reserved_less_memmap"]
    assert boot["model"] == 101 * MiB


def test_the_memory_line_and_the_kernel_image_parse():
    line = ("[    0.247966] Memory: 3217664K/25165432K available (18906K kernel code, 2544K rwdata, 10284K rodata, "
            "3752K init, 1220K bss, 497048K reserved, 0K cma-reserved)")
    assert reserved_at_boot(line) == 497048 * 1024
    iomem = "00100000-bfffffff : System RAM\n  01000000-02276987 : Kernel code\n  03b36000-03c66fff : Kernel bss\n"
    assert kernel_image(iomem) == (0x02276987 - 0x01000000 + 1) + (0x03c66fff - 0x03b36000 + 1)
