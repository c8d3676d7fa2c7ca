"""The memmap of this machine against base4k, and the kernel's HVO numbers against theory.

- Present pages, summed over /proc/zoneinfo, times 64 bytes: the struct pages of memory
  the firmware reported. The kernel's vmemmap is built per *present memory section*
  (128 MiB on x86-64), holes inside a section included; the online memory blocks in
  /sys/devices/system/memory count those sections. base4k's default model
  (``sparsemem_vmemmap``) rounds each node's memory up to sections, so it should equal
  the sections' memmap, and exceed present x 64 by the holes; ``flatmem`` is present x 64.
- HugeTLB Vmemmap Optimization: at boot the kernel prints how much vmemmap it can free
  per huge page ("HugeTLB: 28 KiB vmemmap can be freed for a 2.00 MiB page"), compared
  with the ``hvo`` strategy. Theory (kernel-facts.md section 3,
  Documentation/mm/vmemmap_dedup.rst): a huge page of S bytes has S / 4096 struct pages of
  64 bytes, and HVO keeps one of their vmemmap pages.
- Boot-time reservations: what memblock took before the buddy allocator started. The
  kernel prints it once ("Memory: 3217664K/25165432K available (... 497048K reserved
  ...)"); that figure includes the memmap, which is allocated after ``dmem=`` runs, so
  reserved less the sections' memmap is what ``dmem=`` already finds taken: compared with
  the workloads' ``boot_reserved``. /proc/iomem's "Kernel code/rodata/data/bss" ranges
  give the kernel image, one part of it.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import polars as pl
from polars._typing import PolarsDataType

from pagelab.allocator import Machine, per_node
from pagelab.errors import PagelabError
from pagelab.measure.kernel import PAGE_SIZE
from pagelab.measure.output import Measurement, finish, provenance
from pagelab.measure.safety import require_linux
from pagelab.models.memmap import memmap

STRUCT_PAGE = 64
SECTION_SIZE = 128 << 20  # x86-64 SECTION_SIZE_BITS 27 (and arm64 with 4K pages)
_HVO = re.compile(r"HugeTLB: (\d+) KiB vmemmap can be freed for a ([\d.]+) (KiB|MiB|GiB) page")
_UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
_MEMORY = re.compile(r"Memory: \d+K/\d+K available \(.*?(\d+)K reserved")
_KERNEL_IMAGE = re.compile(r"^\s*([0-9a-f]+)-([0-9a-f]+) : Kernel (?:code|rodata|data|bss)$", re.MULTILINE)

SCHEMA: dict[str, PolarsDataType] = {
    "measure": pl.String,
    "item": pl.String,  # memmap | hvo | boot_reserved
    # memmap: zoneinfo_present | memory_sections | base4k | base4k_flatmem; hvo: kernel | expected;
    # boot_reserved: kernel_reserved | kernel_reserved_less_memmap | kernel_image | model
    "source": pl.String,
    "page_size": pl.Int64,  # huge page size for hvo rows; 4096 for memmap rows
    "pages": pl.Int64,  # struct pages (memmap) or vmemmap pages freed per huge page (hvo)
    "bytes": pl.Int64,
}


def present_pages(zoneinfo: str | None = None) -> dict[int, int]:
    """Present pages per NUMA node, summed over the zones of /proc/zoneinfo."""
    text = Path("/proc/zoneinfo").read_text() if zoneinfo is None else zoneinfo
    nodes: dict[int, int] = {}
    node = None
    for line in text.splitlines():
        head = re.match(r"Node (\d+), zone", line)
        if head:
            node = int(head.group(1))
            nodes.setdefault(node, 0)
            continue
        fields = line.split()
        if node is not None and len(fields) == 2 and fields[0] == "present":
            nodes[node] += int(fields[1])
    if not nodes:
        raise PagelabError("/proc/zoneinfo: no zone with a 'present' line")
    return nodes


def online_sections(root: Path = Path("/sys/devices/system/memory")) -> int | None:
    """Memory sections in online memory blocks, or None where sysfs does not show them."""
    try:
        block = int((root / "block_size_bytes").read_text().strip(), 16)
    except (OSError, ValueError):
        return None
    online = 0
    for entry in root.glob("memory[0-9]*"):
        try:
            if (entry / "online").read_text().strip() == "1":
                online += 1
        except OSError:
            continue
    return online * block // SECTION_SIZE


def boot_log() -> str | None:
    """The kernel log as /dev/kmsg holds it (non-blocking read); None without permission."""
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        return None
    except FileNotFoundError:
        return ""
    lines = []
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                break  # end of the buffer
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # a record was overwritten while we read: skip it
                    continue
                raise
            if not record:
                break
            lines.append(record.decode(errors="replace").partition(";")[2].rstrip("\n"))
    finally:
        os.close(fd)
    return "\n".join(lines)


def hvo_lines(log: str) -> list[tuple[int, int]]:
    """(huge page bytes, vmemmap bytes the kernel can free) for each HVO line of ``log``."""
    found = {}
    for freed_kib, size, unit in _HVO.findall(log):
        found[round(float(size) * _UNITS[unit])] = int(freed_kib) << 10
    return sorted(found.items())


def reserved_at_boot(log: str) -> int | None:
    """Bytes memblock had reserved when the buddy allocator started (dmesg "Memory:" line)."""
    found = _MEMORY.search(log)
    return int(found.group(1)) << 10 if found else None


def kernel_image(iomem: str) -> int:
    """Bytes of the kernel image in /proc/iomem (code, rodata, data, bss); 0 where hidden."""
    return sum(int(end, 16) - int(start, 16) + 1 for start, end in _KERNEL_IMAGE.findall(iomem))


def hvo_expected(huge_page: int) -> int:
    """Vmemmap bytes HVO frees per huge page: all its vmemmap pages but one."""
    vmemmap_pages = huge_page // PAGE_SIZE * STRUCT_PAGE // PAGE_SIZE
    return (vmemmap_pages - 1) * PAGE_SIZE


def hvo_model(huge_page: int) -> int | None:
    """Vmemmap bytes the ``hvo`` strategy frees per huge page; None if it cannot say.

    Asks the installed strategy with a 1 GiB pool on a 2 GiB machine, so that the
    comparison checks the model, not a second copy of the theory.
    """
    from pagelab.allocator import REQUEST_SCHEMA
    from pagelab.strategies.registry import installed_strategies

    registered = installed_strategies().get("hvo")
    size = {2 << 20: "2M", 1 << 30: "1G"}.get(huge_page)
    if registered is None or size is None:
        return None
    spec = registered.spec
    machine = Machine.even(2 << 30)
    params = spec.params(pool="boot", boot_pool="1G", hugepagesz=size)
    allocation = spec.factory(params)(machine, pl.DataFrame(schema=REQUEST_SCHEMA))
    _, full = memmap(machine, PAGE_SIZE)
    return (sum(full) - sum(per_node(allocation.memmap_bytes, machine))) // ((1 << 30) // huge_page)


def measure_memmap() -> Measurement:
    """Measure the memmap and read the HVO lines; compare with base4k and with theory."""
    require_linux("pagelab measure memmap")
    nodes = present_pages()
    present = sum(nodes.values())
    node_bytes = [nodes[n] * PAGE_SIZE for n in sorted(nodes)]
    machine = Machine(tuple(node_bytes))
    rows = [("memmap", "zoneinfo_present", PAGE_SIZE, present, present * STRUCT_PAGE)]
    sections = online_sections()
    if sections is not None:
        pages = sections * (SECTION_SIZE // PAGE_SIZE)
        rows.append(("memmap", "memory_sections", PAGE_SIZE, pages, pages * STRUCT_PAGE))
    for source, memory_model in (("base4k", "sparsemem_vmemmap"), ("base4k_flatmem", "flatmem")):
        pages, memmap_bytes = memmap(machine, PAGE_SIZE, memory_model=memory_model)
        rows.append(("memmap", source, PAGE_SIZE, pages, sum(memmap_bytes)))

    notes = []
    log = boot_log()
    found = hvo_lines(log) if log else []
    if log is None:
        notes.append(
            "HVO lines skipped: reading the boot log (/dev/kmsg) needs root (CAP_SYSLOG; kernel.dmesg_restrict)"
        )
    elif not found:
        notes.append(
            "no 'HugeTLB: ... vmemmap can be freed' line in the kernel log (HVO not built in, or the log rotated)"
        )
    modelled = {huge_page: hvo_model(huge_page) for huge_page, _ in found}
    for huge_page, freed in found:
        model = modelled[huge_page]
        expected = hvo_expected(huge_page) if model is None else model
        rows.append(("hvo", "kernel", huge_page, freed // PAGE_SIZE, freed))
        rows.append(("hvo", "expected", huge_page, expected // PAGE_SIZE, expected))
    rows += _boot_rows(log, sections, notes)
    if found:
        notes.append(_hvo_strategy_note(all(m is not None for m in modelled.values())))
        enabled = _read(Path("/proc/sys/vm/hugetlb_optimize_vmemmap"))
        if enabled is not None:
            state = "on" if enabled == "1" else "off: the boot line gives the potential saving"
            notes.append(f"vm.hugetlb_optimize_vmemmap = {enabled} ({state})")

    frame = pl.DataFrame(rows, schema=["item", "source", "page_size", "pages", "bytes"], orient="row").with_columns(
        measure=pl.lit("memmap")
    )
    frame = finish(frame, SCHEMA, ["item", "page_size", "source"])
    tables = _tables(frame, present)
    metadata = provenance(
        "memmap", present_pages=present, nodes=len(nodes), online_sections=sections, struct_page=STRUCT_PAGE
    )
    return Measurement(frame, metadata, tables, tuple(notes))


def _boot_rows(log: str | None, sections: int | None, notes: list[str]) -> list[tuple[str, str, int, int, int]]:
    """Boot-time reservations as the kernel reports them, against the workloads' boot_reserved."""
    from pagelab.pipeline.config import WorkloadConfig
    from pagelab.units import ceil_div, parse_size

    model = parse_size(WorkloadConfig.boot_reserved, "workload.boot_reserved")
    rows = [("boot_reserved", "model", PAGE_SIZE, model // PAGE_SIZE, model)]
    image = kernel_image(_read(Path("/proc/iomem")) or "")
    if image:  # zeros for non-root readers
        rows.append(("boot_reserved", "kernel_image", PAGE_SIZE, ceil_div(image, PAGE_SIZE), image))
    reserved = reserved_at_boot(log) if log else None
    if reserved is None:
        notes.append("no 'Memory: ... reserved' line in the kernel log (needs root, or the log rotated)")
        return rows
    rows.append(("boot_reserved", "kernel_reserved", PAGE_SIZE, reserved // PAGE_SIZE, reserved))
    if sections is not None:
        before_memmap = reserved - sections * (SECTION_SIZE // PAGE_SIZE) * STRUCT_PAGE
        rows.append(("boot_reserved", "kernel_reserved_less_memmap", PAGE_SIZE, before_memmap // PAGE_SIZE, before_memmap))
    return rows


def _hvo_strategy_note(from_strategy: bool) -> str:
    """Say where the expected HVO numbers come from."""
    if from_strategy:
        return "expected HVO savings come from the hvo strategy (one kept vmemmap page per huge page)"
    return (
        "no hvo strategy installed: expected = (struct pages x 64 B / 4096 - 1) vmemmap pages per huge page "
        "(kernel-facts.md section 3)"
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _tables(frame: pl.DataFrame, present: int) -> dict[str, pl.DataFrame]:
    """Every memmap source against base4k (sparsemem), and the kernel's HVO against the hvo strategy."""
    memmap_rows = frame.filter(pl.col("item") == "memmap")
    model = memmap_rows.filter(pl.col("source") == "base4k")["bytes"].item()
    agreement = memmap_rows.select(
        "source",
        "pages",
        "bytes",
        model_bytes=pl.lit(model, pl.Int64),
        difference=pl.col("bytes") - model,
        pages_beyond_present=pl.col("pages") - present,
    )
    hvo = frame.filter(pl.col("item") == "hvo")
    kernel = hvo.filter(pl.col("source") == "kernel").select("page_size", kernel_bytes="bytes", kernel_pages="pages")
    expected = hvo.filter(pl.col("source") == "expected").select(
        "page_size", expected_bytes="bytes", expected_pages="pages"
    )
    hvo_table = kernel.join(expected, on="page_size").with_columns(
        vmemmap_pages=pl.col("page_size") // PAGE_SIZE * STRUCT_PAGE // PAGE_SIZE,
        exact=pl.col("kernel_bytes") == pl.col("expected_bytes"),
    )
    boot = frame.filter(pl.col("item") == "boot_reserved")
    boot_model = boot.filter(pl.col("source") == "model")["bytes"].item()
    boot_table = boot.select("source", "bytes", model_bytes=pl.lit(boot_model, pl.Int64),
                             difference=pl.col("bytes") - boot_model)
    return {"agreement": agreement, "hvo": hvo_table, "boot": boot_table}
