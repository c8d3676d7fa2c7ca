"""Boot-time per-node memory reservations in the ``dmem=`` syntax of DMEMFS (RFC v2).

``dmem=[!]size[KMG][:align][@addr]`` (mm/dmem_reserve.c): ``size`` on each NUMA node,
taken from the top of the node; with ``!`` the kernel keeps ``size`` per node and the
reservation takes the rest; ``@addr`` reserves one fixed range. check_dmem_param()'s rules
are applied with the kernel's wording. Strategies that set memory aside at boot (DMEMFS,
a HugeTLB pool) share this syntax, so they can be compared at the same kernel share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pagelab.allocator import Machine
from pagelab.errors import PagelabError
from pagelab.units import MiB, format_bytes, parse_size, round_up

_DMEM = re.compile(r"^(?P<bang>!?)(?P<size>[^:@]+)(?::(?P<align>[^@]+))?(?:@(?P<addr>[^:]+))?(?::(?P<align2>.+))?$")


@dataclass(frozen=True)
class DmemParam:
    """A parsed ``dmem=`` value."""

    size: int
    align: int
    resv_kernel: bool  # "!": size is what the kernel keeps on each node
    base: int | None = None  # "@addr": one fixed range instead of every node


def parse_dmem(text: str, section_size: int = 128 * MiB) -> DmemParam:
    """Parse ``dmem=`` and apply check_dmem_param()'s rules, with the kernel's wording."""
    match = _DMEM.match(str(text).strip())
    if not match or (match["align"] and match["align2"]):
        raise PagelabError(f"dmem={text}: expected [!]size[KMG][:align][@addr]")
    size = parse_size(match["size"], f"dmem={text}")
    align_text = match["align"] or match["align2"]
    align = parse_size(align_text, f"dmem={text}") if align_text else section_size
    base = parse_size(match["addr"], f"dmem={text}") if match["addr"] else None
    if align < section_size:
        raise PagelabError(f"dmem={text}: 'align' should be {section_size:#x} at least to be aligned to memory section")
    if align & (align - 1):
        raise PagelabError(f"dmem={text}: 'align' should be power of 2")
    if base is not None and base & (align - 1):
        raise PagelabError(f"dmem={text}: 'addr' is unaligned to 'align' in dmem=")
    if size & (align - 1):
        raise PagelabError(
            f"dmem={text}: 'size' is unaligned to 'align' in dmem= (must be a multiple of {align // MiB} MiB)"
        )
    if match["bang"] and base is not None:
        raise PagelabError(f"dmem={text}: take a certain base address for kernel is illegal")
    if base == 0:
        raise PagelabError(f"dmem={text}: 'addr' must not be 0")
    return DmemParam(size, align, bool(match["bang"]), base)


def carveout_per_node(param: DmemParam, machine: Machine, *, for_guests: bool = False) -> list[int]:
    """Bytes the reservation takes on each node (from the top of the node).

    Sizes count from the memory memblock still has free at boot
    (:meth:`Machine.free_at_boot`), as dmem_reserve_init() does. A size of 0 is rejected
    by the kernel's parser, which then reserves nothing. With ``for_guests`` (guests are to
    live in the reservation) a kernel share (``!size``) at least as large as a node's
    memory is an error naming both sizes: the kernel would reserve nothing there and
    every guest would be silently refused.
    """
    if param.size == 0:
        return [0] * machine.nodes
    starts = [sum(machine.node_bytes[:n]) for n in range(machine.nodes)]
    if param.base is not None:
        end = param.base + param.size
        inside = [n for n, (start, size) in enumerate(zip(starts, machine.node_bytes)) if start <= param.base and end <= start + size]
        if not inside:
            raise PagelabError(f"dmem={param.size:#x}@{param.base:#x}: range is not inside one node's memory")
        return [param.size if n == inside[0] else 0 for n in range(machine.nodes)]
    free = machine.free_at_boot()
    if param.resv_kernel and for_guests:
        full = [n for n, node in enumerate(free) if param.size >= node and machine.node_bytes[n]]
        if full:
            n = full[0]
            raise PagelabError(
                f"dmem: the kernel share (!size) of {format_bytes(param.size)} is not smaller than "
                f"node {n}'s {format_bytes(free[n])} free at boot, so nothing is reserved there for guests"
            )
    if param.resv_kernel:
        return [max(round_up(node, param.align) - param.size, 0) if param.size < node else 0 for node in free]
    return [min(param.size, node) for node in free]
