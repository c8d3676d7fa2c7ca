"""The workload schema: a machine and what runs on it, as Hydra composes it and as workloads read it.

These dataclasses are Hydra's structured config for ``workload`` (stored as
``schema/workload`` by :func:`pagelab.pipeline.config.register_configs`), and the typed
objects :func:`pagelab.workloads.build_workload` and :mod:`pagelab.fleet` receive. A field
without a default is mandatory: composition fails if no workload sets it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass
class FilesConfig:
    """Page cache: files drawn from a ``files`` dataset."""

    dataset: Optional[str] = None  # catalog name or path; null: no page cache
    # RAM the page cache may take (a size or a percentage of installed memory): files are
    # cached in draw order while the strategy's allocation of the next one still fits.
    # "all": every file of the dataset, whatever it takes (the footprint view).
    cache: str = "50%"


@dataclass
class AnonConfig:
    """Anonymous memory of processes: mappings from a ``mappings`` dataset, or of one size."""

    total: str = "0"  # a size or a percentage of installed memory
    mapping_size: str = "2M"  # used when there is no dataset
    # catalog name or path of a mappings dataset: resident anonymous mappings drawn until
    # their RSS reaches total, each a request of its RSS (docs/datasets.md); null: mapping_size
    dataset: Optional[str] = None


@dataclass
class GuestsConfig:
    """Virtual machines drawn from a ``vms`` dataset and packed onto the nodes."""

    dataset: Optional[str] = None  # null: no guests
    vmm_fixed: str = "218M"  # per-guest host memory besides page tables (KubeVirt)
    vmm_per_vcpu: str = "8M"
    # first_fit: each guest on the first node with room, going on past guests that fit
    # nowhere; best_fit: on the node it leaves with the least room; stop_at_first_misfit.
    policy: str = "first_fit"
    # Guests offered: drawn until their memory adds up to this many times the installed
    # memory, enough to fill every pool (the same sequence for every strategy and policy).
    candidates: float = 4.0


@dataclass
class FleetConfig:
    """A fleet of identical hosts over time (workload=fleet, docs/fleet.md); hosts=0: one host."""

    hosts: int = 0  # H; 0: not a fleet run
    hours: int = 720  # T: hours simulated from the stream's first hour
    # vm_timeseries dataset: replay its VMs (arrival, departure, hourly usage); vms dataset:
    # a synthetic stream of that mix (Poisson arrivals, lognormal lifetimes).
    dataset: str = "bitbrains_rnd_2013_hourly"
    month: Optional[str] = None  # trace: one month of it (2013-7, 2013-8, 2013-9); null: all
    policy: str = "first_fit"  # first_fit, best_fit or most_free (the host with the most room)
    overcommit_ratio: float = 1.0  # guest memory sold per byte of room; managed strategies only
    # Synthetic stream. Arrival rate: vms over the hours if vms > 0, else the rate at which
    # provisioned memory in use reaches `load` times the fleet's installed memory (Little's law).
    vms: int = 0
    load: float = 1.0
    lifetime_mean_hours: float = 168.0  # lognormal lifetime: its mean, and sigma of its log
    lifetime_sigma: float = 1.0
    usage_dataset: str = "bitbrains_rnd_2013_hourly"  # per-VM usage/provisioned, by hour of day
    usage_month: str = "2013-7"
    search: bool = True  # find hosts_needed (the smallest fleet with no rejection)


@dataclass
class WorkloadConfig:
    """A machine and what runs on it. Sizes use the kernel's syntax: 4K, 128M, 16G."""

    name: str
    installed: str  # a size, or "auto": just large enough for the files at 4 KiB
    nodes: int = 1  # installed memory is split evenly over the nodes, unless node_sizes is set
    node_sizes: Optional[list[str]] = None  # one size per node, for uneven nodes
    memory_only_nodes: list[int] = field(default_factory=list)  # nodes without CPUs (a CXL expander)
    memory_model: str = "sparsemem_vmemmap"
    section_size: str = "128M"
    reserve: str = "0"  # per node with CPUs: host kernel and daemons
    # Part of node 0's reserve that memblock has taken before dmem= runs (kernel image,
    # initrd, firmware tables): on our CI VM, dmesg's "Memory: ... 497048K reserved" less the
    # 393216K memmap of its 192 sections (docs/models.md; `pagelab measure memmap` reads it).
    boot_reserved: str = "101M"
    thp: str = "madvise"  # /sys/kernel/mm/transparent_hugepage/enabled: never, madvise or always
    dmem: str = "0"  # the dmem= a provider would boot this machine with (dmemfs default)
    files: FilesConfig = field(default_factory=FilesConfig)
    anon: AnonConfig = field(default_factory=AnonConfig)
    guests: GuestsConfig = field(default_factory=GuestsConfig)
    fleet: Optional[FleetConfig] = None  # null: one host (every workload but fleet)


T = TypeVar("T", bound="DataclassInstance")
_PARTS: dict[str, type[DataclassInstance]] = {
    "files": FilesConfig, "anon": AnonConfig, "guests": GuestsConfig, "fleet": FleetConfig,
}


def _fields(kind: type[T], values: Mapping[str, Any]) -> T:
    """``kind`` from the values of its fields; other keys are left out."""
    return kind(**{f.name: values[f.name] for f in dataclasses.fields(kind) if f.name in values})


def workload_config(values: Mapping[str, Any]) -> WorkloadConfig:
    """The typed workload from the composed ``workload`` node's resolved values (plain dicts
    and lists, each value of its field's type already: Hydra checked and converted it).

    Keys the schema does not define (``+workload.x=1`` with ``PAGELAB_ALLOW_EXTRA_KEYS=1``)
    are left out: nothing reads them but the results row's columns.
    """
    parts = {name: None if values[name] is None else _fields(kind, values[name])
             for name, kind in _PARTS.items() if name in values}
    return _fields(WorkloadConfig, {**values, **parts})
