"""The registration of the local executor (entry point ``nel.executors: local``)."""

from __future__ import annotations

from pathlib import Path

from nel_core.models.config import ExecutionConfig
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_executor_local.config import LocalExecutionConfig

__all__ = ["SPEC"]


def _factory(config: ExecutionConfig, home: Path) -> Executor:
    from nel_executor_local.executor import LocalExecutor

    return LocalExecutor(config, home=home)


SPEC = ExecutorSpec(
    name="local",
    config_type=LocalExecutionConfig,
    factory=_factory,
    package="nel-executor-local",
    description="this machine: Docker/Podman containers or plain processes",
)
