"""hotplug passes pagelab's conformance suite, and its memmap lands where memory hotplug puts it."""

from __future__ import annotations

import pytest
from pagelab_hotplug.strategy import Hotplug, HotplugParams

from pagelab.plugin import GiB, Machine, MiB, PagelabError
from pagelab.testing import ConformanceSuite, configured, many_requests


class TestHotplugConformance(ConformanceSuite):
    strategy = "hotplug"


# Two 16 GiB nodes; node 1 has no CPUs: a CXL expander, hot-added.
MACHINE = Machine((16 * GiB, 16 * GiB), (True, False))
REQUESTS = many_requests(1000, seed=3)
# Boot memmap of node 0: 16 GiB / 4 KiB = 4,194,304 struct pages x 64 B = 256 MiB.
NODE0 = 16 * GiB // 4096 * 64


def memmap_of(**params) -> tuple[int, ...]:
    return tuple(Hotplug(HotplugParams(**params))(MACHINE, REQUESTS).memmap_bytes)


def test_without_memmap_on_memory_the_cpu_node_pays_the_expander_s_memmap():
    # 16 GiB / 128 MiB = 128 blocks, each 32,768 pages x 64 B = 2 MiB of memmap: 256 MiB.
    assert memmap_of(memmap_on_memory="off") == (NODE0 + 128 * 2 * MiB, 0)


def test_with_memmap_on_memory_each_block_carries_its_own_memmap():
    assert memmap_of(memmap_on_memory="on") == (NODE0, 128 * 2 * MiB)


def test_a_memmap_short_of_a_pageblock_falls_back_or_is_padded_when_forced():
    # 64 MiB blocks: 16,384 pages x 64 B = 1 MiB of memmap, half a 2 MiB pageblock; 256 blocks.
    assert memmap_of(memmap_on_memory="on", block_size=64 * MiB) == (NODE0 + 256 * MiB, 0)
    assert memmap_of(memmap_on_memory="force", block_size=64 * MiB) == (NODE0, 256 * 2 * MiB)


def test_struct_pages_and_allocations_are_base4k_s():
    _, base = configured("base4k")
    ours, theirs = Hotplug(HotplugParams())(MACHINE, REQUESTS), base(MACHINE, REQUESTS)
    assert ours.struct_pages == theirs.struct_pages == 2 * 16 * GiB // 4096
    assert ours.requests.equals(theirs.requests) and sum(ours.memmap_bytes) == sum(theirs.memmap_bytes)


def test_a_bad_mode_or_block_size_is_one_line_naming_the_parameter():
    with pytest.raises(PagelabError, match="strategy.memmap_on_memory: choose one of off, on, force"):
        Hotplug(HotplugParams(memmap_on_memory="yes"))
    with pytest.raises(PagelabError, match="strategy.block_size: must be a power of two"):
        Hotplug(HotplugParams(block_size=100 * MiB))
