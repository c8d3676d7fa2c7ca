"""Memory taken by files on tmpfs with ``huge=always``, ``within_size`` and ``never``.

The parent checks the sample, makes a workspace with one empty mount point per mode,
and runs a worker (``python -m pagelab.measure.tmpfs``) that enters a private mount
namespace (``mounts.py``) and, for each mode in turn: mounts a tmpfs, writes the files
(one ``write()`` each), measures the growth of ``Shmem`` in /proc/meminfo and of the
mount's used blocks (``df``), takes the folio census of each file, deletes the files,
checks that ``Shmem`` fell back (else another process disturbed it: retry), and unmounts.

Models: ``huge=always`` is the folio strategy with ``eof: round_up`` at the PMD order
(2 MiB); ``never`` is base4k; ``within_size`` takes base4k's memory (no folio passes
EOF) but sizes folios by the write, which no strategy models.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from polars._typing import PolarsDataType

from pagelab.errors import PagelabError
from pagelab.measure import compare, kernel
from pagelab.measure.output import Measurement, finish, provenance
from pagelab.measure.safety import (
    check_memory,
    cleanup_on_signals,
    require_linux,
    require_root,
    workspace,
)
from pagelab.measure.sample import Sample
from pagelab.units import ceil_div

MODES = ("always", "within_size", "never")
_TRIES = 3
_PIECE = 64 << 20


def schema(max_order: int) -> dict[str, PolarsDataType]:
    """Columns of a tmpfs measurement, in order. Rows with a null ``file`` are mount totals."""
    columns: dict[str, PolarsDataType] = {
        "measure": pl.String,
        "source": pl.String,  # kernel (census) | shmem | df (mount totals) | base4k | folio
        "fs_type": pl.String,
        "huge": pl.String,
        "file": pl.Int64,
        "size": pl.Int64,
        "resident_pages": pl.Int64,
        "pages": pl.Int64,
        "bytes": pl.Int64,
        "folios": pl.Int64,
    }
    columns.update({name: pl.Int64 for name in compare.order_columns(max_order)})
    return columns


def folio_mode(huge: str) -> compare.FolioMode:
    """The folio strategy's model of a tmpfs mount: round-up for ``always``, else order-0."""
    return "round_up" if huge == "always" else "order0"


def measure_tmpfs(sample: Sample, parent: Path, modes: tuple[str, ...] = MODES) -> Measurement:
    """Measure ``sample`` on a private tmpfs per mode; mount points live in a workspace under ``parent``."""
    require_linux("pagelab measure tmpfs")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:  # bad input first: it is wrong whoever runs it
        raise PagelabError(f"--huge: choose from {', '.join(MODES)}; got {', '.join(bad) or 'nothing'}")
    require_root("pagelab measure tmpfs", "CAP_SYS_ADMIN to mount tmpfs in a private namespace")
    max_order = kernel.pmd_order()
    sizes = sample.sizes.tolist()
    # The most memory one mount should take: huge=always rounds every file up to PMD folios.
    granule = kernel.PAGE_SIZE << max_order if "always" in modes else kernel.PAGE_SIZE
    largest = sum(ceil_div(s, granule) for s in sizes) * granule
    check_memory(largest, f"a tmpfs sample of {len(sizes)} files")
    # Room for twice the model, so a kernel that takes more fails with ENOSPC, not OOM.
    size_option = 2 * largest + (8 << 20)

    with cleanup_on_signals(), workspace(parent) as directory:
        request = {"sizes": sizes, "max_order": max_order, "mounts": []}
        for mode in modes:
            target = directory / f"tmpfs-{mode}"
            target.mkdir(mode=0o700)
            request["mounts"].append(
                {"huge": mode, "target": str(target), "options": f"huge={mode},size={size_option},mode=0700"}
            )
        result = _run_worker(request)

    frame, memory = _frames(sample, result, max_order)
    comparisons = [("folio census", "folio", "census")]
    census_rows = frame.filter(pl.col("huge") != "within_size")
    summary, differences = compare.agreement(census_rows, group="huge", max_order=max_order, comparisons=comparisons)
    notes = _notes(frame, memory, max_order)
    metadata = provenance(
        "tmpfs", modes=",".join(modes), max_order=max_order, sample=sample.origin, mount_size=size_option
    )
    tables = {"memory": memory, "agreement": summary, "differences": differences}
    return Measurement(frame, metadata, tables, tuple(notes))


def _run_worker(request: dict) -> list[dict]:
    """Run the namespace worker; return its per-mount results."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pagelab.measure.tmpfs"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    except OSError as exc:
        raise PagelabError(f"cannot start the tmpfs worker {sys.executable}: {exc.strerror}") from None
    try:
        out, err = proc.communicate(json.dumps(request))
    except BaseException:
        if proc.stdout:
            proc.stdout.close()  # tells the worker nobody waits for its results
        proc.terminate()  # its SIGTERM handler unmounts; the namespace goes with it anyway
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if proc.returncode != 0:
        last = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise PagelabError(f"tmpfs worker: {last}")
    return json.loads(out)


def _frames(sample: Sample, result: list[dict], max_order: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The long table (per file and per mount) and the per-mount memory table."""
    columns = schema(max_order)
    n = len(sample.sizes)
    parts, totals = [], []
    for mount in result:
        counts = np.asarray(mount["counts"], dtype=np.int64).reshape(n, max_order + 1)
        per_file = pl.DataFrame({f"o{k}": counts[:, k] for k in range(max_order + 1)}).with_columns(
            measure=pl.lit("tmpfs"),
            source=pl.lit("kernel"),
            fs_type=pl.lit("tmpfs"),
            huge=pl.lit(mount["huge"]),
            file=pl.Series(np.arange(n, dtype=np.int64)),
            size=pl.Series(sample.sizes),
            resident_pages=pl.Series(mount["resident"], dtype=pl.Int64),
            pages=compare.pages_expr(max_order),
            folios=pl.sum_horizontal(compare.order_columns(max_order)),
        )
        parts.append(per_file.with_columns(bytes=pl.col("pages") * kernel.PAGE_SIZE).select(list(columns)))
        for source in ("shmem", "df"):
            totals.append(
                {
                    "measure": "tmpfs",
                    "source": source,
                    "fs_type": "tmpfs",
                    "huge": mount["huge"],
                    "size": int(sample.sizes.sum()),
                    "pages": mount[source] // kernel.PAGE_SIZE,
                    "bytes": mount[source],
                }
            )
    measured = pl.concat(parts)
    frame = compare.with_predictions(
        measured, group="huge", folio_mode=folio_mode, read_ahead_kb=None, max_order=max_order
    )
    frame = pl.concat([frame, pl.DataFrame(totals)], how="diagonal_relaxed")
    frame = finish(frame, columns, ["huge", "file", "source"])
    stable = pl.DataFrame({"huge": [m["huge"] for m in result], "shmem_stable": [m["stable"] for m in result]})
    memory = _memory_table(frame, n).join(stable, on="huge", how="left")
    return frame, memory


def _memory_table(frame: pl.DataFrame, files: int) -> pl.DataFrame:
    """Per mount: Shmem and df growth, the census, base4k and folio totals, and the verdict.

    The model of each mount (folio round-up for ``always``, base4k otherwise) must match
    within one page per file, the issue's tolerance; ``exact`` says whether it is exact.
    """
    per_mount = (
        frame.group_by("huge")
        .agg(
            [
                pl.col("bytes").filter(pl.col("source") == s).sum().alias(f"{s}_bytes")
                for s in ("shmem", "df", "kernel", "base4k", "folio")
            ]
        )
        .rename({"kernel_bytes": "census_bytes"})
    )
    model = pl.when(pl.col("huge") == "always").then(pl.col("folio_bytes")).otherwise(pl.col("base4k_bytes"))
    tolerance = files * kernel.PAGE_SIZE
    measured = ("shmem_bytes", "df_bytes", "census_bytes")
    return (
        per_mount.with_columns(
            files=pl.lit(files, pl.Int64),
            model=pl.when(pl.col("huge") == "always").then(pl.lit("folio (round_up)")).otherwise(pl.lit("base4k")),
            model_bytes=model,
        )
        .with_columns(
            exact=pl.all_horizontal([pl.col(c) == pl.col("model_bytes") for c in measured]),
            within_one_page_per_file=pl.all_horizontal(
                [(pl.col(c) - pl.col("model_bytes")).abs() <= tolerance for c in measured]
            ),
        )
        .select(
            "huge",
            "files",
            *measured,
            "model",
            "model_bytes",
            "base4k_bytes",
            "folio_bytes",
            "exact",
            "within_one_page_per_file",
        )
        .sort(pl.col("huge").replace_strict({m: i for i, m in enumerate(MODES)}, default=len(MODES)))
    )


def _notes(frame: pl.DataFrame, memory: pl.DataFrame, max_order: int) -> list[str]:
    notes = []
    for huge in memory["huge"].to_list():
        rows = frame.filter(pl.col("huge") == huge)
        if not compare.large_folios_seen(rows, max_order):
            notes.append(
                f"tmpfs (huge={huge}) used no large folios: every folio is order 0; compared against order-0 (base4k)"
            )
        elif huge == "within_size":
            notes.append(
                "tmpfs (huge=within_size) sized folios by the write (large folios, none past EOF): no strategy "
                "models that census; its memory is compared with base4k"
            )
    unstable = memory.filter(~pl.col("shmem_stable"))["huge"].to_list()
    if unstable:
        notes.append(
            f"Shmem did not return to its starting value after deleting the files on huge={', '.join(unstable)}: "
            "another process changed shared memory meanwhile; df and the census are per mount and unaffected"
        )
    return notes


# --- the worker (runs in its own mount namespace) ----------------------------------------


def _used(target: str) -> int:
    stats = os.statvfs(target)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def _measure_mount(target: str, sizes: list[int], max_order: int) -> dict:
    """Write, measure, census, delete, on one mounted tmpfs; retry if Shmem was disturbed."""
    # write() is split into 2 MiB-aligned steps by the kernel (generic_perform_write), so
    # writing in 64 MiB pieces allocates exactly the folios one big write() would.
    block = memoryview(b"\x5a" * min(max(sizes + [1]), _PIECE))
    for attempt in range(_TRIES):
        shmem0, used0 = kernel.meminfo(refresh=True)["Shmem"], _used(target)
        paths = []
        for index, size in enumerate(sizes):
            path = os.path.join(target, f"f{index:06d}")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                done = 0
                while done < size:
                    done += os.write(fd, block[: min(size - done, _PIECE)])
            finally:
                os.close(fd)
            paths.append(path)
        shmem1, used1 = kernel.meminfo(refresh=True)["Shmem"], _used(target)
        resident, counts = [], []
        for path, size in zip(paths, sizes, strict=True):
            pages, orders = kernel.folio_census(Path(path), size, max_order)
            resident.append(pages)
            counts.extend(orders.tolist())
        for path in paths:
            os.unlink(path)
        shmem2 = kernel.meminfo(refresh=True)["Shmem"]
        stable = shmem2 == shmem0
        if stable or attempt == _TRIES - 1:
            return {
                "shmem": shmem1 - shmem0,
                "df": used1 - used0,
                "resident": resident,
                "counts": counts,
                "stable": stable,
            }
    raise AssertionError("unreachable")


def _parent_gone(wait: float = 2.0) -> bool:
    """Has the reading end of our stdout closed (the parent died or gave up on us)?

    getppid() cannot tell: a dying multi-threaded parent keeps its pid for a while.
    """
    poller = select.poll()
    poller.register(sys.stdout.fileno(), select.POLLOUT)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if any(event & (select.POLLERR | select.POLLHUP) for _fd, event in poller.poll(50)):
            return True
        time.sleep(0.05)
    return False


def _worker() -> int:
    """Entry point of the namespace worker: JSON request on stdin, JSON results on stdout."""
    from pagelab.measure.mounts import enter_private_namespace, tmpfs

    request = json.load(sys.stdin)
    targets = [Path(mount["target"]) for mount in request["mounts"]]
    try:
        # SIGTERM (from the parent, or PR_SET_PDEATHSIG when it dies) unwinds through the
        # ``finally`` that unmounts; the private namespace is the second line of defence.
        with cleanup_on_signals():
            enter_private_namespace()
            results = []
            for mount, target in zip(request["mounts"], targets, strict=True):
                with tmpfs(target, mount["options"]):
                    measured = _measure_mount(str(target), request["sizes"], request["max_order"])
                results.append({"huge": mount["huge"], **measured})
    except PagelabError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, or Interrupted from a signal
        if _parent_gone():  # killed (SIGKILL: PR_SET_PDEATHSIG): remove the empty mount points it made
            for directory in [*targets, targets[0].parent]:
                with contextlib.suppress(OSError):
                    directory.rmdir()  # rmdir only: never anything with content
        return 130
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(_worker())
