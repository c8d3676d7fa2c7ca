"""hotplug: memory-only nodes (a CXL expander) hot-added at run time, with or without
``memory_hotplug.memmap_on_memory``.

At boot every node's memmap comes from that node's own memory (sparse_init() allocates it
from memblock node by node; base4k models that). Memory hot-added later is different: its
struct pages must exist before the memory can be onlined, so without ``memmap_on_memory``
``vmemmap_populate()`` allocates them from memory that is already online, that is from
the nodes with CPUs (ZONE_NORMAL there). With ``memmap_on_memory`` the memmap of each
memory block is carved from the start of that block itself (a vmem_altmap), and the
hot-added node pays for its own struct pages (Documentation/admin-guide/mm/memory-hotplug.rst,
"memory_hotplug.memmap_on_memory"; mm/memory_hotplug.c, mhp_supports_memmap_on_memory()).

Rules modelled, from mm/memory_hotplug.c (Linux 6.6+):

- the memmap of one memory block is ``block_size / 4 KiB * sizeof(struct page)`` bytes
  (memory_block_memmap_size());
- ``on``: used only if that memmap covers whole pageblocks (IS_ALIGNED(...,
  pageblock_nr_pages)); otherwise the kernel falls back to the regular allocation, as
  ``off`` (commit "mm/hotplug: Allow memmap on memory hotplug request to fallback");
- ``force``: the memmap is padded up to whole pageblocks (pageblock_align()); the padding
  is reserved with it and nobody can use it (commit "mm/memory_hotplug: support
  memmap_on_memory when memmap is not aligned to pageblocks": 64K pages, 256 MiB blocks,
  4 pages of memmap padded by 28);
- x86-64 defaults: 128 MiB memory blocks (MIN_MEMORY_BLOCK_SIZE; 2 GiB on bare metal with
  64 GiB or more, probe_memory_block_size()), pageblocks of 512 4 KiB pages (2 MiB).

On x86-64 with 128 MiB blocks the memmap is 2 MiB per block, one pageblock: ``on`` works
and costs no padding. Everything else is base4k: 4 KiB pages, one struct page each.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pagelab.plugin import (
    Allocation,
    Machine,
    PagelabError,
    Size,
    StrategySpec,
    hookimpl,
    memmap,
    uniform_allocation,
)

MODES = ("off", "on", "force")


@dataclass
class HotplugParams:
    """``memmap_on_memory``: off, on or force (the module parameter); ``block_size``: the memory
    block size (``/sys/devices/system/memory/block_size_bytes``); ``pageblock_size``:
    pageblock_nr_pages x PAGE_SIZE."""

    memmap_on_memory: str = "on"
    block_size: Size = Size("128M")
    pageblock_size: Size = Size("2M")


def block_memmap(params: HotplugParams, machine: Machine) -> tuple[int, int]:
    """(memmap bytes, memmap plus padding bytes) of one hot-added memory block."""
    size = params.block_size // machine.mmu_page_size * machine.struct_page_size
    padded = -(-size // params.pageblock_size) * params.pageblock_size
    return size, padded


class Hotplug:
    """base4k, but the memmap of each memory-only node sits where memory hotplug puts it."""

    def __init__(self, params: HotplugParams) -> None:
        if params.memmap_on_memory not in MODES:
            raise PagelabError(f"strategy.memmap_on_memory: choose one of {', '.join(MODES)}, got {params.memmap_on_memory!r}")
        for name in ("block_size", "pageblock_size"):
            value = getattr(params, name)
            if value < 4096 or value & (value - 1):
                raise PagelabError(f"strategy.{name}: must be a power of two >= 4K, got {value}")
        self.params = params

    def __call__(self, machine: Machine, requests: pl.DataFrame) -> Allocation:
        page = machine.mmu_page_size
        struct_pages, boot_memmap = memmap(machine, page)
        hot = [n for n in range(machine.nodes) if n not in machine.cpu_node_ids]
        target = machine.cpu_node_ids[0]  # the memory that is online when a node is hot-added
        size, padded = block_memmap(self.params, machine)
        mode = self.params.memmap_on_memory
        on_itself = mode == "force" or (mode == "on" and size % self.params.pageblock_size == 0)
        per_node = list(boot_memmap)
        for node in hot:
            blocks = -(-machine.node_bytes[node] // self.params.block_size)
            if on_itself:  # carved from the node's own blocks, padding included
                per_node[node] = blocks * (padded if mode == "force" else size)
            else:  # allocated from the first node with CPUs
                per_node[node] = 0
                per_node[target] += blocks * size
        pages_per_block = self.params.block_size // page
        struct_pages += sum(-(-machine.node_bytes[n] // self.params.block_size) * pages_per_block for n in hot) - sum(
            boot_memmap[n] // machine.struct_page_size for n in hot
        )
        return Allocation(uniform_allocation(requests, machine, page), struct_pages, tuple(per_node))


@hookimpl
def pagelab_strategies() -> list[StrategySpec]:
    return [StrategySpec("hotplug", HotplugParams, Hotplug,
                         "memory-only nodes hot-added, memmap per memory_hotplug.memmap_on_memory")]
