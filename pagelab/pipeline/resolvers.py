"""Config resolvers for sweep presets: ``${pagelab.datasets:files}`` and friends."""

from __future__ import annotations

from omegaconf import OmegaConf


def catalog_names(kind: str) -> str:
    """Every catalog dataset of ``kind`` (files, vms, mappings), comma-joined and sorted.

    A preset that sweeps ``workload.files.dataset: ${pagelab.datasets:files}`` so covers
    every shipped dataset, including ones added after the preset was written.
    """
    from pagelab.datasets import (  # deferred: resolving is rare, importing is not
        KINDS,
        catalog,
    )
    from pagelab.errors import PagelabError

    if kind not in KINDS:
        raise PagelabError(f"pagelab.datasets:{kind}: unknown dataset kind; choose one of {', '.join(KINDS)}")
    names = [name for name, card in catalog().items() if card["kind"] == kind]
    if not names:
        raise PagelabError(f"pagelab.datasets:{kind}: the catalog has no {kind} dataset")
    return ",".join(sorted(names))


def register_resolvers() -> None:
    """Register pagelab's resolvers with OmegaConf (idempotent)."""
    OmegaConf.register_new_resolver("pagelab.datasets", catalog_names, replace=True)
