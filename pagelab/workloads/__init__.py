"""Workloads: a machine plus the table of memory requests that runs on it."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from omegaconf import DictConfig

from pagelab.allocator import MEMORY_MODELS, REQUEST_SCHEMA, Machine
from pagelab.errors import PagelabError
from pagelab.units import parse_size, round_up
from pagelab.workloads.anon import sampled_mappings
from pagelab.workloads.files import cached_files
from pagelab.workloads.guests import guest_candidates

# Requests carry the guest they belong to (null for the host's own memory).
WORKLOAD_SCHEMA = {**REQUEST_SCHEMA, "guest": pl.Int64}


@dataclass(frozen=True)
class Workload:
    """The machine and its requests; guest rows are candidates until packed."""

    name: str
    machine: Machine
    requests: pl.DataFrame


def _share(text: str, installed: int, what: str) -> int:
    """A size, or a percentage of installed memory."""
    text = str(text).strip()
    if text.endswith("%"):
        try:
            return int(installed * float(text[:-1]) / 100)
        except ValueError:
            raise PagelabError(f"{what}: expected a size or a percentage, got {text!r}") from None
    return parse_size(text, what)


def _rows(kind: str, sizes: pl.Series, counts: pl.Series, nodes: pl.Series, guest: pl.Series | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kind": pl.repeat(kind, len(sizes), eager=True),
            "bytes": sizes,
            "count": counts,
            "node": nodes,
            "guest": guest if guest is not None else pl.repeat(None, len(sizes), dtype=pl.Int64, eager=True),
        }
    ).cast(WORKLOAD_SCHEMA)


def _anon(cfg: DictConfig, machine: Machine, seed: int) -> pl.DataFrame:
    """Anonymous memory: mappings drawn from ``cfg.dataset``, or each node's share in
    mappings of ``mapping_size``."""
    total = _share(cfg.total, machine.installed_bytes, "workload.anon.total")
    if cfg.dataset is not None:
        mappings = sampled_mappings(cfg.dataset, total, seed)
        nodes = (pl.int_range(mappings.height, eager=True) % machine.nodes).cast(pl.Int64)
        return _rows("anon", mappings["size"], mappings["count"], nodes)
    mapping = parse_size(cfg.mapping_size, "workload.anon.mapping_size")
    if total == 0:
        return _rows("anon", pl.Series([], dtype=pl.Int64), pl.Series([], dtype=pl.Int64), pl.Series([], dtype=pl.Int64))
    if mapping == 0:
        raise PagelabError("workload.anon.mapping_size: must be larger than 0")
    per_node = total // machine.nodes
    full, rest = divmod(per_node, mapping)
    sizes = [mapping, rest] if rest else [mapping]
    counts = [full, 1] if rest else [full]
    nodes = range(machine.nodes)
    return _rows(
        "anon",
        pl.Series(sizes * machine.nodes),
        pl.Series(counts * machine.nodes),
        pl.Series([n for n in nodes for _ in sizes]),
    ).filter(pl.col("count") > 0)


def _guests(cfg: DictConfig, machine: Machine, seed: int) -> pl.DataFrame:
    """Two rows per candidate guest: its memory, and its VMM overhead on the host."""
    guests = guest_candidates(cfg.dataset, machine.installed_bytes, seed)
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


def build_workload(cfg: DictConfig, seed: int) -> Workload:
    """Build the machine and request table that the workload config describes."""
    if cfg.memory_model not in MEMORY_MODELS:
        raise PagelabError(f"workload.memory_model: unknown {cfg.memory_model!r}; choose one of {', '.join(MEMORY_MODELS)}")
    if cfg.nodes < 1:
        raise PagelabError(f"workload.nodes: must be at least 1, got {cfg.nodes}")
    section = parse_size(cfg.section_size, "workload.section_size")
    auto = str(cfg.installed) == "auto"
    installed = None if auto else parse_size(cfg.installed, "workload.installed")
    files = None
    if cfg.files.dataset is not None:
        files = cached_files(cfg.files.dataset, cfg.files.cache, installed, seed)
    if auto:
        if files is None:
            raise PagelabError("workload.installed=auto needs workload.files.dataset")
        # Just large enough for the files at 4 KiB, in whole sections on every node.
        need = int((-(-files["size"] // 4096) * 4096 * files["count"]).sum())
        installed = round_up(max(need, 1), section * cfg.nodes)
    if installed <= 0:
        raise PagelabError("workload.installed: must be larger than 0")
    machine = Machine(installed, cfg.nodes, memory_model=cfg.memory_model, section_size=section)

    parts = []
    reserve = parse_size(cfg.reserve, "workload.reserve")
    if reserve:
        nodes = pl.Series(range(cfg.nodes), dtype=pl.Int64)
        parts.append(_rows("host", pl.repeat(reserve, cfg.nodes, eager=True), pl.repeat(1, cfg.nodes, eager=True), nodes))
    if files is not None:
        nodes = (pl.int_range(files.height, eager=True) % cfg.nodes).cast(pl.Int64)
        parts.append(_rows("file", files["size"], files["count"], nodes))
    parts.append(_anon(cfg.anon, machine, seed))
    if cfg.guests.dataset is not None:
        parts.append(_guests(cfg.guests, machine, seed))
    requests = pl.concat(parts) if parts else _rows("anon", pl.Series([], dtype=pl.Int64), pl.Series([], dtype=pl.Int64), pl.Series([], dtype=pl.Int64))
    return Workload(cfg.name, machine, requests)
