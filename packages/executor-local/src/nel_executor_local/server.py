"""The local EndpointProvider: a deployment type's server started on this host.

The deployment type gives a backend-neutral :class:`EndpointSpec`; this provider starts it
detached (in its own session), from its image through a container runtime, or on the host in
the environment of its requirements, and waits for its health path.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from nel_core.deployments import PlanServer, local_endpoint
from nel_core.errors import ConfigError, EndpointError, NelError
from nel_core.host.containers import server_container
from nel_core.host.health import answers
from nel_core.host.processes import alive, spawn_detached, stop_group
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import ContainerSpec, Endpoint, EndpointSpec, Mount
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.services.materialize import DEPLOYMENT_SECRETS_FILE

__all__ = ["DEPLOYMENT_HANDLE", "DEPLOYMENT_LOG", "LocalServer"]

DEPLOYMENT_LOG = "deployment.log"
#: The started server's handle, for a `kill` from another process.
DEPLOYMENT_HANDLE = "deployment.handle"


class LocalServer(EndpointProvider):
    """Starts a deployment type's server on this host and stops it.

    Args:
        plan: The deployment type's plan.
        host: The runtime of servers without an image (the process runtime).
        containers: The runtime of servers with an image (docker or podman).
        readiness_timeout: Seconds a server may take to answer its health path.
        mounts: More host paths for the server's container (``execution.mounts.deployment``).
        extra_args: More command-line arguments for the server's container.
    """

    name: ClassVar[str] = "local-server"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GPU})

    def __init__(
        self,
        plan: PlanServer,
        *,
        host: ContainerRuntime,
        containers: ContainerRuntime,
        readiness_timeout: float,
        mounts: Sequence[Mount] = (),
        extra_args: Sequence[str] = (),
    ) -> None:
        self._plan = plan
        self.host = host
        self.containers = containers
        self.readiness_timeout = readiness_timeout
        self.mounts = list(mounts)
        self.extra_args = list(extra_args)

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        spec = self._plan(config, deployment)
        if spec is None:
            return None
        if self.mounts and spec.image is None:
            raise ConfigError(
                f"execution.mounts.deployment: the {spec.type} server runs on this host, not in a container",
                hint="mount paths only into a deployment with an image",
            )
        return attrs.evolve(spec, readiness_timeout=self.readiness_timeout, mounts=[*spec.mounts, *self.mounts])

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        if spec is None:
            raise EndpointError("the local server provider needs a planned server")
        return local_endpoint(spec)

    def _runtime(self, spec: EndpointSpec) -> ContainerRuntime:
        return self.host if spec.image is None else self.containers

    def _container(self, spec: EndpointSpec) -> ContainerSpec:
        return attrs.evolve(server_container(spec), extra_args=self.extra_args if spec.image else [])

    def prepare(self, spec: EndpointSpec) -> None:
        try:
            self._runtime(spec).prepare(self._container(spec))
        except NelError as exc:
            raise EndpointError(f"deployment {spec.type}: {exc.message}", hint=exc.hint) from exc

    def render(self, spec: EndpointSpec) -> str:
        """The server's line, run from the invocation's folder: it alone reads ``deployment.env``;
        ``exec`` keeps the started process the server itself."""
        line = shlex.join(self._runtime(spec).render(self._container(spec)))
        return (
            f"[ -f {DEPLOYMENT_SECRETS_FILE} ] && {{ set -a; . ./{DEPLOYMENT_SECRETS_FILE}; set +a; }}; "
            f"exec {line}"
        )

    def start(self, spec: EndpointSpec, workdir: Path) -> str:
        try:
            handle = spawn_detached(["bash", "-c", self.render(spec)], cwd=workdir, log=workdir / DEPLOYMENT_LOG)
        except OSError as exc:
            raise EndpointError(f"cannot start the {spec.type} server: {exc}") from exc
        (workdir / DEPLOYMENT_HANDLE).write_text(handle + "\n")
        return handle

    def wait_ready(self, handle: str, spec: EndpointSpec, timeout: float) -> None:
        url = f"http://127.0.0.1:{spec.port}{spec.health_path}"
        deadline = time.monotonic() + timeout
        while not answers(url):
            if not alive(handle):
                why = "exited before it became healthy"
                raise EndpointError(f"the {spec.type} deployment {why} (see {DEPLOYMENT_LOG})")
            if time.monotonic() > deadline:
                why = f"was not healthy within {timeout:g}s"
                raise EndpointError(f"the {spec.type} deployment {why} (see {DEPLOYMENT_LOG})")
            time.sleep(0.1)  # a local health check is cheap; a ready server waits less

    def stop(self, handle: str) -> None:
        stop_group(handle)
