"""A sweep job's logging (pagelab.sweep.job_logging) is what Hydra's configure_log sets up.

Real logging, real log files: each job's messages land in its own file, and the state
left behind equals what ``configure_log`` leaves, whether the handlers were re-pointed
or made afresh.
"""

from __future__ import annotations

import logging

import pytest
from hydra.core.utils import configure_log
from omegaconf import OmegaConf

from pagelab.sweep import job_logging
from pagelab.sweep.job_logging import configure_job_log

# Hydra's default hydra/job_logging, as pagelab's sweeps compose it.
JOB_LOGGING = {
    "version": 1,
    "formatters": {"simple": {"format": "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "simple", "stream": "ext://sys.stdout"},
        "file": {"class": "logging.FileHandler", "formatter": "simple",
                 "filename": "${hydra.runtime.output_dir}/${hydra.job.name}.log"},
    },
    "root": {"level": "INFO", "handlers": ["console", "file"]},
    "disable_existing_loggers": False,
}


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    job_logging._LAST = None
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level
    job_logging._LAST = None


def job(directory, level="INFO", verbose=False):
    directory.mkdir(parents=True, exist_ok=True)
    job_logging = {**JOB_LOGGING, "root": {**JOB_LOGGING["root"], "level": level}}
    return OmegaConf.create({"hydra": {"job_logging": job_logging, "verbose": verbose,
                                       "runtime": {"output_dir": str(directory)}, "job": {"name": "pagelab"}}})


def state():
    """What a job's logging is: the root's level and, per handler, its kind, file and format."""
    root = logging.getLogger()
    return root.level, [(type(h).__name__, getattr(h, "baseFilename", None), h.formatter._fmt, h.level,
                         h.stream is not None and not h.stream.closed) for h in root.handlers]


def hydras_state(cfg):
    configure_log(cfg.hydra.job_logging, cfg.hydra.verbose)
    return state()


def test_each_job_logs_into_its_own_file_and_the_state_is_hydras(tmp_path):
    first, second = tmp_path / "0", tmp_path / "1"
    configure_job_log(job(first), "base")
    handlers = list(logging.getLogger().handlers)
    logging.getLogger("pagelab.test").info("first job")
    configure_job_log(job(second), "base")
    assert logging.getLogger().handlers == handlers  # re-pointed, not made again
    logging.getLogger("pagelab.test").info("second job")
    mine = state()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "first job" in (first / "pagelab.log").read_text()
    assert "second job" not in (first / "pagelab.log").read_text()
    assert "second job" in (second / "pagelab.log").read_text()
    assert mine == hydras_state(job(second))
    assert mine[1][1][1] == str(second / "pagelab.log")


def test_anything_but_the_file_changed_is_configured_afresh(tmp_path):
    configure_job_log(job(tmp_path / "0"), "base")
    before = list(logging.getLogger().handlers)
    configure_job_log(job(tmp_path / "1", level="WARNING"), "other")
    assert logging.getLogger().handlers != before
    assert state() == hydras_state(job(tmp_path / "1", level="WARNING"))
    configure_job_log(job(tmp_path / "2", level="WARNING", verbose=True), "other")
    assert logging.getLogger().level == logging.DEBUG
    assert state() == hydras_state(job(tmp_path / "2", level="WARNING", verbose=True))


def test_logging_a_task_changed_is_configured_afresh(tmp_path):
    configure_job_log(job(tmp_path / "0"), "base")
    root = logging.getLogger()
    root.removeHandler(root.handlers[0])  # a task that rearranged logging
    root.setLevel(logging.ERROR)
    configure_job_log(job(tmp_path / "1"), "base")
    assert state() == hydras_state(job(tmp_path / "1"))


@pytest.mark.parametrize("filename", [
    "${hydra.runtime.output_dir}/${hydra.job.name}.log",
    "${hydra.runtime.output_dir}/job${hydra.job.num}-${hydra.job.debug}.log",  # an int and a bool, as text
    "${hydra.runtime.output_dir}/\\${not.a.reference}.log",  # an escape: OmegaConf's parser
    "${oc.env:PAGELAB_TEST_LOG_DIR,/tmp}/x.log",  # a resolver: OmegaConf's parser
    "${hydra.job.num}",  # a whole-value reference keeps its type
])
def test_resolving_only_what_interpolates_equals_omegaconfs_resolution(tmp_path, filename):
    cfg = job(tmp_path)
    cfg.hydra.job.num, cfg.hydra.job.debug = 7, False
    cfg.hydra.job_logging.handlers.file.filename = filename
    template = job_logging._template(filename, cfg.hydra.job_logging)
    assert template.interpolated == (("handlers", "file", "filename"),)
    assert job_logging._resolved(template, cfg) == OmegaConf.to_container(cfg.hydra.job_logging, resolve=True)
