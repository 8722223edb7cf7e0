"""The domain: invocations, jobs and their states, and the specs handed to the ports."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from nel_core.models.results import RequestStats

__all__ = [
    "ContainerSpec",
    "Endpoint",
    "EndpointSpec",
    "Invocation",
    "Job",
    "JobSpec",
    "JobState",
    "Mount",
    "StateReport",
]


class JobState(str, enum.Enum):
    """The life of a job. ``UNKNOWN`` means the backend could not be asked, never "failed"."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    KILLED = "killed"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (it will not change by itself any more)."""
        return self in (JobState.SUCCESS, JobState.FAILED, JobState.KILLED)

    @property
    def is_active(self) -> bool:
        """Whether the job may still be running (or about to)."""
        return self in (JobState.PENDING, JobState.RUNNING)


@attrs.frozen(kw_only=True)
class StateReport:
    """A backend's answer about one job: its state and, when useful, why.

    ``inferred`` marks an ended state that was concluded, not reported (the job's process is
    gone and it left no exit marker): such a state is asked again when new evidence may appear.

    ``requests`` holds the harness's request statistics once the job has ended, when the
    harness wrote them (see :mod:`nel_core.services.requests`).

    ``handle``, when set, is the job's new scheduler handle (a job the scheduler resubmitted by
    itself, say): status records it in place of the old one.
    """

    state: JobState
    reason: str = ""
    exit_code: int | None = None
    inferred: bool = False
    requests: RequestStats | None = None
    handle: str | None = None


@attrs.frozen(kw_only=True)
class Mount:
    """A bind mount of a host path into a container."""

    source: str
    target: str
    read_only: bool = False


@attrs.frozen(kw_only=True)
class ContainerSpec:
    """What a container runtime runs: an image and a command, with env names (never values).

    ``requirements`` are what a runtime without containers installs instead of the image (pip
    requirements, e.g. ``nemo-evaluator==0.1.95`` and the harness package). ``extra_args`` are
    the user's own arguments for a runtime's command line (``execution.extra_docker_args``).
    """

    image: str
    command: list[str]
    env_names: list[str] = attrs.Factory(list)
    mounts: list[Mount] = attrs.Factory(list)
    gpus: int | str | None = None
    network: str = "host"
    workdir: str | None = None
    labels: dict[str, str] = attrs.Factory(dict)
    name: str | None = None
    requirements: list[str] = attrs.Factory(list)
    extra_args: list[str] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class EndpointSpec:
    """A model server to start for a run, as planned from a deployment config (backend-neutral).

    Args:
        image: The server's container image; None runs ``command`` on the host itself.
        command: The server's shell command line (inside the image, or on the host).
        health_path: The path that answers 2xx once the server is ready.
        env_names: Environment variables the server reads (values from ``deployment.env``).
        requirements: What a runtime without containers installs to run ``command``
            (pip requirements; ``python`` on PATH is that environment's).
        gpus: GPUs the server needs (``all``, a count, or None).
        mounts: Host paths the server's container sees (a checkpoint, ...).
        labels: Labels of the server's container (the invocation it serves).
    """

    type: str
    image: str | None
    command: str
    port: int
    served_model_name: str
    health_path: str
    endpoints: dict[str, str]
    readiness_timeout: float = 600.0
    env_names: list[str] = attrs.Factory(list)
    requirements: list[str] = attrs.Factory(list)
    gpus: int | str | None = None
    mounts: list[Mount] = attrs.Factory(list)
    labels: dict[str, str] = attrs.Factory(dict)
    options: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class Endpoint:
    """A model endpoint that answers: where the harness sends its requests."""

    base_url: str
    model_id: str
    endpoints: dict[str, str] = attrs.Factory(dict)

    def url_for(self, endpoint_type: str) -> str:
        """The full URL of one endpoint type (``chat``, ``completions``, ...)."""
        path = self.endpoints.get(endpoint_type, "")
        return self.base_url.rstrip("/") + path


@attrs.frozen(kw_only=True)
class JobSpec:
    """One planned job: a task's harness run, ready to be materialized by an executor.

    Args:
        index: Position of the job in its invocation (0-based).
        task_name: The task's catalog name (``harness.task``).
        image: The harness container image.
        command: The harness command line (shell), run inside the container or venv.
        run_config: The harness run config (``config`` and ``target``) as a plain mapping.
        env: Environment variables of the job: name -> reference (``host:X``, ``lit:v``, ``runtime:X``).
        pip_requirements: What a plain-process runtime installs to run the harness.
    """

    index: int
    task_name: str
    harness: str
    image: str
    command: str
    run_config: dict[str, Any]
    endpoint_type: str
    env: dict[str, str] = attrs.Factory(dict)
    pip_requirements: list[str] = attrs.Factory(list)
    pre_cmd: str = ""
    post_cmd: str = ""
    mounts: list[Mount] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class Invocation:
    """One ``nel run``: its id, executor and the config it ran with (references, never secrets).

    ``status`` is how far its launch got: ``submitting`` (recorded before anything was started),
    ``submitted``, or ``failed_to_submit``.
    """

    id: str
    executor: str
    output_dir: str
    created_at: float
    config: dict[str, Any] = attrs.Factory(dict)
    data: dict[str, Any] = attrs.Factory(dict)
    status: str = "submitted"


@attrs.frozen(kw_only=True)
class Job:
    """One job of an invocation, as recorded in the store.

    ``handle`` is the scheduler's own id (a process group, a Slurm job id, ...); ``data`` holds what
    the executor needs to find the job again (container labels, remote paths, ...) and, once the
    job has ended, its request statistics (``requests``, ``failed_requests``, ``failure_rate``,
    ``request_error``: see :data:`nel_core.services.status.REQUEST_KEYS`).
    """

    id: str
    invocation_id: str
    index: int
    task_name: str
    executor: str
    job_dir: str
    state: JobState = JobState.PENDING
    reason: str = ""
    handle: str = ""
    exit_code: int | None = None
    updated_at: float = 0.0
    data: dict[str, Any] = attrs.Factory(dict)
