"""Endpoint providers of the local executor."""

from __future__ import annotations

from nel_core.errors import ConfigError
from nel_core.models.config import DeploymentConfig
from nel_core.ports.endpoint_provider import EndpointProvider

__all__ = ["provider_for"]


def provider_for(deployment: DeploymentConfig, *, home, readiness_timeout: float) -> EndpointProvider:
    """The provider serving ``deployment`` on this host."""
    from nel_executor_local.deployments.external import ExternalEndpoint
    from nel_executor_local.deployments.llama_cpp import LlamaCppServer
    from nel_executor_local.deployments.servers import ContainerServer

    if deployment.type == "none":
        return ExternalEndpoint()
    if deployment.type == "llama_cpp":
        return LlamaCppServer(home=home, readiness_timeout=readiness_timeout)
    if deployment.type in ("vllm", "sglang", "nim", "trtllm", "generic"):
        return ContainerServer(readiness_timeout=readiness_timeout)
    raise ConfigError(f"deployment.type: '{deployment.type}' cannot be served by the local executor")
