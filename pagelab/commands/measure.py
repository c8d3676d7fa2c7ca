"""``pagelab measure``: check the models against the running kernel.

pagelab measure pagecache --dataset irlam_ufs93 --sample 40 --read-size 4K,64K
pagelab measure pagecache ~/src/project -o project.parquet
pagelab measure tmpfs --dataset irlam_ufs93 --sample 50
pagelab measure memmap
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.table import Table

from pagelab.commands.parser import SubcommandParser, subcommand_parser
from pagelab.errors import PagelabError
from pagelab.units import format_bytes, parse_size

if TYPE_CHECKING:  # the measurement modules load only when a subcommand runs
    from pagelab.measure.output import Measurement
    from pagelab.measure.sample import Sample

PROG = "pagelab measure"
_SHOWN_DIFFERENCES = 20


def default_dir() -> Path:
    """Where workspaces go by default: /var/tmp (disk-backed on most systems), else TMPDIR."""
    var_tmp = Path("/var/tmp")
    if var_tmp.is_dir() and os.access(var_tmp, os.W_OK):
        return var_tmp
    return Path(tempfile.gettempdir())


def _add_sample_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, metavar="PATH", help="measure copies of the files under PATH")
    parser.add_argument("--dataset", metavar="NAME", help="files dataset (catalog name or path) to draw sizes from")
    parser.add_argument("--sample", type=int, metavar="N", help="number of files to draw (or to pick under PATH)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to create the temporary workspace (default /var/tmp); its file system is the one measured",
    )


def _add_output(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("-o", "--output", type=Path, default=Path(default), help=f"default {default}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pagelab measure``."""
    parser = subcommand_parser(PROG, "Measure the running kernel and compare it with pagelab's models.")
    sub = parser.add_subparsers(dest="what", metavar="{pagecache,tmpfs,memmap}", parser_class=SubcommandParser)
    sub.required = True
    page = sub.add_parser(
        "pagecache",
        help="resident pages and folio census after a cold sequential read",
        description="Evict, read sequentially in a fresh process, record resident pages (mincore) and, as root, "
        "the folio census (pagemap + kpageflags); compare with base4k and folio.",
    )
    _add_sample_options(page)
    page.add_argument("--read-size", default="64K", metavar="SIZE[,SIZE...]", help="read() size(s) (default 64K)")
    _add_output(page, "pagecache.parquet")
    tmp = sub.add_parser(
        "tmpfs",
        help="memory taken on private tmpfs mounts (huge=always, within_size, never); needs root",
        description="Mount private tmpfs instances, write the sample into each, measure Shmem and df growth and "
        "the folio census; compare with folio eof=round_up (always) and base4k (never).",
    )
    _add_sample_options(tmp)
    tmp.add_argument("--huge", default="always,within_size,never", help="huge= modes to mount (default all three)")
    _add_output(tmp, "tmpfs.parquet")
    mem = sub.add_parser(
        "memmap",
        help="memmap from /proc/zoneinfo and the boot log's HVO lines, against base4k and the hvo strategy",
        description="Present pages x 64 B and online memory sections against base4k; HugeTLB vmemmap (HVO) "
        "lines from the kernel log against the hvo strategy.",
    )
    _add_output(mem, "memmap.parquet")
    return parser


def _sample(args: argparse.Namespace) -> Sample:
    from pagelab.measure import sample

    if args.path is not None and args.dataset is not None:
        raise PagelabError("give PATH or --dataset, not both")
    if args.path is not None:
        return sample.from_path(args.path, args.sample, args.seed)
    if args.dataset is None:
        raise PagelabError("give PATH, or --dataset NAME --sample N")
    if args.sample is None:
        raise PagelabError("--dataset needs --sample N (the number of files to draw)")
    return sample.from_dataset(args.dataset, args.sample, args.seed)


MAX_READ_SIZE = 256 << 20  # the reader holds one buffer of this size


def _read_sizes(text: str) -> list[int]:
    sizes = [parse_size(part, "--read-size") for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) <= 0:
        raise PagelabError(f"--read-size: expected positive sizes such as 4K,64K, got {text!r}")
    if max(sizes) > MAX_READ_SIZE:
        raise PagelabError(
            f"--read-size: at most {format_bytes(MAX_READ_SIZE)} per read(), got {format_bytes(max(sizes))}"
        )
    return list(dict.fromkeys(sizes))  # keep order, drop repeats


def run(args: argparse.Namespace) -> Measurement:
    """Measure as ``args`` say and write the dataset; return the measurement."""
    from pagelab.measure.output import write

    if args.output.is_dir():  # before measuring, not after
        raise PagelabError(f"-o {args.output}: is a directory")
    if args.what == "memmap":
        from pagelab.measure.memmap import measure_memmap

        measurement = measure_memmap()
    elif args.what == "pagecache":
        from pagelab.measure.pagecache import measure_pagecache

        read_sizes = _read_sizes(args.read_size)  # check cheap input before touching files
        measurement = measure_pagecache(_sample(args), read_sizes, args.dir or default_dir())
    else:
        from pagelab.measure.tmpfs import measure_tmpfs

        modes = tuple(m.strip() for m in args.huge.split(",") if m.strip())
        measurement = measure_tmpfs(_sample(args), args.dir or default_dir(), modes)
    write(measurement, args.output)
    return measurement


def _cell(value: object, as_bytes: bool = False, as_size: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if as_size and isinstance(value, int):
        return format_bytes(value)  # a parameter such as a read size: 64.0 KiB
    if as_bytes and isinstance(value, int):
        # Exact, not rounded: a difference of a few pages must stay visible.
        return f"{value // 1024:,} KiB" if value % 1024 == 0 else f"{value:,} B"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(
    title: str,
    frame: pl.DataFrame,
    byte_columns: tuple[str, ...] = (),
    names: dict[str, str] | None = None,
    size_columns: tuple[str, ...] = ("read_size", "page_size"),
) -> Table:
    """A rich table of ``frame``: exact byte columns, human sizes for parameters."""
    names = names or {}
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        table.add_column(names.get(name, name), justify="right" if frame[name].dtype.is_numeric() else "left")
    for row in frame.iter_rows(named=True):
        table.add_row(*[_cell(v, k in byte_columns, k in size_columns) for k, v in row.items()])
    return table


def render(measurement: Measurement, console: Console) -> None:
    """Print the measurement's header, tables and notes."""
    meta = measurement.metadata
    kind = meta["pagelab.measure"]
    facts = [f"kernel {meta['kernel.release']}"]
    labels = {
        "measure.fs": "",
        "measure.read_ahead_kb": "read_ahead_kb ",
        "measure.device": "device ",
        "measure.io_pages": "io_pages ",
        "measure.max_order": "max folio order ",
        "measure.sample": "",
        "measure.present_pages": "present pages ",
    }
    facts += [f"{label}{meta[key]}" for key, label in labels.items() if key in meta]
    console.print(f"[bold]measure {kind}[/bold]: " + ", ".join(facts), soft_wrap=True)
    tables = measurement.tables
    if "memory" in tables:
        memory = tables["memory"].select(
            "huge",
            "files",
            "shmem_bytes",
            "df_bytes",
            "census_bytes",
            "model",
            "model_bytes",
            "within_one_page_per_file",
            "exact",
        )
        names = {
            "shmem_bytes": "Shmem",
            "df_bytes": "df",
            "census_bytes": "census",
            "model_bytes": "model size",
            "within_one_page_per_file": "within 1 page/file",
        }
        console.print(
            _table("memory taken per mount", memory, ("shmem_bytes", "df_bytes", "census_bytes", "model_bytes"), names)
        )
    if kind == "memmap":
        console.print(
            _table(
                "memmap (64-byte struct pages) against base4k (sparsemem_vmemmap)",
                tables["agreement"],
                ("bytes", "model_bytes", "difference"),
                {"pages_beyond_present": "pages - present"},
                (),
            )
        )
        if tables["hvo"].height:
            console.print(
                _table(
                    "HVO: vmemmap freed per huge page, kernel boot log against the hvo strategy",
                    tables["hvo"],
                    ("kernel_bytes", "expected_bytes"),
                )
            )
        console.print(
            _table("boot-time reservations (before dmem= runs) against workload.boot_reserved", tables["boot"],
                   ("bytes", "model_bytes", "difference"))
        )
        return _notes(measurement, console)
    if tables["agreement"].height:
        console.print(_table("agreement (exact matches per file)", tables["agreement"]))
    diffs = tables["differences"]
    if diffs.height:
        shown = diffs.head(_SHOWN_DIFFERENCES)
        more = f" (first {_SHOWN_DIFFERENCES} of {diffs.height})" if diffs.height > _SHOWN_DIFFERENCES else ""
        console.print(_table(f"differences{more}: kernel and model, folios as pages-per-folio:count", shown))
    elif tables["agreement"].height:
        console.print("differences: none, every file matches exactly")
    _notes(measurement, console)


def _notes(measurement: Measurement, console: Console) -> None:
    for note in measurement.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)  # one line each: easy to grep


def main(argv: list[str]) -> int:
    """Entry point of ``pagelab measure``; PagelabError goes up to the CLI (one line, exit 2)."""
    from pagelab.measure.safety import Interrupted, cleanup_on_signals

    args = build_parser().parse_args(argv)
    try:
        with cleanup_on_signals():  # SIGTERM/SIGHUP clean up like Ctrl-C, up to the atomic write
            measurement = run(args)
    except (KeyboardInterrupt, Interrupted):
        print(f"{PROG}: interrupted; the workspace and mounts were removed, nothing was written", file=sys.stderr)
        return 130
    console = Console(width=None if sys.stdout.isatty() else 120)
    render(measurement, console)
    print(f"wrote {args.output} ({measurement.frame.height:,} rows)", file=sys.stderr)
    return 0
