"""A Hydra callback for tests: records what each job's on_job_start/on_job_end saw, in the job's folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class JobProbe(Callback):
    """Writes ``probe.json`` into each job's output directory when the job ends."""

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Remember the job's number as the job starts."""
        self.started = int(config.hydra.job.num)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """Record the job's number, id, status, overrides and seed."""
        record = {
            "started": self.started,
            "num": int(config.hydra.job.num),
            "id": str(config.hydra.job.id),
            "status": job_return.status.name,
            "overrides": list(job_return.overrides),
            "seed": job_return.cfg.seed,
            "hydra_cfg_job_num": int(job_return.hydra_cfg.hydra.job.num),
        }
        Path(config.hydra.runtime.output_dir, "probe.json").write_text(json.dumps(record, sort_keys=True))
