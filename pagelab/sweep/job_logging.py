"""Each sweep job's logging, as Hydra's ``configure_log`` sets it up, for less when only its log files move.

Hydra configures logging afresh for every job (``hydra.job_logging`` resolved, then
``logging.config.dictConfig``): 2 ms a job, more than a tenth of a hosting job. Between
two jobs of one worker that configuration usually differs in one value only, the file
handler's ``filename`` (``${hydra.runtime.output_dir}/${hydra.job.name}.log``). Then
:func:`configure_job_log` points the handlers it made for the last job at the new files
instead, and does what Hydra does in every other case. Only the values that interpolate
are resolved per job: the rest of a base's ``job_logging`` is the same for all its jobs.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, cast

from hydra.core.utils import configure_log
from omegaconf import DictConfig, ListConfig, OmegaConf

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class _Template:
    """A base's ``job_logging`` unresolved, and where it interpolates."""

    values: dict[str, Any]
    interpolated: tuple[Path, ...]


@dataclass(frozen=True)
class _Configured:
    """What the last job's logging was, and the handlers it made (to tell if anyone changed them since)."""

    conf: dict[str, Any]
    verbose: Any
    handlers: tuple[logging.Handler, ...]  # the root logger's, in order
    named: dict[str, logging.Handler]
    level: int  # the root logger's


_TEMPLATES: dict[str, _Template] = {}
_LAST: _Configured | None = None


def _interpolated(values: Any, path: Path = ()) -> list[Path]:
    if isinstance(values, dict):
        return [p for key, value in values.items() for p in _interpolated(value, (*path, key))]
    if isinstance(values, list):
        return [p for index, value in enumerate(values) for p in _interpolated(value, (*path, index))]
    return [path] if isinstance(values, str) and "${" in values else []


def _template(key: str, node: DictConfig) -> _Template:
    if key not in _TEMPLATES:
        values = cast(dict[str, Any], OmegaConf.to_container(node, resolve=False))  # a DictConfig's: a dict
        _TEMPLATES[key] = _Template(values, tuple(_interpolated(values)))
    return _TEMPLATES[key]


# A plain absolute reference, ${a.b.c}: no resolver, no nesting, no relative key.
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\}")
_SCALARS = (str, int, float, bool)


def _resolve_text(cfg: DictConfig, text: str) -> str | None:
    """``text`` with its plain references replaced as OmegaConf does (``str`` of each value);
    None when it has anything else (OmegaConf's parser resolves it then: a tenth of a millisecond each)."""
    parts = _REFERENCE.split(text)  # literal, key, literal, key, ..., literal
    literals, keys = parts[0::2], parts[1::2]
    if "\\" in text or "${" in "".join(literals) or len(keys) == 1 and literals == ["", ""]:
        return None  # escapes, other interpolations, or a whole-value reference (typed, not text)
    values = [OmegaConf.select(cfg, key) for key in keys]
    if not all(isinstance(value, _SCALARS) for value in values):
        return None  # missing, null or a node: OmegaConf's own error or conversion
    pieces = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        pieces += [str(value), literal]
    return "".join(pieces)


def _resolved(template: _Template, cfg: DictConfig) -> dict[str, Any]:
    """``OmegaConf.to_container(cfg.hydra.job_logging, resolve=True)``, resolving only what interpolates."""
    conf = copy.deepcopy(template.values)
    for path in template.interpolated:
        target: Any = conf
        for part in path[:-1]:
            target = target[part]
        value: Any = _resolve_text(cfg, target[path[-1]])
        if value is None:
            node: Any = cfg.hydra.job_logging
            for part in path[:-1]:
                node = node[part]
            resolved = node[path[-1]]
            value = OmegaConf.to_container(resolved, resolve=True) if OmegaConf.is_config(resolved) else resolved
        target[path[-1]] = value
    return conf


def _moved_files(last: _Configured, conf: dict[str, Any]) -> dict[str, str] | None:
    """The file handlers whose filename alone changed, by name; None if anything else did."""
    old, new = last.conf.get("handlers") or {}, conf.get("handlers") or {}
    if {k: v for k, v in last.conf.items() if k != "handlers"} != {k: v for k, v in conf.items() if k != "handlers"}:
        return None
    if old.keys() != new.keys():
        return None
    moved = {}
    for name, spec in new.items():
        if spec == old[name]:
            continue
        if spec.get("class") != "logging.FileHandler" or {**spec, "filename": None} != {**old[name], "filename": None}:
            return None
        if not isinstance(last.named.get(name), logging.FileHandler):
            return None
        moved[name] = str(spec["filename"])
    return moved


def _unchanged_since(last: _Configured) -> bool:
    """Whether logging still holds the handlers the last configuration made."""
    root = logging.getLogger()
    return root.level == last.level and tuple(root.handlers) == last.handlers and all(
        logging._handlers.get(name) is handler  # type: ignore[attr-defined]
        for name, handler in last.named.items()
    )


def _reopen(handler: logging.FileHandler, filename: str) -> None:
    """Point ``handler`` at ``filename`` as if it had been made for it (its mode, encoding, delay)."""
    handler.acquire()
    try:
        if handler.stream is not None:
            handler.flush()
            handler.stream.close()
        handler.baseFilename = os.path.abspath(filename)
        handler.stream = None if handler.delay else handler._open()
    finally:
        handler.release()


def _set_verbose(verbose: Any) -> None:
    """What ``configure_log`` does with ``hydra.verbose`` after configuring."""
    if verbose is True:
        logging.getLogger().setLevel(logging.DEBUG)
    elif not isinstance(verbose, bool):
        for name in [verbose] if isinstance(verbose, str) else verbose:
            logging.getLogger(name).setLevel(logging.DEBUG)


def configure_job_log(cfg: DictConfig, base: str) -> None:
    """Set this job's logging up as ``configure_log(cfg.hydra.job_logging, cfg.hydra.verbose)`` does.

    ``base`` names the config the job's ``hydra`` node comes from (a base's digest): jobs
    of one base share every ``job_logging`` value that does not interpolate.
    """
    global _LAST
    node, verbose = cfg.hydra.job_logging, cfg.hydra.verbose
    if node is None:
        _LAST = None
        configure_log(node, verbose)  # type: ignore[arg-type]  # None: Hydra logs to stdout
        return
    conf = _resolved(_template(base, node), cfg)
    verbose_now = OmegaConf.to_container(verbose) if isinstance(verbose, ListConfig) else verbose
    last = _LAST
    moved = _moved_files(last, conf) if last and last.verbose == verbose_now and _unchanged_since(last) else None
    if last and moved is not None:
        for name, filename in moved.items():
            _reopen(last.named[name], filename)  # type: ignore[arg-type]  # _moved_files checked the type
        _set_verbose(verbose_now)
        _LAST = _Configured(conf, verbose_now, last.handlers, last.named, last.level)
        return
    configure_log(node, verbose)
    named = {name: logging._handlers[name] for name in conf.get("handlers") or {}  # type: ignore[attr-defined]
             if name in logging._handlers}  # type: ignore[attr-defined]
    root = logging.getLogger()
    _LAST = _Configured(conf, verbose_now, tuple(root.handlers), named, root.level)
