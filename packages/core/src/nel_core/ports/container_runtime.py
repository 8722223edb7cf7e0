"""Port: a container runtime (Docker, Podman, pyxis, Apptainer, or no container at all)."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from typing import ClassVar

from nel_core.models.domain import ContainerSpec, StateReport
from nel_core.ports.capabilities import Capability

__all__ = ["ContainerRuntime"]


class ContainerRuntime(abc.ABC):
    """Runs a :class:`ContainerSpec`.

    Every runtime can render a spec as a shell command line (for batch scripts). Runtimes that
    declare :attr:`Capability.DIRECT_RUN` also run, inspect and stop containers through an API.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    @abc.abstractmethod
    def render(self, spec: ContainerSpec) -> list[str]:
        """The command line (argv) that runs ``spec`` from a shell script."""

    def ping(self) -> None:
        """Check that the runtime answers.

        Raises:
            PreflightError: when it does not, saying why.
        """

    def prepare(self, spec: ContainerSpec) -> None:
        """Make what ``spec`` needs available where it runs, once: its image, or an environment.

        Safe to call from several processes at once; a second call finds the work done.

        Raises:
            PreflightError: when the image is missing (NEL never pulls without being told to).
            ContainerError: when the environment cannot be built.
        """

    def run(self, spec: ContainerSpec) -> str:
        """Start ``spec`` detached and return its handle (needs DIRECT_RUN)."""
        raise self._unsupported("run")

    def inspect(self, handles: Sequence[str]) -> dict[str, StateReport]:
        """States of many containers in one call (needs DIRECT_RUN)."""
        raise self._unsupported("inspect")

    def wait(self, handle: str) -> int:
        """Block until the container ends; return its exit code (needs DIRECT_RUN)."""
        raise self._unsupported("wait for")

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        """The container's output; with ``follow``, as it comes until it ends (needs DIRECT_RUN)."""
        raise self._unsupported("read the logs of")

    def stop(self, handle: str) -> None:
        """Stop and remove one container (needs DIRECT_RUN); stopping a gone one is fine."""
        raise self._unsupported("stop")

    def find(self, labels: dict[str, str]) -> list[str]:
        """Handles of the containers carrying all ``labels`` (needs DIRECT_RUN)."""
        raise self._unsupported("find")

    def _unsupported(self, what: str) -> Exception:
        from nel_core.errors import ContainerError

        return ContainerError(f"runtime '{self.name}' cannot {what} containers directly")
