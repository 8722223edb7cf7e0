"""A fake executor: the fake scheduler, runtime and endpoint provider composed.

Its jobs never run their scripts. A submitted job plays out in memory and in its own directory
as a real one would: it writes its stage markers, its log and (when it succeeds) a
``results.yml`` with one score, and ends with exit code 0 or 1. ``auto_finish: false`` leaves jobs
running until a test ends them with :meth:`FakeExecutor.finish`.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from nel_core.errors import PreflightError, SchedulingError
from nel_core.layout import ARTIFACTS_DIR, JOB_LOG, RUN_CONFIG_FILE, RUN_CONFIG_PLACEHOLDER, RUN_SCRIPT
from nel_core.models.config import DeploymentConfig, ExecutionConfig
from nel_core.models.domain import ContainerSpec, Invocation, Job, JobSpec, Mount, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_core.ports.scheduler import RenderedJob
from nel_core.services import stages
from nel_core.services.materialize import SECRETS_FILE
from nel_core.services.plan import Plan
from nel_core.services.requests import clear_request_stats
from nel_core.testing._builders import write_results
from nel_core.testing._endpoint import FakeEndpointProvider
from nel_core.testing._runtime import FakeContainerRuntime
from nel_core.testing._scheduler import FakeScheduler

__all__ = [
    "FAKE_EXECUTOR_SPEC",
    "FakeBackend",
    "FakeExecutionConfig",
    "FakeExecutor",
    "fake_backend",
    "reset_fake_backends",
]

_MARKERS = (stages.PRE_START, stages.RUNNING, stages.EXIT, stages.KILLED, stages.REASON)


@attrs.frozen(kw_only=True)
class FakeExecutionConfig(ExecutionConfig):
    """``execution`` of the fake executor.

    Args:
        fail_preflight: Preflight fails (nothing may be recorded or left behind).
        fail_submit: Submission fails after the job directories were written.
        jobs_succeed: Jobs that end by themselves write a score and exit 0; else exit 1.
        auto_finish: Jobs end as soon as they are submitted; else they run until finished.
    """

    type: str = "fake"
    fail_preflight: bool = False
    fail_submit: bool = False
    jobs_succeed: bool = True
    auto_finish: bool = True


@attrs.define(kw_only=True)
class FakeBackend:
    """What a fake "cluster" holds: its scheduler, container runtime and endpoint provider."""

    scheduler: FakeScheduler = attrs.Factory(FakeScheduler)
    runtime: FakeContainerRuntime = attrs.Factory(FakeContainerRuntime)
    provider: FakeEndpointProvider = attrs.Factory(FakeEndpointProvider)
    #: invocation id -> handle of the deployment started for it
    deployments: dict[str, str] = attrs.Factory(dict)


_BACKENDS: dict[Path, FakeBackend] = {}
_BACKENDS_LOCK = threading.Lock()


def fake_backend(home: Path) -> FakeBackend:
    """The backend every FakeExecutor built for ``home`` shares in this process.

    A real backend outlives the CLI commands that talk to it; so does this one, within a
    process (``nel run`` then ``nel kill`` in one test see the same jobs).
    """
    with _BACKENDS_LOCK:
        return _BACKENDS.setdefault(Path(home), FakeBackend())


def reset_fake_backends() -> None:
    """Forget every shared backend."""
    with _BACKENDS_LOCK:
        _BACKENDS.clear()


class FakeExecutor(Executor):
    """An executor whose jobs play out in memory and in their own directories.

    Args:
        config: Its execution config (a :class:`FakeExecutionConfig` for the extra keys).
        home: NEL's home (names the shared backend when ``backend`` is not given).
        backend: The scheduler, runtime and provider to use.
    """

    name: ClassVar[str] = "fake"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.RESUME, Capability.LOG_STREAMING}
    )

    def __init__(
        self, config: ExecutionConfig, *, home: Path, backend: FakeBackend | None = None
    ) -> None:
        super().__init__(config, home=home)
        self.backend = backend if backend is not None else fake_backend(home)

    @property
    def settings(self) -> FakeExecutionConfig:
        """The fake's own keys (defaults when the config is a plain ExecutionConfig)."""
        if isinstance(self.config, FakeExecutionConfig):
            return self.config
        return FakeExecutionConfig(type=self.config.type, output_dir=self.config.output_dir)

    @property
    def scheduler(self) -> FakeScheduler:
        """The fake scheduler jobs are submitted to."""
        return self.backend.scheduler

    @property
    def runtime(self) -> FakeContainerRuntime:
        """The fake runtime that renders the jobs' container command lines."""
        return self.backend.runtime

    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        return self.backend.provider

    def container_spec(self, spec: JobSpec, job_dir: Path) -> ContainerSpec:
        """The container that runs the harness of ``spec``."""
        paths = self.job_paths(spec, job_dir)
        command = spec.command.replace(RUN_CONFIG_PLACEHOLDER, f"{paths.job_dir}/{RUN_CONFIG_FILE}")
        if spec.post_cmd:
            command = f"{command}; rc=$?; {spec.post_cmd}; exit $rc"
        if spec.pre_cmd:
            command = f"{spec.pre_cmd} && {command}"
        return ContainerSpec(
            image=spec.image,
            command=["bash", "-c", command],
            env_names=sorted(spec.env),
            mounts=[
                Mount(source=str(job_dir), target=paths.job_dir),
                Mount(source=str(job_dir / ARTIFACTS_DIR), target=paths.results_dir),
                *spec.mounts,
            ],
            workdir=paths.job_dir,
            labels={"nel.job": f"{spec.index}-{spec.task_name}", "nel.executor": self.name},
        )

    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        snippets = stages.marker_snippets(str(job_dir))
        container = self.container_spec(spec, job_dir)
        container = attrs.evolve(
            container, labels={**container.labels, "nel.invocation": plan.invocation_id}
        )
        quoted_dir = shlex.quote(str(job_dir))
        return "\n".join(
            [
                "#!/usr/bin/env bash",
                f"# NEL fake executor: job {plan.invocation_id}.{spec.index} ({spec.task_name})",
                f"cd {quoted_dir} || exit 1",
                f". ./{SECRETS_FILE}",
                snippets["pre_start"],
                snippets["running"],
                f"{self.runtime.render_line(container)} >> job.log 2>&1",
                "rc=$?",
                snippets["exit"],
                'exit "$rc"',
                "",
            ]
        )

    def preflight(self, plan: Plan) -> None:
        if self.settings.fail_preflight:
            raise PreflightError("fake backend is not ready (execution.fail_preflight is true)")
        self.runtime.ping()

    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        if self.settings.fail_submit:
            raise SchedulingError("fake scheduler refused the jobs (execution.fail_submit is true)")
        if plan.endpoint_spec is not None:
            spec = plan.endpoint_spec
            workdir = Path(plan.config.execution.output_dir) / plan.invocation_id
            handle = self.backend.provider.start(spec, workdir)
            self.backend.provider.wait_ready(handle, spec, spec.readiness_timeout)
            self.backend.deployments[plan.invocation_id] = handle
        return {job.job_id: self._submit(job) for job in jobs}

    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        reports = self.scheduler.states([job.handle for job in jobs])
        return {
            job.id: stages.combine(
                reports[job.handle],
                stages.read_markers(Path(job.job_dir)),
                Path(job.job_dir) / ARTIFACTS_DIR,
            )
            for job in jobs
        }

    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self.scheduler.cancel(job.handle)
            job_dir = Path(job.job_dir)
            if job_dir.is_dir():
                (job_dir / stages.KILLED).write_text("killed\n")
        deployment = self.backend.deployments.pop(invocation.id, None)
        if deployment is not None:
            self.backend.provider.stop(deployment)

    def logs(self, job: Job, *, follow: bool = False) -> Iterator[str]:
        if job.handle in self.scheduler.jobs:
            return self.scheduler.logs(job.handle, follow=follow)
        return super().logs(job, follow=follow)

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        handles = {}
        for job in jobs:
            job_dir = Path(job.job_dir)
            for marker in _MARKERS:  # the new run must not be judged by the old one's markers
                (job_dir / marker).unlink(missing_ok=True)
            clear_request_stats(job_dir / ARTIFACTS_DIR)  # nor by its failed requests
            rendered = RenderedJob(job_id=job.id, job_dir=job_dir, script=job_dir / RUN_SCRIPT)
            handles[job.id] = self._submit(rendered)
        return handles

    # ----------------------------------------------------------------- controls for tests

    def finish(self, job: Job, *, succeed: bool = True, exit_code: int | None = None) -> None:
        """End a running job as its harness would: a score (or none) and an exit code.

        Args:
            exit_code: The harness's exit code (default: 0 when it succeeds, else 1).
        """
        self._end(job.handle, Path(job.job_dir), succeed=succeed, exit_code=exit_code)

    def _submit(self, job: RenderedJob) -> str:
        """Submit ``job`` and play it: it starts, and ends at once unless ``auto_finish`` is off."""
        handle = self.scheduler.submit(job)
        for marker in (stages.PRE_START, stages.RUNNING):
            (job.job_dir / marker).write_text("0\n")
        self._log(handle, job.job_dir, f"fake job {job.job_id} started")
        if self.settings.auto_finish:
            self._end(handle, job.job_dir, succeed=self.settings.jobs_succeed)
        return handle

    def _end(self, handle: str, job_dir: Path, *, succeed: bool, exit_code: int | None = None) -> None:
        if exit_code is None:
            exit_code = 0 if succeed else 1
        if succeed:
            task = job_dir.name.partition("-")[2] or "task"
            write_results(job_dir / ARTIFACTS_DIR, task, {"accuracy": 1.0})
        self._log(handle, job_dir, f"fake job ended with exit code {exit_code}")
        (job_dir / stages.EXIT).write_text(f"{exit_code}\n")
        self.scheduler.finish(handle, exit_code)

    def _log(self, handle: str, job_dir: Path, line: str) -> None:
        with (job_dir / JOB_LOG).open("a") as log:
            log.write(line + "\n")
        self.scheduler.emit(handle, line)


def _make_fake_executor(config: ExecutionConfig, home: Path) -> Executor:
    return FakeExecutor(config, home=home)


#: The registration of the fake executor (what an ``nel.executors`` entry point names).
FAKE_EXECUTOR_SPEC = ExecutorSpec(
    name="fake",
    config_type=FakeExecutionConfig,
    factory=_make_fake_executor,
    package="nel-core",
    description="In-memory executor for tests (nel_core.testing): jobs play out at once",
)
