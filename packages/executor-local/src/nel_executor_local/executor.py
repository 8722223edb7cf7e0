"""The local executor: jobs on this host, under one detached supervisor per invocation.

It is a composition of ports, assembled here and nowhere else:

- a :class:`HostScheduler` runs the invocation's supervisor (``invocation.sh``) detached;
- a ContainerRuntime runs each job's harness: ``docker``, ``podman``, ``process`` or a plugin's
  (``execution.runtime``; ``auto`` takes docker when the engine answers and has the images);
- an EndpointProvider per deployment type serves the model: core's :class:`ExternalEndpoint`
  for ``none``, else a :class:`LocalServer` of the type's backend-neutral plan.

The supervisor (:mod:`nel_executor_local.supervise`) rebuilds this executor from the recorded
config and runs core's :func:`~nel_core.host.supervisor.supervise`.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from nel_core.converter import unstructure
from nel_core.deployments import ExternalEndpoint
from nel_core.errors import ConfigError, NelError, PreflightError
from nel_core.host.containers import job_container, job_paths, mounts_from
from nel_core.host.job_script import adapter_port_line, render_job_script
from nel_core.host.jobs import is_finished, on_host, reset_job, stop_job
from nel_core.host.processes import stop_group
from nel_core.host.scheduler import HostScheduler
from nel_core.layout import ARTIFACTS_DIR, RUN_SCRIPT
from nel_core.models.config import DeploymentConfig, ExecutionConfig
from nel_core.models.domain import ContainerSpec, Invocation, Job, JobSpec, JobState, StateReport
from nel_core.plugins import deployment_types, load_runtime
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import Executor, JobPaths
from nel_core.ports.scheduler import RenderedJob
from nel_core.services.materialize import job_dir_name
from nel_core.services.plan import Plan
from nel_core.services.redact import redacted_config
from nel_core.services.stages import combine, read_markers
from nel_executor_local.config import LocalExecutionConfig
from nel_executor_local.preflight import check_plan
from nel_executor_local.server import DEPLOYMENT_HANDLE, LocalServer
from nel_executor_local.supervise import SUPERVISOR_CONFIG

__all__ = ["SUPERVISOR", "SUPERVISOR_CONFIG", "LocalExecutor"]

SUPERVISOR = "invocation.sh"
SUPERVISOR_LOG = "supervisor.log"
DEPLOYMENT_SCRIPT = "deployment.sh"
_RUNTIME_FILE = "runtime"


def _say(message: str) -> None:
    print(f"[nel] {message}", file=sys.stderr, flush=True)


class LocalExecutor(Executor):
    """Runs an invocation's jobs under a detached supervisor on this host."""

    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOG_STREAMING, Capability.RESUME, Capability.SERVES_ON_PLANNING_HOST}
    )

    def __init__(self, config: ExecutionConfig, *, home: Path) -> None:
        super().__init__(config, home=home)
        if not isinstance(config, LocalExecutionConfig):
            raise ConfigError(f"execution: the local executor needs its own config, not {type(config).__name__}")
        self.local = config
        self.scheduler = HostScheduler(log_name=SUPERVISOR_LOG)
        self._runtime: ContainerRuntime | None = None
        self._providers: dict[str, EndpointProvider] = {}

    # ------------------------------------------------------------------------- composition

    @property
    def docker_host(self) -> str | None:
        """The engine's socket: ``execution.docker_host``, else ``DOCKER_HOST``."""
        return self.local.docker_host or os.environ.get("DOCKER_HOST")

    def _runtime_named(self, name: str) -> ContainerRuntime:
        options: dict[str, Any] = {"docker_host": self.docker_host, "home": str(self.home)}
        return load_runtime(name, key="execution.runtime").factory(options)

    @property
    def runtime(self) -> ContainerRuntime:
        """The jobs' runtime. Before preflight settles ``auto`` (a dry run contacts nothing),
        ``auto`` guesses docker when the engine's socket file exists."""
        if self._runtime is None:
            name = self.local.runtime
            if name == "auto":
                host = self.docker_host or "unix:///var/run/docker.sock"
                socket = host[len("unix://"):] if host.startswith("unix://") else None
                name = "docker" if socket and Path(socket).exists() else "process"
            self._runtime = self._runtime_named(name)
        return self._runtime

    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if deployment.type not in self._providers:
            self._providers[deployment.type] = self._provider(deployment)
        return self._providers[deployment.type]

    def _provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if not deployment.starts_server:
            return ExternalEndpoint()
        plan = deployment_types()[deployment.type].plan
        if plan is None:
            raise ConfigError(f"deployment.type: '{deployment.type}' gives no server to start on this host")
        containers = "podman" if self.local.runtime == "podman" else "docker"
        return LocalServer(
            plan,
            host=self._runtime_named("process"),
            containers=self._runtime_named(containers),
            readiness_timeout=self.local.endpoint_readiness_timeout,
            mounts=mounts_from(self.local.mounts.deployment),
            extra_args=shlex.split(self.local.extra_docker_args),
        )

    # ---------------------------------------------------------------------------- rendering

    def job_paths(self, spec: JobSpec, job_dir: Path) -> JobPaths:
        return job_paths(self.runtime, job_dir)

    def container_spec(self, plan: Plan, spec: JobSpec, job_dir: Path) -> ContainerSpec:
        """What the jobs' runtime runs for ``spec``: the harness command, as the job sees its paths."""
        container = job_container(plan.invocation_id, spec, job_dir, self.runtime, mounts=self.local.mounts.evaluation)
        return attrs.evolve(
            container,
            requirements=list(spec.pip_requirements),
            extra_args=shlex.split(self.local.extra_docker_args),
        )

    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        container = self.container_spec(plan, spec, job_dir)
        if Capability.DIRECT_RUN in self.runtime.capabilities and not container.extra_args:
            # Through the runtime's API: the container is stopped with the job, logs streamed.
            run = f"{shlex.quote(sys.executable)} -m nel_executor_local.container_job container.json"
        else:
            run = shlex.join(self.runtime.render(container))
        return render_job_script(spec, str(job_dir), [run], [adapter_port_line(sys.executable)])

    def render_invocation(self, plan: Plan, invocation_dir: Path) -> dict[str, str]:
        files: dict[str, str] = {_RUNTIME_FILE: self.runtime.name + "\n"}
        if Capability.DIRECT_RUN in self.runtime.capabilities and not self.local.extra_docker_args:
            for spec in plan.jobs:
                container = self.container_spec(plan, spec, invocation_dir / job_dir_name(spec))
                files[f"{job_dir_name(spec)}/container.json"] = json.dumps(
                    {"runtime": self.runtime.name, "docker_host": self.docker_host, "spec": unstructure(container)},
                    indent=2,
                )
        if plan.endpoint_spec is not None:
            # What the supervisor starts, shown (dry runs, `info`); the server's values stay in deployment.env.
            line = self.endpoint_provider(plan.config.deployment).render(plan.endpoint_spec)
            files[DEPLOYMENT_SCRIPT] = f"#!/usr/bin/env bash\n# The model server of this invocation.\n{line}\n"
        parallel = self.local.max_parallel if self.local.mode == "parallel" else 1
        files[SUPERVISOR_CONFIG] = json.dumps(
            {
                "execution": unstructure(self.local),
                # lit: values stay in deployment.env (0600); this file is not secret.
                "deployment": redacted_config({"deployment": unstructure(plan.config.deployment)})["deployment"],
                "endpoint_spec": None if plan.endpoint_spec is None else unstructure(plan.endpoint_spec),
                "parallel": parallel,
            },
            indent=2,
        )
        files[SUPERVISOR] = (
            "#!/usr/bin/env bash\n"
            "# NEL invocation supervisor: the deployment once, then the jobs given as arguments, then teardown.\n"
            f'exec {shlex.quote(sys.executable)} -m nel_executor_local.supervise "$(dirname "$0")" "$@"\n'
        )
        return files

    # ------------------------------------------------------------------------------ running

    def preflight(self, plan: Plan) -> None:
        check_plan(plan, self.local.output_dir)
        for key, mounts in (("evaluation", self.local.mounts.evaluation), ("deployment", self.local.mounts.deployment)):
            for host in mounts:
                if not Path(host).expanduser().exists():
                    raise PreflightError(f"execution.mounts.{key}: {host} does not exist on this host")
        if self.local.runtime != "auto":
            self.runtime.ping()
            self._check_mounts()
            return
        docker = self._runtime_named("docker")
        try:
            docker.ping()
            for spec in plan.jobs:
                docker.prepare(self.container_spec(plan, spec, Path("/")))
            self._runtime, why = docker, ""
        except NelError as exc:
            self._runtime, why = self._runtime_named("process"), exc.message
        _say(f"runtime: {self._runtime.name}" + (f" ({why})" if why else ""))
        self._check_mounts()

    def _check_mounts(self) -> None:
        if self.local.mounts.evaluation and Capability.MOUNTS not in self.runtime.capabilities:
            raise PreflightError(
                f"execution.mounts.evaluation: the {self.runtime.name} runtime cannot mount host paths",
                hint="set execution.runtime=docker or podman",
            )

    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        invocation_dir = jobs[0].job_dir.parent
        for spec, job in zip(plan.jobs, jobs):
            self.runtime.prepare(self.container_spec(plan, spec, job.job_dir))
        if plan.endpoint_spec is not None:
            self.endpoint_provider(plan.config.deployment).prepare(plan.endpoint_spec)
        handle = self._supervise(invocation_dir, [job.job_dir for job in jobs])
        return {job.job_id: handle for job in jobs}

    def _supervise(self, invocation_dir: Path, job_dirs: Sequence[Path]) -> str:
        return self.scheduler.submit(
            RenderedJob(
                job_id=invocation_dir.name,
                job_dir=invocation_dir,
                script=invocation_dir / SUPERVISOR,
                arguments=[str(job_dir) for job_dir in job_dirs],
            )
        )

    # ----------------------------------------------------------------------------- tracking

    def _handle(self, job: Job) -> str:
        """The job's supervisor: as recorded, else as the supervisor recorded itself (a launch
        interrupted before the handles were stored); empty when it never started."""
        return job.handle or self.scheduler.find(Path(job.job_dir).parent / SUPERVISOR)

    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        handles = {job.id: self._handle(job) for job in jobs}
        units = self.scheduler.states(sorted({h for h in handles.values() if h}))
        why = "it never started: its launch was interrupted"
        never = StateReport(state=JobState.FAILED, reason=why, inferred=True)
        reports = {}
        for job in jobs:
            job_dir = Path(job.job_dir)
            unit = units.get(handles[job.id], never)
            if unit.state.is_active:
                scheduled = StateReport(state=JobState.PENDING)
            elif unit.state is JobState.UNKNOWN or unit is never:
                scheduled = unit
            else:  # the supervisor died: its job may not have (on_host)
                scheduled = StateReport(state=JobState.FAILED, reason="the invocation's supervisor is gone")
            scheduled = on_host(scheduled, job_dir)
            reports[job.id] = combine(scheduled, read_markers(job_dir), job_dir / ARTIFACTS_DIR)
        return reports

    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        for job in jobs:
            stop_job(Path(job.job_dir))
        last = not self._others_unfinished(invocation, jobs)
        self._stop_containers(invocation, jobs, with_deployment=last)
        if not last:
            return
        # Nothing else of the invocation runs: stop the supervisor, and the server it started.
        for handle in sorted({self._handle(job) for job in jobs} - {""}):
            self.scheduler.cancel(handle)
        server = Path(invocation.output_dir) / DEPLOYMENT_HANDLE
        if server.exists():
            stop_group(server.read_text().strip())

    @staticmethod
    def _others_unfinished(invocation: Invocation, jobs: Sequence[Job]) -> bool:
        killed = {Path(job.job_dir) for job in jobs}
        folder = Path(invocation.output_dir)
        for job_dir in folder.iterdir() if folder.is_dir() else ():
            if job_dir.is_dir() and job_dir not in killed and (job_dir / RUN_SCRIPT).exists():
                if not is_finished(job_dir):
                    return True
        return False

    def _stop_containers(self, invocation: Invocation, jobs: Sequence[Job], *, with_deployment: bool) -> None:
        """Stop the containers of ``jobs`` (and, ``with_deployment``, the server's) left on the engine."""
        recorded = Path(invocation.output_dir) / _RUNTIME_FILE
        name = recorded.read_text().strip() if recorded.exists() else self.runtime.name
        runtime = self._runtime_named(name)
        if Capability.DIRECT_RUN not in runtime.capabilities:
            return
        selectors = [{"nel.invocation": invocation.id, "nel.job": job.id} for job in jobs]
        if with_deployment:
            selectors.append({"nel.invocation": invocation.id, "nel.role": "deployment"})
        try:
            for labels in selectors:
                for handle in runtime.find(labels):
                    runtime.stop(handle)
        except NelError as exc:  # the processes are stopped; say what could not be cleaned
            _say(f"warning: containers of {invocation.id} not stopped: {exc.message}")

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        job_dirs = [Path(job.job_dir) for job in jobs]
        # A job whose runner was SIGKILLed may have left its container (and its name) behind.
        self._stop_containers(invocation, jobs, with_deployment=not self._others_unfinished(invocation, jobs))
        for job_dir in job_dirs:
            reset_job(job_dir)
        # The harness's response cache stays in artifacts/: finished requests are replayed.
        handle = self._supervise(Path(invocation.output_dir), job_dirs)
        return {job.id: handle for job in jobs}
