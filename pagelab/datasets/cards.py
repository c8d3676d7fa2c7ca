"""The catalog: dataset cards, resolving a name or path, and reference points."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl
import yaml

from pagelab.datasets.read import read_columns
from pagelab.errors import PagelabError
from pagelab.units import GiB, KiB, MiB

KINDS = ("files", "vms", "mappings")
# Columns that identify the kind of a dataset given by path.
_KIND_COLUMNS = {"files": ("size",), "vms": ("memory_bytes",), "mappings": ("size", "rss", "anon")}


@dataclass(frozen=True)
class Dataset:
    """A dataset reference resolved to a file, with its catalog card (empty for paths)."""

    name: str
    kind: str
    layout: str
    path: Path
    card: dict = field(default_factory=dict, compare=False)


def datasets_dir() -> Path:
    """Folder holding the shipped datasets and ``catalog.yaml``."""
    return Path(str(resources.files("pagelab_datasets")))


# The catalog's section of reference points; every other top-level key is a dataset.
POINTS_KEY = "points"


@cache
def _catalog_file() -> dict:
    with open(datasets_dir() / "catalog.yaml") as handle:
        return yaml.safe_load(handle) or {}


def catalog() -> dict[str, dict]:
    """The catalog cards, by dataset name (sorted)."""
    cards = {k: v for k, v in _catalog_file().items() if k != POINTS_KEY}
    return dict(sorted(cards.items()))


def point_cards() -> dict[str, dict]:
    """The reference points' cards (published numbers, not datasets), by name (sorted)."""
    return dict(sorted((_catalog_file().get(POINTS_KEY) or {}).items()))


def resolve(ref: str, kind: str, field_name: str = "dataset") -> Dataset:
    """Resolve a catalog name or a path into a :class:`Dataset` of the wanted ``kind``.

    ``field_name`` names the config field in error messages.
    """
    cards = catalog()
    if ref in cards:
        card = cards[ref]
        found = Dataset(ref, card["kind"], card["layout"], datasets_dir() / card["file"], card)
    else:
        path = Path(ref).expanduser()
        if not path.exists():
            raise PagelabError(
                f"{field_name}={ref}: no such file, and not a catalog name ({', '.join(cards)})"
            )
        found = Dataset(path.stem, _kind_of_path(path, kind), "rows", path)
    if found.kind != kind:
        raise PagelabError(f"{field_name}={ref}: is a {found.kind} dataset, but a {kind} dataset is needed")
    return found


def _kind_of_path(path: Path, wanted: str) -> str:
    """The kind a file's columns make it (the most specific that fits), else a missing-column error.

    A file that fits another kind, and has none of the columns that ``wanted`` adds to
    it, is that other kind (the caller reports a wrong kind); otherwise the first column
    of ``wanted`` that is missing is named.
    """
    columns = set(read_columns(path))  # the schema or header: no data is read
    needed = _KIND_COLUMNS[wanted]
    for kind in ("mappings", "vms", "files"):
        if set(_KIND_COLUMNS[kind]) <= columns:
            if kind == wanted or not (set(needed) - set(_KIND_COLUMNS[kind])) & columns:
                return kind
            break
    missing = next(c for c in needed if c not in columns)
    raise PagelabError(
        f"{path}: missing column '{missing}' (a {wanted} dataset needs {', '.join(needed)}); "
        f"found {', '.join(sorted(columns)) or 'none'}"
    )


# Units of reference points that are amounts of memory, in bytes (Hansen's "KB" is taken
# as KiB, see his card).
_BYTE_UNITS = {"bytes": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}
POINTS_SCHEMA = {
    "point": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "bytes": pl.Int64,
    "title": pl.String,
    "source": pl.String,
}


def reference_points() -> pl.DataFrame:
    """The catalog's reference points in long form: one row per (point, metric).

    ``bytes`` holds the value in bytes when the unit is an amount of memory, else null.
    Figures draw these beside the datasets; they are published numbers, not datasets.
    """
    rows = [
        {
            "point": name,
            "metric": metric,
            "value": float(entry["value"]),
            "unit": entry["unit"],
            "bytes": round(entry["value"] * _BYTE_UNITS[entry["unit"]]) if entry["unit"] in _BYTE_UNITS else None,
            "title": card["title"],
            "source": card["source"],
        }
        for name, card in point_cards().items()
        for metric, entry in card["values"].items()
    ]
    return pl.DataFrame(rows, schema=POINTS_SCHEMA)
