"""Port: an endpoint provider (an existing URL, or a model server started for the run)."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import ClassVar

from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import Endpoint, EndpointSpec
from nel_core.ports.capabilities import Capability

__all__ = ["EndpointProvider"]


class EndpointProvider(abc.ABC):
    """Gives jobs their model endpoint, starting and stopping a server when one is deployed."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    @abc.abstractmethod
    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        """The server to start for ``deployment`` (None when nothing is started).

        Raises:
            ConfigError: when the deployment lacks what it needs (image, model, ...).
        """

    @abc.abstractmethod
    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        """Where the harness sends requests once the server (if any) is up."""

    def render(self, spec: EndpointSpec) -> str:
        """The shell line that starts the server in the foreground (for batch scripts and dry runs).

        The default is the spec's own command, run where the line runs.
        """
        return spec.command

    def prepare(self, spec: EndpointSpec) -> None:
        """Build what the server needs once (an environment, an image check), before any job starts.

        Raises:
            EndpointError: when it cannot be built.
        """

    def start(self, spec: EndpointSpec, workdir: Path) -> str:
        """Start the server detached; return a handle. Logs go into ``workdir``.

        ``workdir`` is the invocation's folder; the server's own environment values are in its
        ``deployment.env`` (sourced by the server alone).
        """
        from nel_core.errors import EndpointError

        raise EndpointError(f"endpoint provider '{self.name}' cannot start servers")

    def wait_ready(self, handle: str, spec: EndpointSpec, timeout: float) -> None:
        """Block until the health path answers.

        Raises:
            EndpointError: when the server dies or is not ready within ``timeout`` seconds.
        """

    def stop(self, handle: str) -> None:
        """Stop the server and everything it started; stopping a gone one is fine."""
