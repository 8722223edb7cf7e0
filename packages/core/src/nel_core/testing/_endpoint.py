"""A fake endpoint provider: an existing URL for ``none``, in-memory servers for the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attrs

from nel_core.errors import ConfigError, EndpointError
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import Endpoint, EndpointSpec
from nel_core.plugins import deployment_types
from nel_core.ports.capabilities import Capability
from nel_core.ports.endpoint_provider import EndpointProvider

__all__ = ["FakeEndpointProvider"]


class FakeEndpointProvider(EndpointProvider):
    """Serves every deployment type: ``none`` from ``target.api_endpoint``, others "started".

    A plugin's deployment type that declares a plan (:class:`~nel_core.plugins.DeploymentTypeSpec`)
    is served as that plan says; the other types get a server spec built from their config.

    Started servers live in memory: :attr:`running` maps handles to specs, :attr:`starts` and
    :attr:`stops` count calls. ``ready=False`` makes ``wait_ready`` fail as a server that never
    comes up would.

    Args:
        host: Host of the URLs of started servers.
        ready: Whether started servers become ready.
    """

    name: ClassVar[str] = "fake"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, *, host: str = "127.0.0.1", ready: bool = True) -> None:
        self.host = host
        self.ready = ready
        self.running: dict[str, EndpointSpec] = {}
        self.starts = 0
        self.stops = 0
        self.waited: list[tuple[str, float]] = []

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        if not deployment.starts_server:
            return None
        registered = deployment_types().get(deployment.type)
        if registered is not None and registered.plan is not None and registered.package != "nel-core":
            return registered.plan(config, deployment)  # a plugin's type: its own plan
        # NEL's own types, planned leniently: tests of the fake need no complete server config.
        endpoints = dict(_attr(deployment, "endpoints", {}) or {})
        served = (
            _attr(deployment, "served_model_name", None)
            or config.target.api_endpoint.model_id
            or "fake-model"
        )
        return EndpointSpec(
            type=deployment.type,
            image=_attr(deployment, "image", None),
            command=_attr(deployment, "command", None) or f"fake-serve --type {deployment.type}",
            port=int(_attr(deployment, "port", 8000)),
            served_model_name=str(served),
            health_path=endpoints.get("health", "/health"),
            endpoints=endpoints,
            env_names=sorted(_attr(deployment, "env_vars", {}) or {}),
            options=attrs.asdict(deployment),
        )

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        """The target URL as written (``none``), or the started server's base URL.

        Raises:
            ConfigError: when ``none`` is deployed and the URL or the model id is missing.
        """
        if spec is not None:
            return Endpoint(
                base_url=f"http://{self.host}:{spec.port}",
                model_id=spec.served_model_name,
                endpoints=dict(spec.endpoints),
            )
        api = config.target.api_endpoint
        hint = "set it, or choose a deployment that starts a server"
        if not api.url:
            raise ConfigError("target.api_endpoint.url: required with deployment 'none'", hint=hint)
        if not api.model_id:
            raise ConfigError(
                "target.api_endpoint.model_id: required with deployment 'none'", hint=hint
            )
        return Endpoint(base_url=api.url, model_id=api.model_id)

    def start(self, spec: EndpointSpec, workdir: Path) -> str:
        self.starts += 1
        handle = f"fake-server-{self.starts}"
        self.running[handle] = spec
        return handle

    def wait_ready(self, handle: str, spec: EndpointSpec, timeout: float) -> None:
        self.waited.append((handle, timeout))
        if handle not in self.running:
            raise EndpointError(f"server {handle} is not running")
        if not self.ready:
            raise EndpointError(
                f"server {handle} not ready within {timeout:g} s "
                f"(health path {spec.health_path} does not answer)"
            )

    def stop(self, handle: str) -> None:
        if self.running.pop(handle, None) is not None:
            self.stops += 1


def _attr(deployment: DeploymentConfig, name: str, default: Any) -> Any:
    return getattr(deployment, name, default)
