"""A fake container runtime: Docker's command line, containers kept in memory."""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import attrs

from nel_core.errors import ContainerError, PreflightError
from nel_core.models.domain import ContainerSpec, JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["FakeContainer", "FakeContainerRuntime"]


@attrs.define(kw_only=True)
class FakeContainer:
    """One container the fake runtime started (mutable: it runs, exits, is stopped)."""

    handle: str
    spec: ContainerSpec
    state: JobState = JobState.RUNNING
    exit_code: int | None = None
    removed: bool = False
    output: list[str] = attrs.Factory(list)


class FakeContainerRuntime(ContainerRuntime):
    """A runtime with an API (DIRECT_RUN) whose containers live in memory.

    ``render`` gives the ``docker run`` command line of a spec; ``run`` records a running
    container; :meth:`exit` makes one end as its command would; ``stop`` stops and removes it.

    Args:
        binary: The program name at the head of rendered command lines.
        reachable: Whether ``ping`` succeeds and containers can be started.
    """

    name: ClassVar[str] = "fake"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DIRECT_RUN})

    def __init__(self, *, binary: str = "docker", reachable: bool = True) -> None:
        self.binary = binary
        self.reachable = reachable
        self.containers: dict[str, FakeContainer] = {}
        self._next = 0

    def render(self, spec: ContainerSpec) -> list[str]:
        """``docker run --rm`` with the spec's name, network, GPUs, env names, mounts, labels."""
        argv = [self.binary, "run", "--rm"]
        if spec.name:
            argv += ["--name", spec.name]
        argv += ["--network", spec.network]
        if spec.gpus is not None:
            argv += ["--gpus", str(spec.gpus)]
        for name in spec.env_names:
            argv += ["-e", name]  # a name only: the value comes from the caller's environment
        for mount in spec.mounts:
            argv += ["-v", f"{mount.source}:{mount.target}" + (":ro" if mount.read_only else "")]
        if spec.workdir:
            argv += ["-w", spec.workdir]
        for key, value in sorted(spec.labels.items()):
            argv += ["--label", f"{key}={value}"]
        return [*argv, spec.image, *spec.command]

    def render_line(self, spec: ContainerSpec) -> str:
        """:meth:`render` as one shell-quoted line."""
        return shlex.join(self.render(spec))

    def ping(self) -> None:
        if not self.reachable:
            raise PreflightError(f"container runtime '{self.name}' does not answer")

    def run(self, spec: ContainerSpec) -> str:
        if not self.reachable:
            raise ContainerError(f"container runtime '{self.name}' does not answer")
        self._next += 1
        handle = f"fake-container-{self._next}"
        self.containers[handle] = FakeContainer(handle=handle, spec=spec)
        return handle

    def inspect(self, handles: Sequence[str]) -> dict[str, StateReport]:
        reports = {}
        for handle in handles:
            container = self.containers.get(handle)
            if not self.reachable:
                reports[handle] = StateReport(
                    state=JobState.UNKNOWN, reason=f"runtime '{self.name}' does not answer"
                )
            elif container is None:
                reports[handle] = StateReport(
                    state=JobState.UNKNOWN, reason=f"no container {handle}"
                )
            else:
                reason = "stopped" if container.state is JobState.KILLED else ""
                reports[handle] = StateReport(
                    state=container.state, reason=reason, exit_code=container.exit_code
                )
        return reports

    def wait(self, handle: str) -> int:
        container = self._get(handle)
        while container.state.is_active:  # another thread ends it (see exit())
            time.sleep(0.01)
        return container.exit_code if container.exit_code is not None else 1

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        yield from list(self._get(handle).output)

    def _get(self, handle: str) -> FakeContainer:
        container = self.containers.get(handle)
        if container is None or not self.reachable:
            raise ContainerError(f"no container {handle} on runtime '{self.name}'")
        return container

    def stop(self, handle: str) -> None:
        container = self.containers.get(handle)
        if container is None or container.removed:
            return
        if container.state.is_active:
            container.state = JobState.KILLED
            container.exit_code = 137
        container.removed = True

    def find(self, labels: dict[str, str]) -> list[str]:
        return [
            c.handle
            for c in self.containers.values()
            if not c.removed and all(c.spec.labels.get(k) == v for k, v in labels.items())
        ]

    # ----------------------------------------------------------------- controls for tests

    def emit(self, handle: str, text: str) -> None:
        """Make a container print ``text`` as its command would."""
        self.containers[handle].output.append(text)

    def exit(self, handle: str, exit_code: int) -> None:
        """Make a running container end as if its command exited with ``exit_code``."""
        container = self.containers[handle]
        if container.state.is_active:
            container.state = JobState.SUCCESS if exit_code == 0 else JobState.FAILED
            container.exit_code = exit_code

    def running(self) -> list[str]:
        """Handles of the containers still running."""
        return [c.handle for c in self.containers.values() if c.state.is_active]
