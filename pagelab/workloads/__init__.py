"""Workloads: a machine plus the table of memory requests that runs on it."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import polars as pl

from pagelab import datasets
from pagelab.allocator import MEMORY_MODELS, REQUEST_SCHEMA, Machine
from pagelab.errors import PagelabError
from pagelab.units import ceil_div, format_bytes, parse_size, parse_size_or_share, round_up
from pagelab.workloads.anon import sampled_mappings
from pagelab.workloads.config import AnonConfig, GuestsConfig, WorkloadConfig
from pagelab.workloads.draw import MAX_BUDGET, MAX_SIZE, CacheDraw
from pagelab.workloads.files import cache_budget, every_file, file_candidates
from pagelab.workloads.guests import guest_candidates

# Requests carry the guest they belong to (null for the host's own memory).
WORKLOAD_SCHEMA = pl.Schema({**REQUEST_SCHEMA, "guest": pl.Int64()})
MMU_PAGE = 4096


@dataclass(frozen=True)
class Workload:
    """The machine and its requests; guest rows are candidates until packed.

    ``cache`` holds the page cache's draw order and RAM budget (None: every file is a
    host need, ``cache=all``); ``policy`` is how guests are packed.
    """

    name: str
    machine: Machine
    requests: pl.DataFrame
    cache: CacheDraw | None = None
    policy: str = "first_fit"


def _rows(kind: str, sizes: pl.Series | list[int], counts: pl.Series | list[int], nodes: pl.Series | list[int],
          guest: pl.Series | None = None) -> pl.DataFrame:
    sizes = pl.Series(sizes, dtype=pl.Int64)
    return pl.DataFrame(
        {
            "kind": pl.repeat(kind, len(sizes), eager=True),
            "bytes": sizes,
            "count": pl.Series(counts, dtype=pl.Int64),
            "node": pl.Series(nodes, dtype=pl.Int64),
            "guest": guest if guest is not None else pl.repeat(None, len(sizes), dtype=pl.Int64, eager=True),
        }
    ).cast(WORKLOAD_SCHEMA)


def _round_robin(n: int, machine: Machine) -> pl.Series:
    """Nodes with CPUs in turn, for ``n`` items: where processes and their page cache live."""
    cpus = np.array(machine.cpu_node_ids, dtype=np.int64)
    return pl.Series(cpus[np.arange(n) % len(cpus)])


def _anon(cfg: AnonConfig, machine: Machine, seed: int) -> pl.DataFrame:
    """Anonymous memory: mappings drawn from ``cfg.dataset``, or each CPU node's share in
    mappings of ``mapping_size``."""
    total = parse_size_or_share(cfg.total, "workload.anon.total", machine.installed_bytes)
    if cfg.dataset is not None:
        mappings = sampled_mappings(cfg.dataset, total, seed)
        return _rows("anon", mappings["size"], mappings["count"], _round_robin(mappings.height, machine))
    mapping = parse_size(cfg.mapping_size, "workload.anon.mapping_size")
    if total == 0:
        return _rows("anon", [], [], [])
    if mapping == 0:
        raise PagelabError("workload.anon.mapping_size: must be larger than 0")
    cpus = machine.cpu_node_ids
    full, rest = divmod(total // len(cpus), mapping)
    sizes, counts = ([mapping, rest], [full, 1]) if rest else ([mapping], [full])
    return _rows(
        "anon", sizes * len(cpus), counts * len(cpus), [n for n in cpus for _ in sizes]
    ).filter(pl.col("count") > 0)


def _guests(cfg: GuestsConfig, machine: Machine, seed: int) -> pl.DataFrame:
    """Two rows per candidate guest: its memory, and its VMM overhead on the host."""
    if cfg.candidates <= 0:
        raise PagelabError(f"workload.guests.candidates: must be larger than 0, got {cfg.candidates}")
    assert cfg.dataset is not None  # called only for a workload with guests
    guests = guest_candidates(cfg.dataset, int(machine.installed_bytes * cfg.candidates), seed)
    overhead = parse_size(cfg.vmm_fixed, "workload.guests.vmm_fixed") + guests["vcpus"] * parse_size(
        cfg.vmm_per_vcpu, "workload.guests.vmm_per_vcpu"
    )
    ones = pl.repeat(1, guests.height, eager=True, dtype=pl.Int64)
    unplaced = pl.repeat(-1, guests.height, eager=True, dtype=pl.Int64)
    return pl.concat(
        [
            _rows("guest", guests["memory_bytes"], ones, unplaced, guests["guest"]),
            _rows("host", overhead, ones, unplaced, guests["guest"]),
        ]
    ).sort("guest", maintain_order=True)


def _node_sizes(cfg: WorkloadConfig, installed: int | None) -> tuple[int, ...] | None:
    """Each node's memory: ``node_sizes`` (checked against ``installed`` and ``nodes``), or an even split."""
    if cfg.nodes < 1:
        raise PagelabError(f"workload.nodes: must be at least 1, got {cfg.nodes}")
    if not cfg.node_sizes:
        return None if installed is None else Machine.even(installed, cfg.nodes).node_bytes
    sizes = tuple(parse_size(s, f"workload.node_sizes[{i}]") for i, s in enumerate(cfg.node_sizes))
    if len(sizes) != cfg.nodes:
        raise PagelabError(f"workload.node_sizes: {len(sizes)} sizes for workload.nodes={cfg.nodes}")
    if installed is not None and sum(sizes) != installed:
        raise PagelabError(
            f"workload.node_sizes: they add up to {sum(sizes)} bytes, but workload.installed={cfg.installed}"
        )
    return sizes


def _auto_nodes(cfg: WorkloadConfig, files: pl.DataFrame, section: int, reserve: int) -> tuple[int, ...]:
    """``installed=auto``: each node just large enough, in whole sections, for its files at
    4 KiB, its reserve and base4k's memmap (1/64 of the node: 64 bytes per 4 KiB page)."""
    if str(cfg.anon.total).strip() not in ("0", "0%") or cfg.guests.dataset is not None or cfg.node_sizes or cfg.memory_only_nodes:
        raise PagelabError("workload.installed=auto sizes a machine for its page cache alone: "
                           "it needs anon.total=0, no guests, no node_sizes and no memory_only_nodes")
    if str(cfg.files.cache).strip() != "all":
        raise PagelabError("workload.installed=auto needs workload.files.cache=all")
    need = files.with_columns(node=_round_robin(files.height, Machine.even(1, cfg.nodes))).group_by("node").agg(
        (round_up(pl.col("size"), MMU_PAGE) * pl.col("count")).sum()
    )
    worst = max(int(need.select(pl.col("size").max()).item() or 0), 1) + reserve
    return Machine.even(round_up(ceil_div(worst * 64, 63), section) * cfg.nodes, cfg.nodes).node_bytes


# The workloads a process built last, by (config, seed, dataset files): a sweep's
# strategies run on the same workload, so each is built once per worker, not once per job
# (a third of a hosting job). Bounded by the bytes of their request tables.
_BUILT: OrderedDict[tuple[object, ...], Workload] = OrderedDict()
BUILT_BYTES = 256 << 20


def _datasets_stamp(cfg: WorkloadConfig) -> tuple[object, ...] | None:
    """The dataset files ``cfg`` reads, each with its mtime and size; None if one cannot be found."""
    stamp: list[object] = []
    for ref, kind, field in ((cfg.files.dataset, "files", "workload.files.dataset"),
                             (cfg.anon.dataset, "mappings", "workload.anon.dataset"),
                             (cfg.guests.dataset, "vms", "workload.guests.dataset")):
        if ref is None:
            continue
        try:
            stat = datasets.resolve(ref, kind, field).path.stat()
        except (PagelabError, OSError):
            return None  # building names the problem
        stamp.append((ref, stat.st_mtime_ns, stat.st_size))
    return tuple(stamp)


def build_workload(cfg: WorkloadConfig, seed: int) -> Workload:
    """Build the machine and request table that the workload config describes.

    The same config and seed on the same dataset files give the same workload, and the
    process keeps the last ones (up to :data:`BUILT_BYTES` of requests). Nothing changes a
    workload once built: a strategy sees a selection of its requests (a new frame), the
    machine is frozen and the draw order read-only.
    """
    stamp = _datasets_stamp(cfg)
    key = (repr(cfg), seed, stamp)
    if stamp is not None and key in _BUILT:
        _BUILT.move_to_end(key)
        return _BUILT[key]
    workload = _build_workload(cfg, seed)
    if stamp is not None:
        _remember(key, workload)
    return workload


def _remember(key: tuple[object, ...], workload: Workload) -> None:
    """Keep ``workload``, dropping the least recently used ones past :data:`BUILT_BYTES`."""
    if workload.cache is not None:
        workload.cache.order.flags.writeable = False
    _BUILT[key] = workload
    while sum(w.requests.estimated_size() for w in _BUILT.values()) > BUILT_BYTES:
        _BUILT.popitem(last=False)


def _build_workload(cfg: WorkloadConfig, seed: int) -> Workload:
    if cfg.memory_model not in MEMORY_MODELS:
        raise PagelabError(f"workload.memory_model: unknown {cfg.memory_model!r}; choose one of {', '.join(MEMORY_MODELS)}")
    section = parse_size(cfg.section_size, "workload.section_size")
    reserve = parse_size(cfg.reserve, "workload.reserve")
    auto = str(cfg.installed) == "auto"
    sizes = _node_sizes(cfg, None if auto else parse_size(cfg.installed, "workload.installed"))
    if auto:
        if cfg.files.dataset is None:
            raise PagelabError("workload.installed=auto needs workload.files.dataset")
        sizes = _auto_nodes(cfg, every_file(cfg.files.dataset, seed), section, reserve)
    assert sizes is not None  # None only for installed=auto, sized just above
    if sum(sizes) <= 0 or min(sizes) < 0:
        raise PagelabError("workload.installed: must be larger than 0")
    memory_only = set(cfg.memory_only_nodes)
    if not memory_only <= set(range(len(sizes))) or len(memory_only) == len(sizes):
        raise PagelabError(f"workload.memory_only_nodes: {sorted(memory_only)} must name some, not all, "
                           f"of the nodes 0..{len(sizes) - 1}")
    machine = Machine(sizes, tuple(n not in memory_only for n in range(len(sizes))),
                      memory_model=cfg.memory_model, section_size=section, thp=cfg.thp,
                      boot_reserved=parse_size(cfg.boot_reserved, "workload.boot_reserved"))

    parts = []
    if reserve:
        cpus = machine.cpu_node_ids
        smallest = min(cpus, key=lambda n: machine.node_bytes[n])
        if reserve > machine.node_bytes[smallest]:
            raise PagelabError(
                f"workload.reserve={cfg.reserve}: {format_bytes(reserve)} per node is larger than node {smallest}'s "
                f"{format_bytes(machine.node_bytes[smallest])}"
            )
        parts.append(_rows("host", [reserve] * len(cpus), [1] * len(cpus), list(cpus)))
    cache = None
    if cfg.files.dataset is not None:
        budget = cache_budget(cfg.files.cache, machine.installed_bytes)
        if budget is None:
            files = every_file(cfg.files.dataset, seed)
            parts.append(_rows("file", files["size"], files["count"], _round_robin(files.height, machine)))
        else:
            drawn = file_candidates(cfg.files.dataset, budget, seed)
            rows, order = _file_rows(drawn, machine, offset=sum(p.height for p in parts))
            parts.append(rows)
            cache = CacheDraw(order, budget)
    parts.append(_anon(cfg.anon, machine, seed))
    if cfg.guests.dataset is not None:
        parts.append(_guests(cfg.guests, machine, seed))
    requests = pl.concat(parts)
    _check_totals(requests)
    return Workload(cfg.name, machine, requests, cache, cfg.guests.policy)


def _check_totals(requests: pl.DataFrame) -> None:
    """Refuse requests whose sizes times counts would overflow Int64 in any sum of bytes."""
    per_kind = requests.group_by("kind").agg(
        largest=pl.col("bytes").max(), total=(pl.col("bytes").cast(pl.Float64) * pl.col("count")).sum()
    )
    over = per_kind.filter((pl.col("largest") > MAX_SIZE) | (pl.col("total") > MAX_BUDGET))
    if over.height:
        kind = over["kind"][0]
        raise PagelabError(f"workload: the {kind} requests add up to more than 2 EiB or hold an object above 64 TiB "
                           "(check the dataset's sizes and counts)")


def _file_rows(sizes: np.ndarray, machine: Machine, offset: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Drawn files as unique (size, node) request rows, and each draw's row (plus ``offset``)."""
    draws = pl.DataFrame({"bytes": sizes, "node": _round_robin(len(sizes), machine)})
    unique = draws.group_by("bytes", "node").len("count").sort("node", "bytes").with_row_index("row")
    order = draws.join(unique, on=["bytes", "node"], how="left", maintain_order="left")["row"]
    rows = _rows("file", unique["bytes"], unique["count"], unique["node"])
    return rows, order.cast(pl.Int64).to_numpy() + offset
