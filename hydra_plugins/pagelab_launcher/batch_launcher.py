"""The ``batch`` launcher's config (``hydra/launcher=batch``) and the class Hydra instantiates.

The work is done by :mod:`pagelab.sweep.batch`, imported when a sweep starts. No
``from __future__ import annotations`` here: Hydra's plugin scan runs this module before
it is in ``sys.modules``, where dataclasses would look string annotations up.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf


@dataclass
class SubmititConf:
    """Where chunks go with ``backend: submitit``: a SLURM array, or local processes."""

    # slurm, local or debug; null: SLURM where sbatch exists, local processes elsewhere
    cluster: Optional[str] = None
    # submitit's pickles and each array task's logs
    folder: str = "${hydra.sweep.dir}/.submitit/%j"
    # submitit's AutoExecutor.update_parameters: generic keys (timeout_min, mem_gb,
    # cpus_per_task) or a cluster's (slurm_partition, slurm_account, slurm_array_parallelism)
    parameters: Dict[str, Any] = field(default_factory=lambda: {"timeout_min": 60, "cpus_per_task": 1, "mem_gb": 4})


@dataclass
class BatchLauncherConf:
    """``hydra/launcher=batch``: compose once per base, run the jobs in chunks (docs/sweeps.md)."""

    _target_: str = "hydra_plugins.pagelab_launcher.batch_launcher.BatchLauncher"
    # joblib (loky) worker processes; -1: one per core (-2: all but one, as joblib counts); 1: this process
    n_jobs: int = -1
    # jobs per chunk; null: 32 chunks per worker (joblib), at least 64 jobs per array task (submitit)
    chunk_size: Optional[int] = None
    # joblib: worker processes on this machine; submitit: chunks as a SLURM (or local) job array
    backend: str = "joblib"
    # write each job's .hydra/ (config.yaml, hydra.yaml, overrides.yaml) as Hydra's run_job does
    save_job_configs: bool = False
    submitit: SubmititConf = field(default_factory=SubmititConf)


ConfigStore.instance().store(group="hydra/launcher", name="batch", node=BatchLauncherConf, provider="pagelab")


class BatchLauncher(Launcher):
    """Hydra's handle on :mod:`pagelab.sweep.batch`."""

    def __init__(self, **options: Any) -> None:
        self.options = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                        for k, v in options.items()}
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        """Keep the sweep's context and config; its jobs will compose through the batch composer."""
        from pagelab.sweep import batch

        batch.setup(self, hydra_context, task_function, config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Run a batch of jobs in chunks; their returns in job order."""
        from pagelab.sweep import batch

        return batch.launch(self, job_overrides, initial_job_idx)
