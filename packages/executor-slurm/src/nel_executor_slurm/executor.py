"""The Slurm executor: an invocation's tasks in sbatch jobs, each starting the model server once.

A composition of ports and core's toolkit, assembled here and nowhere else:

- a ContainerRuntime of the cluster (``execution.container_runtime``) renders each job's harness
  line and the server's line (:mod:`nel_executor_slurm.runtimes`);
- an EndpointProvider per deployment type: core's :class:`ExternalEndpoint` for ``none``, else a
  :class:`SlurmServer` of the type's backend-neutral plan;
- core's :func:`render_job_script` gives each job's ``run.sh`` (stage markers, secrets sourced);
- :func:`render_sbatch` groups ``tasks_per_job`` jobs per sbatch script;
- :class:`SlurmCommands` submits, asks and cancels through a Transport (created only when the
  cluster is contacted: a dry run contacts nothing).

Every later command rebuilds this executor from the recorded config: the Slurm job id of a job's
group is ``Job.handle``, the groups are in the invocation's ``slurm.json``.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from nel_core.deployments import ExternalEndpoint
from nel_core.errors import ConfigError, NelError, SchedulingError
from nel_core.host.containers import job_container, job_paths, mounts_from
from nel_core.host.job_script import adapter_port_line, render_job_script
from nel_core.host.jobs import is_finished, mark_killed, reset_job
from nel_core.layout import ARTIFACTS_DIR, JOB_LOG
from nel_core.models.config import DeploymentConfig, ExecutionConfig
from nel_core.models.domain import ContainerSpec, Invocation, Job, JobSpec, JobState, StateReport
from nel_core.plugins import deployment_types
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import Executor, JobPaths
from nel_core.ports.scheduler import RenderedJob
from nel_core.services.materialize import job_dir_name
from nel_core.services.plan import Plan
from nel_core.services.stages import combine, read_markers
from nel_executor_slurm.commands import SlurmCommands, SlurmJob, slurm_job_state
from nel_executor_slurm.config import SlurmExecutionConfig
from nel_executor_slurm.runtimes import PyxisRuntime, slurm_runtime
from nel_executor_slurm.sbatch import SbatchGroup, group_id_file, render_sbatch
from nel_executor_slurm.server import SlurmServer
from nel_executor_slurm.transport import Transport, open_transport

__all__ = ["GROUPS_FILE", "SlurmExecutor"]

#: The invocation's sbatch groups: ``{"groups": [{"script": ..., "jobs": [job dir, ...]}]}``.
GROUPS_FILE = "slurm.json"


class SlurmExecutor(Executor):
    """Runs an invocation's tasks in sbatch jobs on a Slurm cluster.

    Args:
        transport: How the login node is reached (default: from the config, on first contact).
    """

    name: ClassVar[str] = "slurm"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOG_STREAMING, Capability.RESUME, Capability.GPU}
    )

    def __init__(self, config: ExecutionConfig, *, home: Path, transport: Transport | None = None) -> None:
        super().__init__(config, home=home)
        if not isinstance(config, SlurmExecutionConfig):
            raise ConfigError(f"execution: the slurm executor needs its own config, not {type(config).__name__}")
        self.slurm = config
        self.runtime: ContainerRuntime = slurm_runtime(config.container_runtime, mount_home=config.mounts.mount_home)
        self._transport = transport
        self._providers: dict[str, EndpointProvider] = {}

    # ------------------------------------------------------------------------- composition

    @property
    def transport(self) -> Transport:
        """The login node's transport, opened on first use (never by rendering)."""
        if self._transport is None:
            self._transport = open_transport(self.slurm.hostname, local=self.slurm.on_login_node)
        return self._transport

    @property
    def commands(self) -> SlurmCommands:
        return SlurmCommands(self.transport)

    def _path_lines(self) -> list[str]:
        venv = self.slurm.venv
        return [f'export PATH={shlex.quote(venv.rstrip("/") + "/bin")}:"$PATH"'] if venv else []

    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if deployment.type not in self._providers:
            self._providers[deployment.type] = self._provider(deployment)
        return self._providers[deployment.type]

    def _provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if not deployment.starts_server:
            return ExternalEndpoint()
        if self.slurm.num_instances != 1:
            raise ConfigError("execution.num_instances: several server instances behind a proxy are not supported yet",
                              hint="set execution.num_instances=1")  # fmt: skip
        plan = deployment_types()[deployment.type].plan
        if plan is None:
            raise ConfigError(f"deployment.type: '{deployment.type}' gives no server to start on a Slurm node")
        runtime = self.runtime
        if isinstance(runtime, PyxisRuntime):  # the server's step spans the job's nodes
            nodes = (f"--nodes={self.slurm.num_nodes}", f"--ntasks={self.slurm.deployment.n_tasks}")
            runtime = PyxisRuntime(mount_home=self.slurm.mounts.mount_home, srun_args=nodes)
        return SlurmServer(
            plan,
            runtime=runtime,
            readiness_timeout=self.slurm.endpoint_readiness_timeout,
            mounts=mounts_from(self.slurm.mounts.deployment),
            path_lines=self._path_lines(),
        )

    # ---------------------------------------------------------------------------- rendering

    def job_paths(self, spec: JobSpec, job_dir: Path) -> JobPaths:
        return job_paths(self.runtime, job_dir)

    def container_spec(self, plan: Plan, spec: JobSpec, job_dir: Path) -> ContainerSpec:
        """What the cluster's runtime runs for ``spec``: the harness command, as the job sees its paths."""
        return job_container(plan.invocation_id, spec, job_dir, self.runtime, mounts=self.slurm.mounts.evaluation)

    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        run = shlex.join(self.runtime.render(self.container_spec(plan, spec, job_dir)))
        env_lines = [adapter_port_line("python3"), *self._path_lines()]
        return render_job_script(spec, str(job_dir), [run], env_lines)

    def groups(self, plan: Plan, invocation_dir: Path) -> list[SbatchGroup]:
        """The plan's jobs in sbatch groups of ``tasks_per_job`` (all in one by default)."""
        size = self.slurm.tasks_per_job or len(plan.jobs)
        chunks = [plan.jobs[i : i + size] for i in range(0, len(plan.jobs), max(size, 1))]
        return [
            SbatchGroup(
                index=k,
                count=len(chunks),
                script=str(invocation_dir / f"slurm-{k}.sbatch"),
                job_dirs=[str(invocation_dir / job_dir_name(spec)) for spec in chunk],
            )
            for k, chunk in enumerate(chunks)
        ]

    def render_invocation(self, plan: Plan, invocation_dir: Path) -> dict[str, str]:
        server = None
        if plan.endpoint_spec is not None:
            line = self.endpoint_provider(plan.config.deployment).render(plan.endpoint_spec)
            server = (plan.endpoint_spec, line)
        files = {}
        groups = self.groups(plan, invocation_dir)
        for group in groups:
            files[Path(group.script).name] = render_sbatch(
                self.slurm, invocation_id=plan.invocation_id, invocation_dir=str(invocation_dir),
                group=group, server=server,
            )  # fmt: skip
        listed = [{"script": g.script, "jobs": g.job_dirs} for g in groups]
        files[GROUPS_FILE] = json.dumps({"groups": listed}, indent=2) + "\n"
        return files

    # ------------------------------------------------------------------------------ running

    def preflight(self, plan: Plan) -> None:
        self.commands.check(str(Path(self.slurm.output_dir).expanduser()))

    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        groups = self.groups(plan, jobs[0].job_dir.parent)
        ids = self.commands.submit([(group.script, []) for group in groups])
        by_dir = {job_dir: slurm_id for group, slurm_id in zip(groups, ids) for job_dir in group.job_dirs}
        return {job.job_id: by_dir[str(job.job_dir)] for job in jobs}

    # ----------------------------------------------------------------------------- tracking

    def _groups_of(self, invocation_dir: Path) -> list[SbatchGroup]:
        text = self.transport.read_file(str(invocation_dir / GROUPS_FILE))
        listed = json.loads(text)["groups"] if text else []
        return [
            SbatchGroup(index=k, count=len(listed), script=g["script"], job_dirs=list(g["jobs"]))
            for k, g in enumerate(listed)
        ]

    def _handle(self, job: Job) -> str:
        """The Slurm job id: as recorded, else as the group's running script recorded it."""
        if job.handle:
            return job.handle
        for group in self._groups_of(Path(job.job_dir).parent):
            if job.job_dir in group.job_dirs:
                return (self.transport.read_file(group_id_file(group.script)) or "").strip()
        return ""

    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        try:
            handles = {job.id: self._handle(job) for job in jobs}
            found = self.commands.query(sorted({h for h in handles.values() if h}))
        except NelError as exc:
            unknown = StateReport(state=JobState.UNKNOWN, reason=f"the cluster cannot be asked: {exc.message}")
            return {job.id: unknown for job in jobs}
        reports = {}
        for job in jobs:
            job_dir = Path(job.job_dir)
            scheduled = self._scheduled(handles[job.id], found.get(handles[job.id]))
            reports[job.id] = combine(scheduled, read_markers(job_dir), job_dir / ARTIFACTS_DIR)
        return reports

    @staticmethod
    def _scheduled(handle: str, found: SlurmJob | None) -> StateReport:
        """What the group's Slurm job says of one of its tasks (its markers then speak for it)."""
        if not handle:
            return StateReport(state=JobState.FAILED, reason="it was never submitted", inferred=True)
        if found is None:
            why = f"Slurm job {handle} is known neither to squeue nor to sacct"
            return StateReport(state=JobState.FAILED, reason=why, inferred=True)
        state = slurm_job_state(found.state)
        if state.is_active:
            return StateReport(state=JobState.PENDING)  # RUNNING once the task's own marker says so
        if state is JobState.KILLED:
            return StateReport(state=JobState.KILLED, reason=f"Slurm job {handle} was cancelled")
        why = f"Slurm job {handle} ended ({found.state}) before this task finished"
        return StateReport(state=JobState.FAILED, reason=why, exit_code=found.exit_code)

    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        for job in jobs:
            mark_killed(Path(job.job_dir))  # the group's script stops a running task that has it
        handles = {job.job_dir: self._handle(job) for job in jobs}
        done = []
        for group in self._groups_of(Path(invocation.output_dir)):
            ids = {handles[d] for d in group.job_dirs if handles.get(d)}
            # Cancel the Slurm job only when none of its other tasks still has to run.
            if ids and all(d in handles or is_finished(Path(d)) for d in group.job_dirs):
                done += sorted(ids)
        self.commands.cancel(done)

    def logs(self, job: Job, *, follow: bool = False) -> Iterator[str]:
        log = str(Path(job.job_dir) / JOB_LOG)
        position = 0
        while True:
            ended = not follow or not self.states([job])[job.id].state.is_active
            text = self.transport.read_file(log) or ""
            if text[position:]:
                yield text[position:]
            position = len(text)
            if ended:
                return
            time.sleep(1.0)

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        wanted = {job.job_dir for job in jobs}
        submissions = []
        for group in self._groups_of(Path(invocation.output_dir)):
            chosen = [d for d in group.job_dirs if d in wanted]
            if chosen:
                submissions.append((group.script, chosen))
        missing = wanted - {d for _, chosen in submissions for d in chosen}
        if missing:
            raise SchedulingError(f"no sbatch script of {invocation.id} runs {sorted(missing)[0]}")
        for job_dir in wanted:
            reset_job(Path(job_dir))  # the harness's response cache in artifacts/ stays
        ids = self.commands.submit(submissions)
        by_dir = {d: slurm_id for (_, chosen), slurm_id in zip(submissions, ids) for d in chosen}
        return {job.id: by_dir[job.job_dir] for job in jobs}
