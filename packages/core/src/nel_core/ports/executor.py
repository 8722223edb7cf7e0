"""An executor: a named composition of a Scheduler, a ContainerRuntime and an EndpointProvider.

Core's services drive executors through this interface only; each backend package implements
it and registers an :class:`ExecutorSpec` under the entry-point group ``nel.executors``.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import attrs

from nel_core.layout import JOB_LOG
from nel_core.models.config import DeploymentConfig, ExecutionConfig
from nel_core.models.domain import Invocation, Job, JobSpec, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.scheduler import RenderedJob

if TYPE_CHECKING:
    from nel_core.services.plan import Plan

__all__ = ["Executor", "ExecutorSpec", "JobPaths"]


@attrs.frozen(kw_only=True)
class JobPaths:
    """Where a running job sees its own directory and its results directory."""

    job_dir: str
    results_dir: str


class Executor(abc.ABC):
    """Runs the jobs of invocations somewhere and keeps track of them."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, config: ExecutionConfig, *, home: Path) -> None:
        self.config = config
        self.home = home

    def output_root(self) -> Path:
        """Where this machine keeps the invocations' folders (``execution.output_dir`` by default).

        An executor whose jobs run on another machine keeps its local copies here (what it
        renders and what it copies back) and maps them to the paths over there.
        """
        return Path(self.config.output_dir).expanduser().resolve()

    def locations(self, invocation: Invocation) -> dict[str, str]:
        """Where the invocation lives besides its local folder (``nel info`` shows them)."""
        return {}

    @abc.abstractmethod
    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        """The provider that serves ``deployment`` on this backend.

        Raises:
            ConfigError: when this backend cannot serve that deployment type.
        """

    def auxiliary_provider(self, name: str, deployment: DeploymentConfig) -> EndpointProvider:
        """The provider that serves ``auxiliary_deployments.<name>`` beside the deployment.

        Asked only of executors that declare ``Capability.AUXILIARY_DEPLOYMENTS``; by default
        the deployment type's own provider.
        """
        return self.endpoint_provider(deployment)

    def job_paths(self, spec: JobSpec, job_dir: Path) -> JobPaths:
        """How the job sees its paths (containers see mounts; plain processes see the host)."""
        return JobPaths(job_dir="/job", results_dir="/results")

    @abc.abstractmethod
    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        """The job's entry script (shell). Never contains a secret value: it sources secrets.env."""

    def render_invocation(self, plan: Plan, invocation_dir: Path) -> dict[str, str]:
        """Extra invocation-level files (relative path -> text), e.g. a deployment script."""
        return {}

    @abc.abstractmethod
    def preflight(self, plan: Plan) -> None:
        """Check the backend can take the run, before anything is recorded.

        Raises:
            PreflightError: saying what is not ready.
        """

    @abc.abstractmethod
    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        """Start the jobs (and the deployment that serves them); return job id -> handle."""

    @abc.abstractmethod
    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        """States of many jobs in one call; UNKNOWN with a reason when the backend is unreachable."""

    @abc.abstractmethod
    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        """Stop the jobs, their containers and the deployment they use; leave nothing running."""

    def logs(self, job: Job, *, follow: bool = False) -> Iterator[str]:
        """The job's log as it grows; with ``follow``, until the job ends.

        The default reads ``job.log`` in the job's folder on this host, asking :meth:`states`
        when the job has ended; a backend whose logs live elsewhere overrides it.
        """
        log = Path(job.job_dir) / JOB_LOG
        position = 0
        while True:
            ended = not follow or not self.states([job])[job.id].state.is_active
            if log.exists():
                with open(log, errors="replace") as stream:
                    stream.seek(position)
                    chunk = stream.read()
                    position = stream.tell()
                yield from chunk.splitlines(keepends=True)
            if ended:
                return
            time.sleep(0.5)

    def fetch_job_dir(self, job: Job, destination: Path) -> Path:
        """Copy the folder of ``job`` (results, logs) from where it ran into ``destination`` (ARTIFACT_COPY).

        Export calls it for a job whose folder is not on this host; it returns the local copy.

        Raises:
            SchedulingError: when the folder cannot be copied.
        """
        from nel_core.errors import SchedulingError

        raise SchedulingError(f"executor '{self.name}' cannot copy a job's folder")

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        """Re-run ``jobs`` in place (RESUME); return job id -> new handle."""
        from nel_core.errors import SchedulingError

        raise SchedulingError(f"executor '{self.name}' cannot resume jobs")


@attrs.frozen(kw_only=True)
class ExecutorSpec:
    """The registration of an executor (the object an ``nel.executors`` entry point names).

    ``factory`` is called only when the executor is used, so heavy imports belong in it.
    """

    name: str
    config_type: type[ExecutionConfig]
    factory: Callable[[ExecutionConfig, Path], Executor]
    package: str
    description: str = ""
