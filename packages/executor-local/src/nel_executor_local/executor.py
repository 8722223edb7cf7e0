"""The local executor: jobs on this host, detached, with one deployment per invocation."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from nel_core.converter import unstructure
from nel_core.errors import NelError
from nel_core.models.config import DeploymentConfig, ExecutionConfig
from nel_core.models.domain import ContainerSpec, Invocation, Job, JobSpec, JobState, Mount, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import Executor, JobPaths
from nel_core.ports.scheduler import RenderedJob
from nel_core.services.materialize import job_dir_name
from nel_core.services.plan import Plan
from nel_core.services.stages import EXIT, KILLED, PRE_START, REASON, RUNNING, combine, read_markers
from nel_executor_local import processes
from nel_executor_local.config import LocalExecutionConfig
from nel_executor_local.deployments import provider_for
from nel_executor_local.preflight import check_plan, choose_runtime
from nel_executor_local.runtimes.process import VenvManager, local_harness_path
from nel_executor_local.scripts import render_job_script, render_supervisor

__all__ = ["LocalExecutor"]

_SUPERVISOR = "invocation.sh"


def _say(message: str) -> None:
    print(f"[nel] {message}", file=sys.stderr, flush=True)


class LocalExecutor(Executor):
    """Runs an invocation's jobs under a detached supervisor on this host."""

    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOG_STREAMING, Capability.RESUME}
    )

    def __init__(self, config: ExecutionConfig, *, home: Path) -> None:
        super().__init__(config, home=home)
        assert isinstance(config, LocalExecutionConfig)
        self.local: LocalExecutionConfig = config
        self.venvs = VenvManager(home)
        self._runtime: str | None = None if config.runtime == "auto" else config.runtime
        self._provider: EndpointProvider | None = None
        self._harness_path: str | None = None

    # ------------------------------------------------------------------------------ planning

    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if self._provider is None:
            self._provider = provider_for(
                deployment, home=self.home, readiness_timeout=self.local.endpoint_readiness_timeout
            )
        return self._provider

    @property
    def docker_host(self) -> str | None:
        """The engine's socket: ``execution.docker_host``, else ``DOCKER_HOST``."""
        return self.local.docker_host or os.environ.get("DOCKER_HOST")

    @property
    def runtime(self) -> str:
        """``docker`` or ``process``.

        Preflight settles ``auto`` by asking the engine; before that (in a dry run, which
        contacts nothing) ``auto`` guesses docker when the engine's socket file exists.
        """
        if self._runtime is None:
            host = self.docker_host or "unix:///var/run/docker.sock"
            socket_path = host[len("unix://"):] if host.startswith("unix://") else None
            self._runtime = "docker" if socket_path and Path(socket_path).exists() else "process"
        return self._runtime

    def job_paths(self, spec: JobSpec, job_dir: Path) -> JobPaths:
        if self.runtime == "docker":
            return JobPaths(job_dir="/job", results_dir="/results")
        return JobPaths(job_dir=str(job_dir), results_dir=str(job_dir / "artifacts"))

    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        runtime = self.runtime
        port_line = (
            f'export ADAPTER_PORT="$({shlex.quote(sys.executable)} -c '
            "'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); "
            "print(s.getsockname()[1])')\""
        )
        if runtime == "docker":
            run = [
                f"{shlex.quote(sys.executable)} -m nel_executor_local.container_job "
                f"{shlex.quote(str(job_dir / 'container.json'))}"
            ]
            return render_job_script(spec, job_dir, run, [port_line])
        venv = self.venvs.path_for(self._requirements(spec))
        env_lines = [f'export PATH={shlex.quote(str(venv / "bin"))}:"$PATH"', port_line]
        extra = self._python_path(spec)
        if extra:
            env_lines.append(f'export PYTHONPATH={shlex.quote(extra)}${{PYTHONPATH:+:$PYTHONPATH}}')
        command = spec.command.format(run_config=shlex.quote(str(job_dir / "run_config.yml")))
        return render_job_script(spec, job_dir, [command], env_lines)

    def render_invocation(self, plan: Plan, invocation_dir: Path) -> dict[str, str]:
        files: dict[str, str] = {}
        runtime = self.runtime
        if runtime == "docker":
            for spec in plan.jobs:
                container = self._container_spec(plan, spec, invocation_dir / job_dir_name(spec))
                files[f"{job_dir_name(spec)}/container.json"] = json.dumps(
                    {"docker_host": self.docker_host, "spec": unstructure(container)}, indent=2
                )
        start = stop = health = None
        spec = plan.endpoint_spec
        if spec is not None:
            from nel_executor_local.deployments.servers import ContainerServer

            if spec.type == "llama_cpp" or spec.image is None:
                start, stop = spec.command, None
            else:
                start, stop = ContainerServer.start_command(spec, plan.invocation_id)
            health = f"http://127.0.0.1:{spec.port}{spec.health_path}"
        parallel = self.local.max_parallel if self.local.mode == "parallel" else 1
        files[_SUPERVISOR] = render_supervisor(
            docker_host=self.docker_host,
            python=sys.executable,
            deployment_start=start,
            health_url=health,
            readiness_timeout=spec.readiness_timeout if spec else 0,
            deployment_stop=stop,
            parallel=parallel,
        )
        files["runtime"] = runtime + "\n"
        return files

    def _container_spec(self, plan: Plan, spec: JobSpec, job_dir: Path) -> ContainerSpec:
        command = spec.command.format(run_config="/job/run_config.yml")
        return ContainerSpec(
            image=spec.image,
            command=["sh", "-c", command],
            env_names=sorted({*spec.env, "NEMO_EVALUATOR_TELEMETRY_LEVEL", "ADAPTER_PORT"}),
            mounts=[
                Mount(source=str(job_dir), target="/job"),
                Mount(source=str(job_dir / "artifacts"), target="/results"),
                *spec.mounts,
            ],
            network="host",
            labels={
                "nel.invocation": plan.invocation_id,
                "nel.job": f"{plan.invocation_id}.{spec.index}",
                "nel.task": spec.task_name,
            },
            name=f"nel-{plan.invocation_id}-{spec.index}",
        )

    @staticmethod
    def _requirements(spec: JobSpec) -> list[str]:
        return [r for r in spec.pip_requirements if r != "nel-harness"]

    def _python_path(self, spec: JobSpec) -> str:
        if "nel-harness" not in spec.pip_requirements:
            return ""
        if self._harness_path is None:
            self._harness_path = str(local_harness_path(self.home, "nel-harness") or "")
        return self._harness_path

    # ------------------------------------------------------------------------------ running

    def preflight(self, plan: Plan) -> None:
        check_plan(plan, self.local.output_dir)
        self._runtime, why = choose_runtime(self.local.runtime, self.docker_host, plan.jobs)
        if self.local.runtime == "auto":
            _say(f"runtime: {self._runtime}" + (f" ({why})" if why else ""))

    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        if self._runtime == "process":
            for spec in plan.jobs:
                self.venvs.ensure(self._requirements(spec), label=f"harness {spec.harness}")
                if "nel-harness" in spec.pip_requirements:
                    local_harness_path(self.home, "nel-harness", install=True)
        provider = self._provider
        if plan.endpoint_spec is not None and hasattr(provider, "prepare"):
            provider.prepare(plan.endpoint_spec)
        invocation_dir = jobs[0].job_dir.parent
        handle = self._start(invocation_dir, [job.job_dir for job in jobs])
        return {job.job_id: handle for job in jobs}

    def _start(self, invocation_dir: Path, job_dirs: Sequence[Path]) -> str:
        argv = ["bash", str(invocation_dir / _SUPERVISOR), *map(str, job_dirs)]
        return processes.spawn_detached(argv, cwd=invocation_dir, log=invocation_dir / "supervisor.log")

    # ------------------------------------------------------------------------------ tracking

    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        reports = {}
        for job in jobs:
            running = processes.alive(job.handle)
            scheduled = StateReport(
                state=JobState.PENDING if running else JobState.FAILED,
                reason="" if running else "the invocation's supervisor is gone",
            )
            job_dir = Path(job.job_dir)
            reports[job.id] = combine(scheduled, read_markers(job_dir), job_dir / "artifacts")
        return reports

    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        for job in jobs:
            (Path(job.job_dir) / KILLED).write_text(f"{time.time():.0f}\n")
        for job in jobs:
            job_pid = Path(job.job_dir) / "job.pid"
            if job_pid.exists():
                processes.stop_group(job_pid.read_text().strip())
        last = not self._others_unfinished(invocation, jobs)
        self._stop_containers(invocation, jobs, with_deployment=last)
        if last:
            # Nothing else of the invocation runs: stop the supervisor and the deployment too.
            for handle in sorted({job.handle for job in jobs if job.handle}):
                processes.stop_group(handle)

    @staticmethod
    def _others_unfinished(invocation: Invocation, jobs: Sequence[Job]) -> bool:
        killed = {Path(job.job_dir) for job in jobs}
        for job_dir in Path(invocation.output_dir).iterdir():
            if job_dir.is_dir() and job_dir not in killed and (job_dir / "run.sh").exists():
                if not (job_dir / EXIT).exists() and not (job_dir / KILLED).exists():
                    return True
        return False

    def _stop_containers(self, invocation: Invocation, jobs: Sequence[Job], *, with_deployment: bool) -> None:
        """Stop the containers of ``jobs`` (and, ``with_deployment``, the server's) left on the engine."""
        marker = Path(invocation.output_dir) / "runtime"
        if not marker.exists() or marker.read_text().strip() != "docker":
            return
        from nel_executor_local.runtimes.docker import DockerRuntime

        runtime = DockerRuntime(base_url=self._recorded_docker_host(invocation))
        wanted = {job.id for job in jobs}
        try:
            selectors = [{"nel.invocation": invocation.id, "nel.job": job_id} for job_id in sorted(wanted)]
            if with_deployment:
                selectors.append({"nel.invocation": invocation.id, "nel.role": "deployment"})
            for labels in selectors:
                for handle in runtime.find(labels):
                    runtime.stop(handle)
        except NelError as exc:  # the processes are stopped; say what could not be cleaned
            _say(f"warning: containers of {invocation.id} ({', '.join(sorted(wanted))}) not stopped: {exc}")

    def _recorded_docker_host(self, invocation: Invocation) -> str | None:
        for job_dir in Path(invocation.output_dir).glob("*/container.json"):
            return json.loads(job_dir.read_text()).get("docker_host")
        return self.docker_host

    def logs(self, job: Job, *, follow: bool = False) -> Iterator[str]:
        log = Path(job.job_dir) / "job.log"
        position = 0
        while True:
            if log.exists():
                with open(log, errors="replace") as handle:
                    handle.seek(position)
                    chunk = handle.read()
                    position = handle.tell()
                if chunk:
                    yield chunk
            if not follow:
                return
            state = self.states([job])[job.id].state
            if state.is_terminal or state is JobState.UNKNOWN:
                if log.exists() and log.stat().st_size > position:
                    continue
                return
            time.sleep(0.5)

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        job_dirs = [Path(job.job_dir) for job in jobs]
        # A job whose runner was SIGKILLed may have left its container (and its name) behind.
        self._stop_containers(invocation, jobs, with_deployment=not self._others_unfinished(invocation, jobs))
        for job_dir in job_dirs:
            for marker in (PRE_START, RUNNING, EXIT, KILLED, REASON, "job.pid"):
                (job_dir / marker).unlink(missing_ok=True)
        # The harness's response cache stays in artifacts/: finished requests are replayed.
        handle = self._start(Path(invocation.output_dir), job_dirs)
        return {job.id: handle for job in jobs}
