"""The ``execution`` section of the local executor."""

from __future__ import annotations

from typing import Literal

import attrs

from nel_core.models.config import ExecutionConfig

__all__ = ["LocalExecutionConfig", "LocalMounts"]


@attrs.frozen(kw_only=True)
class LocalMounts:
    """Host paths mounted into containers (host path -> container path), as NeMo Evaluator Launcher reads them.

    Args:
        deployment: Mounted into the model server's container.
        evaluation: Mounted into every job's harness container.
    """

    deployment: dict[str, str] = attrs.Factory(dict)
    evaluation: dict[str, str] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class LocalExecutionConfig(ExecutionConfig):
    """Run on this host.

    Args:
        mode: ``sequential`` runs one job at a time; ``parallel`` up to ``max_parallel``.
        runtime: ``docker``, ``podman``, ``process``, another runtime registered under
            ``nel.runtimes``, or ``auto`` (docker when an engine answers and has the images,
            else process).
        docker_host: Docker or Podman socket (default: ``DOCKER_HOST`` or the engine's default).
        endpoint_readiness_timeout: Seconds a deployment may take to become healthy.
        extra_docker_args: More ``docker run`` arguments for the jobs' and the server's containers
            (they then run through the docker command line instead of the API).
        mounts: Host paths mounted into the server's and the jobs' containers.
    """

    type: str = "local"
    mode: Literal["sequential", "parallel"] = "sequential"
    max_parallel: int = 1
    runtime: str = "auto"
    docker_host: str | None = None
    extra_docker_args: str = ""
    endpoint_readiness_timeout: float = 600.0
    mounts: LocalMounts = attrs.Factory(LocalMounts)
