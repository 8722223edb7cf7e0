"""The ``example_server`` deployment type: a model server that a shell command starts."""

from __future__ import annotations

from typing import ClassVar

import attrs

from nel_core.errors import ConfigError
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import EndpointSpec
from nel_core.plugins import DeploymentTypeSpec

__all__ = ["DEPLOYMENT_SPEC", "ExampleServerDeployment", "plan_example_server"]


@attrs.frozen(kw_only=True)
class ExampleServerDeployment(DeploymentConfig):
    """``deployment`` of type ``example_server``: an OpenAI-compatible server run on the host.

    Args:
        command: The shell command that starts the server.
        port: The port it listens on.
        served_model_name: The model name it serves (default: ``target.api_endpoint.model_id``).
        health_path: The path that answers once the server is ready.
    """

    TYPE: ClassVar[str] = "example_server"
    type: str = "example_server"
    command: str
    port: int = 8000
    served_model_name: str | None = None
    health_path: str = "/health"


def plan_example_server(config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
    """The server to start, as a backend-neutral spec that any executor can run.

    Raises:
        ConfigError: when no model name is given, here or in ``target.api_endpoint.model_id``.
    """
    if not isinstance(deployment, ExampleServerDeployment):
        raise ConfigError(f"deployment.type: expected 'example_server', got '{deployment.type}'")
    served = deployment.served_model_name or config.target.api_endpoint.model_id
    if not served:
        raise ConfigError(
            "deployment.served_model_name: not set",
            hint="set it, or target.api_endpoint.model_id",
        )
    return EndpointSpec(
        type=deployment.type,
        image=None,
        command=deployment.command,
        port=deployment.port,
        served_model_name=served,
        health_path=deployment.health_path,
        endpoints={
            "chat": "/v1/chat/completions",
            "completions": "/v1/completions",
            "health": deployment.health_path,
        },
    )


#: The registration (entry point ``nel.deployments: example_server``).
DEPLOYMENT_SPEC = DeploymentTypeSpec(
    name="example_server",
    config_type=ExampleServerDeployment,
    plan=plan_example_server,
    package="nel-plugin-example",
    description="a model server started by a shell command on the host",
)
