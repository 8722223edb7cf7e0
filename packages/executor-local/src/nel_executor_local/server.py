"""The local EndpointProvider: a deployment type's server started on this host.

The deployment type gives a backend-neutral :class:`EndpointSpec`; this provider starts it
detached (in its own session), from its image through a container runtime, or on the host in
the environment of its requirements, and waits for its health path.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import ClassVar

import attrs

from nel_core.deployments import PlanServer, local_endpoint
from nel_core.errors import EndpointError, NelError
from nel_core.host.health import answers
from nel_core.host.processes import alive, spawn_detached, stop_group
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import ContainerSpec, Endpoint, EndpointSpec
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
    ) -> None:
        self._plan = plan
        self.host = host
        self.containers = containers
        self.readiness_timeout = readiness_timeout

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        spec = self._plan(config, deployment)
        return None if spec is None else attrs.evolve(spec, readiness_timeout=self.readiness_timeout)

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        if spec is None:
            raise EndpointError("the local server provider needs a planned server")
        return local_endpoint(spec)

    def _runtime(self, spec: EndpointSpec) -> ContainerRuntime:
        return self.host if spec.image is None else self.containers

    @staticmethod
    def _container(spec: EndpointSpec) -> ContainerSpec:
        invocation = spec.labels.get("nel.invocation", "")
        return ContainerSpec(
            image=spec.image or "",
            command=["sh", "-c", spec.command],
            env_names=list(spec.env_names),
            mounts=list(spec.mounts),
            gpus=spec.gpus,
            labels=dict(spec.labels),
            name=f"nel-{invocation}-server" if invocation else None,
            requirements=list(spec.requirements),
        )

    def prepare(self, spec: EndpointSpec) -> None:
        try:
            self._runtime(spec).prepare(self._container(spec))
        except NelError as exc:
            raise EndpointError(f"deployment {spec.type}: {exc.message}", hint=exc.hint) from exc

    def start(self, spec: EndpointSpec, workdir: Path) -> str:
        line = shlex.join(self._runtime(spec).render(self._container(spec)))
        # The server alone reads deployment.env; exec keeps the handle the server's own.
        script = (
            f"[ -f {DEPLOYMENT_SECRETS_FILE} ] && {{ set -a; . ./{DEPLOYMENT_SECRETS_FILE}; set +a; }}; "
            f"exec {line}"
        )
        try:
            handle = spawn_detached(["bash", "-c", script], cwd=workdir, log=workdir / DEPLOYMENT_LOG)
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
            time.sleep(0.5)

    def stop(self, handle: str) -> None:
        stop_group(handle)
