"""The ``example-shell`` container runtime: a spec's command run by ``sh -c``, no container."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Any, ClassVar

from nel_core.errors import PreflightError
from nel_core.models.domain import ContainerSpec
from nel_core.plugins import RuntimeSpec
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = ["RUNTIME_SPEC", "ShellRuntime"]


class ShellRuntime(ContainerRuntime):
    """Runs a spec's command on this host with ``sh -c``: no image, no mounts, no API.

    The command's words are passed as positional parameters and run with ``exec "$@"``, so
    they reach the program intact (no second round of shell quoting). Env variables pass by
    name from the caller's environment; the spec's ``workdir`` becomes the current directory.

    Args:
        shell: The POSIX shell to run (``sh``).
    """

    name: ClassVar[str] = "example-shell"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, *, shell: str = "sh") -> None:
        self.shell = shell

    def render(self, spec: ContainerSpec) -> list[str]:
        if spec.workdir:
            return [self.shell, "-c", 'cd "$1" && shift && exec "$@"', self.name, spec.workdir, *spec.command]
        return [self.shell, "-c", 'exec "$@"', self.name, *spec.command]

    def ping(self) -> None:
        if shutil.which(self.shell) is None:
            raise PreflightError(f"runtime '{self.name}': no shell '{self.shell}' on PATH")


def _make_runtime(options: Mapping[str, Any]) -> ContainerRuntime:
    # Executors pass the options they have (docker_host, ...): take ours, leave the rest.
    return ShellRuntime(shell=str(options.get("shell") or "sh"))


#: The registration (entry point ``nel.runtimes: example-shell``).
RUNTIME_SPEC = RuntimeSpec(
    name="example-shell",
    factory=_make_runtime,
    package="nel-plugin-example",
    description="the spec's command run by sh -c on this host (no container)",
)
