"""A third party's executor: every job its own detached process on this host, no deployment.

Written from NEL's public API and ``docs/custom-executor.md`` alone: core's ports, its host
toolkit (scheduler, job script, job markers) and its external endpoint. The harness command
runs on this host as it is (its program on PATH); ``max_parallel`` jobs at most run at once,
the others wait for a slot in their own script.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from nel_core.deployments import ExternalEndpoint
from nel_core.errors import ConfigError, PreflightError
from nel_core.host import HostScheduler, adapter_port_line, mark_killed, on_host, render_job_script, reset_job
from nel_core.layout import ARTIFACTS_DIR, JOB_LOG, RUN_CONFIG_FILE, RUN_CONFIG_PLACEHOLDER, RUN_SCRIPT
from nel_core.models.config import DeploymentConfig, ExecutionConfig
from nel_core.models.domain import Invocation, Job, JobSpec, JobState, StateReport
from nel_core.ports import Capability, EndpointProvider, Executor, ExecutorSpec, JobPaths, RenderedJob
from nel_core.services.plan import Plan
from nel_core.services.stages import combine, read_markers

__all__ = ["SPEC", "ProcsConfig", "ProcsExecutor"]


@attrs.frozen(kw_only=True)
class ProcsConfig(ExecutionConfig):
    """``execution`` of the procs executor: at most ``max_parallel`` jobs at once."""

    type: str = "procs"
    max_parallel: int = 4


class ProcsExecutor(Executor):
    """Each job runs as a detached process of this host; states come from its markers."""

    name: ClassVar[str] = "procs"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOG_STREAMING, Capability.RESUME})

    def __init__(self, config: ExecutionConfig, *, home: Path) -> None:
        super().__init__(config, home=home)
        self.scheduler = HostScheduler(log_name=JOB_LOG)
        self.max_parallel = config.max_parallel if isinstance(config, ProcsConfig) else 4

    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if deployment.starts_server:
            raise ConfigError("deployment.type: the procs executor serves external endpoints only",
                              hint="use deployment: none and target.api_endpoint.url")  # fmt: skip
        return ExternalEndpoint()

    def job_paths(self, spec: JobSpec, job_dir: Path) -> JobPaths:
        return JobPaths(job_dir=str(job_dir), results_dir=str(job_dir / ARTIFACTS_DIR))

    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        run_config = shlex.quote(str(job_dir / RUN_CONFIG_FILE))
        command = spec.command.replace(RUN_CONFIG_PLACEHOLDER, run_config)
        # A slot: one of max_parallel lock files of the invocation, held while the job runs.
        slots = shlex.quote(str(job_dir.parent / "slot"))
        wait_slot = (f"while :; do for i in $(seq {self.max_parallel}); do exec 9>{slots}.$i; "
                     "flock -n 9 && break 2; done; sleep 0.2; done")  # fmt: skip
        run = f"bash -c {shlex.quote(command)}"  # the command is a shell line of its own
        return render_job_script(spec, str(job_dir), [wait_slot, run], [adapter_port_line(sys.executable)])

    def preflight(self, plan: Plan) -> None:
        for spec in plan.jobs:
            program = shlex.split(spec.command)[0]
            if "=" not in program and shutil.which(program) is None:
                raise PreflightError(f"evaluation.tasks[{spec.index}]: '{program}' is not on PATH here")

    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        return {job.job_id: self.scheduler.submit(job) for job in jobs}

    def _handle(self, job: Job) -> str:
        # The job's own record of its handle when the launching CLI died before keeping it.
        return job.handle or self.scheduler.find(Path(job.job_dir) / RUN_SCRIPT)

    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        handles = {job.id: self._handle(job) for job in jobs}
        scheduled = self.scheduler.states([handle for handle in handles.values() if handle])
        why = "it never started: its launch was interrupted"
        never = StateReport(state=JobState.FAILED, reason=why, inferred=True)
        reports = {}
        for job in jobs:
            job_dir = Path(job.job_dir)
            found = on_host(scheduled.get(handles[job.id], never), job_dir)
            reports[job.id] = combine(found, read_markers(job_dir), job_dir / ARTIFACTS_DIR)
        return reports

    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        for job in jobs:
            mark_killed(Path(job.job_dir))
            self.scheduler.cancel(self._handle(job))

    def logs(self, job: Job, *, follow: bool = False) -> Iterator[str]:
        return self.scheduler.logs(self._handle(job), follow=follow)

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        handles = {}
        for job in jobs:
            job_dir = Path(job.job_dir)
            reset_job(job_dir)
            rendered = RenderedJob(job_id=job.id, job_dir=job_dir, script=job_dir / RUN_SCRIPT)
            handles[job.id] = self.scheduler.submit(rendered)
        return handles


def _factory(config: ExecutionConfig, home: Path) -> Executor:
    return ProcsExecutor(config, home=home)


SPEC = ExecutorSpec(name="procs", config_type=ProcsConfig, factory=_factory, package="nel-plugin-example",
                    description="each job a detached process on this host (an example plugin)")  # fmt: skip
