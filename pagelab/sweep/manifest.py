"""The sweep manifest: what a figure needs to read a sweep's rows, recorded beside its summary.

``pagelab collect`` writes it as ``manifest.parquet`` (:data:`pagelab.outputs.MANIFEST`)
next to ``summary.parquet``, so that figures read result files only: they never compose a
config nor consult the plugin registry. One table, every value text, rows of two kinds:

- **defaults**, one row per (``strategy``, ``workload``) pair of the summary, ``preset``
  null: the ``strategy.*`` and ``workload.*`` values a run of that pair has at the shipped
  defaults (null where the default is null). Figures that hold runs to the defaults compare
  rows with these, and a strategy's default base page is its ``strategy.page_size`` here.
  A pair Hydra cannot compose (a strategy or workload this installation lacks) has no row.
- **presets**, one row per shipped strategy preset (``conf/strategy/NAME.yaml``) of a
  strategy in the summary: ``preset`` NAME, ``workload`` null, and the parameters the preset
  sets (the others null). A row of its strategy with those values is labelled NAME
  (page16k at 2M pages is page2m).

``colour`` is the colour the strategy's plugin declares (``StrategySpec.colour``), null if
none (figures then derive it from the name). Hydra composes once per pair and process,
the task's part only (:func:`~pagelab.pipeline.compose.compose_task`), all in one set-up
(:func:`pagelab.pipeline.compose.hydra_session`, or the sweep's own Hydra app at its end);
rows are sorted, so the same summary on the same installation gives the same bytes.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml

from pagelab.errors import PagelabError
from pagelab.pipeline.compose import compose_task, hydra_session
from pagelab.pipeline.config import RunConfig, register_configs, stored_strategies
from pagelab.strategies.registry import installed_strategies

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader

KEYS = ("strategy", "workload", "preset", "colour")
PARAM_PREFIXES = ("strategy.", "workload.")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# The defaults of a pair depend on the installation only: one composition per process
# serves every sweep that a series (pagelab figures) collects. Keyed by the strategies
# stored in Hydra's ConfigStore, so a plugin added later composes again.
_DEFAULTS: dict[tuple[object, ...], dict[str, str | None] | None] = {}


def _compose_defaults(pairs: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], dict[str, str | None]]:
    """The default parameters of each (strategy, workload) pair Hydra can compose (workload None: the default one).

    The columns are the results row's (:attr:`RunConfig.columns`), so rows compare with them as they are.
    """
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    def one(loader: ConfigLoader, strategy: str, workload: str | None) -> dict[str, str | None] | None:
        key = (strategy, workload, stored_strategies())
        if key not in _DEFAULTS:
            choices = [f"strategy={strategy}", *([f"workload={workload}"] if workload is not None else [])]
            try:
                columns = RunConfig.of(compose_task(loader, choices)).columns
                _DEFAULTS[key] = {k: _text(v) for k, v in columns.items()}
            except (HydraException, OmegaConfBaseException, PagelabError):  # a strategy or workload not installed
                _DEFAULTS[key] = None
        return _DEFAULTS[key]

    def every(loader: ConfigLoader) -> dict[tuple[str, str | None], dict[str, str | None]]:
        # Per pair, not per strategy and per workload: a workload may set strategy values
        # (hosting sets strategy.dmem).
        return {pair: params for pair in pairs if (params := one(loader, *pair)) is not None}

    if GlobalHydra.instance().is_initialized():  # at a sweep's end, inside its Hydra app
        register_configs()
        return every(GlobalHydra.instance().config_loader())
    with hydra_session() as loader:  # one set-up for every pair
        return every(loader)


def _presets(strategies: set[str]) -> dict[str, tuple[str, dict[str, str | None]]]:
    """The shipped presets of ``strategies``: name -> (its strategy, the parameters it sets)."""
    out = {}
    for path in sorted(files("pagelab.conf").joinpath("strategy").iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".yaml"):
            continue
        cfg = yaml.safe_load(path.read_text()) or {}
        bases = [d for d in cfg.get("defaults", []) if isinstance(d, str) and d != "_self_"]
        if bases and bases[0] in strategies:
            params = {f"strategy.{k}": _text(v) for k, v in cfg.items() if k != "defaults"}
            out[path.name.removesuffix(".yaml")] = (bases[0], params)
    return out


def sweep_manifest(summary: pl.DataFrame) -> pl.DataFrame:
    """The manifest of the results rows ``summary``.

    Rows without a ``workload`` (hand-made frames) pair their strategy with the default workload.
    """
    if "workload" not in summary.columns:
        summary = summary.with_columns(workload=pl.lit(None, pl.String))
    pairs = (summary.select(pl.col("strategy", "workload").cast(pl.String)).unique().drop_nulls("strategy")
             .sort("strategy", "workload").rows())
    strategies = {s for s, _ in pairs}
    installed = installed_strategies()
    colours = {s: installed[s].spec.colour if s in installed else None for s in strategies}
    rows: list[dict[str, str | None]] = [
        {"strategy": s, "workload": w, "preset": None, "colour": _text(colours[s]), **params}
        for (s, w), params in _compose_defaults(pairs).items()
    ]
    rows += [{"strategy": base, "workload": None, "preset": name, "colour": _text(colours[base]), **params}
             for name, (base, params) in _presets(strategies).items()]
    params = sorted({k for row in rows for k in row if k.startswith(PARAM_PREFIXES)})
    schema = {k: pl.String for k in (*KEYS, *params)}
    frame = pl.DataFrame(rows, schema=schema)
    return frame.sort("strategy", "preset", "workload", nulls_last=False)


__all__ = ["KEYS", "PARAM_PREFIXES", "sweep_manifest"]
