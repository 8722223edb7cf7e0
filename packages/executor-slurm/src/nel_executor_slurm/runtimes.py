"""The container runtimes of HPC clusters, rendered into sbatch scripts (no API: render only).

Each turns a :class:`ContainerSpec` into the command line a batch script runs on a compute
node. None declares DIRECT_RUN: the job's script runs them, Slurm stops them.

- ``pyxis``: ``srun --container-image`` (enroot under Slurm's pyxis plugin);
- ``charliecloud``: ``ch-run`` of an image in the user's Charliecloud storage;
- ``apptainer``: ``apptainer exec`` of a ``docker://`` image (``--nv`` for GPUs);
- ``docker``: ``docker run`` on the compute node;
- ``none``: the command itself, on the node (the harness of a virtual environment on the shared
  filesystem).

Environment variables pass by name: each runtime forwards the job's environment (the values of
``secrets.env``, sourced by the job's script), so no value is ever rendered.
"""

from __future__ import annotations

from typing import ClassVar

from nel_core.models.domain import ContainerSpec, Mount
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime

__all__ = [
    "ApptainerRuntime",
    "CharliecloudRuntime",
    "DockerCliRuntime",
    "NoContainerRuntime",
    "PyxisRuntime",
    "slurm_runtime",
]


def _bind(mount: Mount, read_only: str = ":ro") -> str:
    return f"{mount.source}:{mount.target}" + (read_only if mount.read_only else "")


class PyxisRuntime(ContainerRuntime):
    """``srun --container-image=...``: a Slurm step in an enroot container (pyxis).

    Args:
        mount_home: Whether the container sees the user's home directory.
        srun_args: More ``srun`` arguments (a server's ``--nodes``/``--ntasks``); by default one
            task that shares the job's resources with the steps already running (``--overlap``).
    """

    name: ClassVar[str] = "pyxis"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.MOUNTS, Capability.GPU})

    def __init__(self, *, mount_home: bool = True, srun_args: tuple[str, ...] = ("--nodes=1", "--ntasks=1")) -> None:
        self.mount_home = mount_home
        self.srun_args = srun_args

    def render(self, spec: ContainerSpec) -> list[str]:
        argv = ["srun", "--overlap", *self.srun_args, f"--container-image={spec.image}"]
        if spec.mounts:
            argv.append("--container-mounts=" + ",".join(_bind(m) for m in spec.mounts))
        if spec.workdir:
            argv.append(f"--container-workdir={spec.workdir}")
        argv.append("--container-mount-home" if self.mount_home else "--no-container-mount-home")
        argv += [*spec.extra_args, *spec.command]
        return argv


class CharliecloudRuntime(ContainerRuntime):
    """``ch-run IMAGE -- CMD``: an image of the user's Charliecloud storage (``ch-image pull``)."""

    name: ClassVar[str] = "charliecloud"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.MOUNTS, Capability.GPU})

    def render(self, spec: ContainerSpec) -> list[str]:
        argv = ["ch-run"]
        for mount in spec.mounts:
            # ch-run binds read-write only when the image is writable; its binds are plain SRC:DST.
            argv.append(f"--bind={mount.source}:{mount.target}")
        if spec.workdir:
            argv.append(f"--cd={spec.workdir}")
        argv += [*spec.extra_args, spec.image, "--", *spec.command]
        return argv


class ApptainerRuntime(ContainerRuntime):
    """``apptainer exec docker://IMAGE CMD`` (``--nv`` when the spec needs GPUs).

    Args:
        mount_home: Whether the container sees the user's home directory.
    """

    name: ClassVar[str] = "apptainer"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.MOUNTS, Capability.GPU})

    def __init__(self, *, mount_home: bool = True) -> None:
        self.mount_home = mount_home

    def render(self, spec: ContainerSpec) -> list[str]:
        argv = ["apptainer", "exec"]
        if spec.gpus is not None:
            argv.append("--nv")
        if not self.mount_home:
            argv.append("--no-home")
        for mount in spec.mounts:
            argv.append(f"--bind={_bind(mount)}")
        if spec.workdir:
            argv.append(f"--pwd={spec.workdir}")
        image = spec.image if "://" in spec.image or spec.image.endswith(".sif") else f"docker://{spec.image}"
        argv += [*spec.extra_args, image, *spec.command]
        return argv


class DockerCliRuntime(ContainerRuntime):
    """``docker run --rm`` on the compute node, removed when it ends."""

    name: ClassVar[str] = "docker"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.MOUNTS, Capability.GPU})

    def render(self, spec: ContainerSpec) -> list[str]:
        argv = ["docker", "run", "--rm", f"--network={spec.network}"]
        if spec.name:
            argv.append(f"--name={spec.name}")
        for key, value in sorted(spec.labels.items()):
            argv.append(f"--label={key}={value}")
        if spec.gpus is not None:
            argv.append(f"--gpus={spec.gpus}")
        for name in spec.env_names:
            argv += ["-e", name]  # by name: the value comes from the job's environment
        for mount in spec.mounts:
            argv += ["-v", _bind(mount)]
        if spec.workdir:
            argv.append(f"--workdir={spec.workdir}")
        argv += [*spec.extra_args, spec.image, *spec.command]
        return argv


class NoContainerRuntime(ContainerRuntime):
    """No container: the command on the node, from the spec's working directory."""

    name: ClassVar[str] = "none"

    def render(self, spec: ContainerSpec) -> list[str]:
        if spec.workdir:
            return ["bash", "-c", 'cd "$1" && shift && exec "$@"', "nel-job", spec.workdir, *spec.command]
        return list(spec.command)


def slurm_runtime(name: str, *, mount_home: bool = True) -> ContainerRuntime:
    """The runtime of ``execution.container_runtime``."""
    if name == "pyxis":
        return PyxisRuntime(mount_home=mount_home)
    if name == "apptainer":
        return ApptainerRuntime(mount_home=mount_home)
    if name == "charliecloud":
        return CharliecloudRuntime()
    if name == "docker":
        return DockerCliRuntime()
    return NoContainerRuntime()
