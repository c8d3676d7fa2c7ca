"""The memmap: one struct page per base page, per present memory section (mm/sparse.c)."""

from __future__ import annotations

from collections.abc import Sequence

from pagelab.allocator import MEMORY_MODELS, Machine
from pagelab.errors import PagelabError
from pagelab.units import MiB, ceil_div


def default_section_size(page_size: int) -> int:
    """Memory section size of the architecture that runs ``page_size`` base pages.

    x86-64 and arm64 with 4K/16K pages use 128 MiB (SECTION_SIZE_BITS 27); arm64 with
    64K pages uses 512 MiB (SECTION_SIZE_BITS 29), per arch/*/include/asm/sparsemem.h.
    """
    return 512 * MiB if page_size >= 64 * 1024 else 128 * MiB


def memmap(
    machine: Machine,
    page_size: int,
    *,
    kernel_bytes_per_node: Sequence[int] | None = None,
    memory_model: str | None = None,
    section_size: int | None = None,
) -> tuple[int, tuple[int, ...]]:
    """Return ``(struct_pages, memmap_bytes per node)`` for one struct page per ``page_size``.

    ``sparsemem_vmemmap`` builds the memmap per present memory section, so a partly
    present section costs a whole section's struct pages (mm/sparse.c). ``flatmem``
    has one mem_map entry per present page. ``kernel_bytes_per_node`` limits the memmap
    to memory the kernel owns: DMEMFS removes its carve-out from memblock. Each node's
    memmap is allocated on that node (vmemmap_populate() asks for node-local memory).
    """
    model = memory_model or machine.memory_model
    owned = machine.node_bytes if kernel_bytes_per_node is None else tuple(kernel_bytes_per_node)
    if model == "flatmem":
        pages = [node // page_size for node in owned]
    elif model == "sparsemem_vmemmap":
        section = section_size or machine.section_size
        pages = [ceil_div(node, section) * (section // page_size) for node in owned]
    else:
        raise PagelabError(
            f"memory_model: unknown model {model!r}; choose one of {', '.join(MEMORY_MODELS)}"
        )
    return sum(pages), tuple(p * machine.struct_page_size for p in pages)
