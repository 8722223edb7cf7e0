"""The registration of the Slurm executor (entry point ``nel.executors: slurm``)."""

from __future__ import annotations

from pathlib import Path

from nel_core.models.config import ExecutionConfig
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_executor_slurm.config import SlurmExecutionConfig

__all__ = ["SPEC"]


def _factory(config: ExecutionConfig, home: Path) -> Executor:
    from nel_executor_slurm.executor import SlurmExecutor

    return SlurmExecutor(config, home=home)


SPEC = ExecutorSpec(
    name="slurm",
    config_type=SlurmExecutionConfig,
    factory=_factory,
    package="nel-executor-slurm",
    description="a Slurm cluster: sbatch jobs, each starting the model server once for its tasks",
)
