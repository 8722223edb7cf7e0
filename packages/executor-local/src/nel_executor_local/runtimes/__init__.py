"""Container runtimes of this host, registered under ``nel.runtimes``: docker, podman, process.

Each factory takes the executor's runtime options (``docker_host``, ``home``) and imports its
module only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nel_core.plugins import RuntimeSpec
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["DOCKER", "PODMAN", "PROCESS"]


def _docker(options: Mapping[str, Any]) -> ContainerRuntime:
    from nel_executor_local.runtimes.docker import DockerRuntime

    return DockerRuntime(base_url=options.get("docker_host"))


def _podman(options: Mapping[str, Any]) -> ContainerRuntime:
    from nel_executor_local.runtimes.docker import PodmanRuntime

    return PodmanRuntime(base_url=options.get("docker_host"))


def _process(options: Mapping[str, Any]) -> ContainerRuntime:
    from nel_executor_local.runtimes.process import ProcessRuntime

    return ProcessRuntime(Path(options["home"]))


DOCKER = RuntimeSpec(
    name="docker", factory=_docker, package="nel-executor-local",
    description="Docker Engine (or any Docker-compatible socket) through the docker SDK",
)  # fmt: skip
PODMAN = RuntimeSpec(
    name="podman", factory=_podman, package="nel-executor-local",
    description="Podman through its Docker-compatible socket",
)  # fmt: skip
PROCESS = RuntimeSpec(
    name="process", factory=_process, package="nel-executor-local",
    description="no container: the command in a cached virtual environment on this host",
)  # fmt: skip
