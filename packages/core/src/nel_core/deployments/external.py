"""``deployment: none``: the harness talks to an existing endpoint."""

from __future__ import annotations

from typing import ClassVar

from nel_core.errors import ConfigError
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import Endpoint, EndpointSpec
from nel_core.ports.endpoint_provider import EndpointProvider

__all__ = ["ExternalEndpoint"]


class ExternalEndpoint(EndpointProvider):
    """An endpoint NEL does not start: ``target.api_endpoint.url`` as given."""

    name: ClassVar[str] = "none"

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        return None

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        api = config.target.api_endpoint
        for key, value in (("url", api.url), ("model_id", api.model_id)):
            if not value:
                raise ConfigError(
                    f"target.api_endpoint.{key}: required when deployment.type is none",
                    hint=f"set it in the config or with -o target.api_endpoint.{key}=...",
                )
        assert api.url is not None and api.model_id is not None
        if not api.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"target.api_endpoint.url: '{api.url}' is not an http(s) URL",
                hint="e.g. http://127.0.0.1:8000/v1/chat/completions",
            )
        return Endpoint(base_url=api.url, model_id=api.model_id)
