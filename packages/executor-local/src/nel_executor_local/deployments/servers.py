"""Model servers in containers: vLLM, SGLang, NIM, TRT-LLM, and generic commands.

They need GPUs; here they are planned and rendered (the supervisor runs them with
``docker run --gpus all``), and they run as is on a machine with GPUs and Docker.
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from nel_core.errors import ConfigError
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import Endpoint, EndpointSpec
from nel_core.ports.capabilities import Capability
from nel_core.ports.endpoint_provider import EndpointProvider

__all__ = ["ContainerServer"]


class ContainerServer(EndpointProvider):
    """A server image + command with a port and a health path."""

    name: ClassVar[str] = "container-server"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GPU})

    def __init__(self, *, readiness_timeout: float) -> None:
        self.readiness_timeout = readiness_timeout

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        def get(key: str, default: object = None) -> Any:
            return getattr(deployment, key, default)

        command = get("command")
        if not command:
            raise ConfigError(f"deployment.command: required for deployment type {deployment.type}")
        served = get("served_model_name")
        if not served:
            raise ConfigError(f"deployment.served_model_name: required for {deployment.type}")
        endpoints = dict(get("endpoints") or {})
        options = {"checkpoint_path": get("checkpoint_path"), "gpus": deployment.type != "generic"}
        return EndpointSpec(
            type=deployment.type,
            image=get("image"),
            command=str(command),
            port=int(get("port", 8000)),
            served_model_name=str(served),
            health_path=endpoints.get("health", "/health"),
            endpoints=endpoints,
            readiness_timeout=self.readiness_timeout,
            env_names=sorted(get("env_vars") or {}),
            options=options,
        )

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        assert spec is not None
        return Endpoint(
            base_url=f"http://127.0.0.1:{spec.port}",
            model_id=spec.served_model_name,
            endpoints=spec.endpoints,
        )

    @staticmethod
    def start_command(spec: EndpointSpec, invocation_id: str) -> tuple[str, str]:
        """Shell lines that start the server (foreground) and stop it."""
        if spec.image is None:
            return spec.command, "true"
        name = f"nel-{invocation_id}-server"
        argv = ["docker", "run", "--rm", "--name", name, "--label", f"nel.invocation={invocation_id}",
                "--label", "nel.role=deployment", "--network", "host", "--ipc", "host"]
        if spec.options.get("gpus"):
            argv += ["--gpus", "all"]
        checkpoint = spec.options.get("checkpoint_path")
        if checkpoint:
            argv += ["-v", f"{checkpoint}:/checkpoint:ro"]
        for env_name in spec.env_names:
            argv += ["-e", env_name]
        argv += [spec.image, "sh", "-c", spec.command]
        return " ".join(shlex.quote(a) for a in argv), f"docker rm -f {name} >/dev/null 2>&1"
