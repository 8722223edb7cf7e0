"""What a job's or a server's container is, for any executor whose runtime is a ContainerRuntime.

An executor composes these instead of writing them again: the paths a job sees (mounted at
``/job`` and ``/results`` where the runtime mounts, the host's own otherwise), the harness's
container, the model server's container, and ``execution.mounts`` entries as mounts.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from nel_core.layout import ARTIFACTS_DIR, RUN_CONFIG_FILE, RUN_CONFIG_PLACEHOLDER
from nel_core.models.domain import ContainerSpec, EndpointSpec, JobSpec, Mount
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.executor import JobPaths

__all__ = ["job_container", "job_paths", "mounts_from", "server_container"]


def mounts_from(mapping: Mapping[str, str]) -> list[Mount]:
    """``execution.mounts.*`` (host path -> container path) as mounts, ``~`` expanded."""
    return [Mount(source=str(Path(host).expanduser()), target=target) for host, target in mapping.items()]


def job_paths(runtime: ContainerRuntime, job_dir: Path) -> JobPaths:
    """How a job run by ``runtime`` sees its folder and its results folder."""
    if Capability.MOUNTS in runtime.capabilities:
        return JobPaths(job_dir="/job", results_dir="/results")
    return JobPaths(job_dir=str(job_dir), results_dir=str(job_dir / ARTIFACTS_DIR))


def job_container(
    invocation_id: str, spec: JobSpec, job_dir: Path, runtime: ContainerRuntime, *, mounts: Mapping[str, str] = {}
) -> ContainerSpec:
    """The harness's container for ``spec``: its command as the job sees its paths, env by name only.

    Args:
        mounts: More host paths for the job (``execution.mounts.evaluation``); only a runtime
            that mounts gets them.
    """
    paths = job_paths(runtime, job_dir)
    run_config = shlex.quote(f"{paths.job_dir}/{RUN_CONFIG_FILE}")
    all_mounts = [
        Mount(source=str(job_dir), target="/job"),
        Mount(source=str(job_dir / ARTIFACTS_DIR), target="/results"),
        *spec.mounts,
        *mounts_from(mounts),
    ]
    return ContainerSpec(
        image=spec.image,
        command=["sh", "-c", spec.command.replace(RUN_CONFIG_PLACEHOLDER, run_config)],
        env_names=sorted({*spec.env, "NEMO_EVALUATOR_TELEMETRY_LEVEL", "ADAPTER_PORT"}),
        mounts=all_mounts if Capability.MOUNTS in runtime.capabilities else [],
        network="host",
        workdir=paths.job_dir,
        labels={
            "nel.invocation": invocation_id,
            "nel.job": f"{invocation_id}.{spec.index}",
            "nel.task": spec.task_name,
        },
        name=f"nel-{invocation_id}-{spec.index}",
    )


def server_container(spec: EndpointSpec, *, shell: str = "sh") -> ContainerSpec:
    """The model server's container (or, without an image, its command on the host)."""
    invocation = spec.labels.get("nel.invocation", "")
    return ContainerSpec(
        image=spec.image or "",
        command=[shell, "-c", spec.command],
        env_names=list(spec.env_names),
        mounts=list(spec.mounts),
        gpus=spec.gpus,
        labels=dict(spec.labels),
        name=f"nel-{invocation}-server" if invocation else None,
        requirements=list(spec.requirements),
    )
