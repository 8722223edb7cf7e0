"""The Slurm executor: an invocation's tasks in sbatch jobs, each starting the model server once.

A composition of ports and core's toolkit, assembled here and nowhere else:

- a ContainerRuntime of the cluster (``execution.container_runtime``) renders each job's harness
  line and the server's line (:mod:`nel_executor_slurm.runtimes`);
- an EndpointProvider per deployment type: core's :class:`ExternalEndpoint` for ``none``, else a
  :class:`SlurmServer` of the type's backend-neutral plan;
- core's :func:`render_job_script` gives each job's ``run.sh`` (stage markers, secrets sourced);
- :func:`render_sbatch` groups ``tasks_per_job`` jobs per sbatch script;
- a Transport to the login node (core's local one, or ``nel-ssh``'s: one connection per process,
  opened on first contact: a dry run contacts nothing) under :class:`SlurmScheduler`, which
  submits, asks and cancels any number of jobs in one round trip.

Over SSH, the invocation's folder is rendered into a local copy (``<NEL_HOME>/clusters/<host>/``
followed by the cluster path), uploaded at submission, and kept in step by status
(:mod:`nel_executor_slurm.tracking`): the stage markers of the jobs asked, and once a job has
ended its results and log, come back in the same round trip as Slurm's answer. On the login node
the two are the same folder.

Every later command rebuilds this executor from the recorded config: each job's folder on the
cluster holds its chain of Slurm job ids (``slurm.chain``) and the link that runs it (``slurm.id``).
"""

from __future__ import annotations

import json
import posixpath
import shlex
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from nel_core.deployments import ExternalEndpoint, PlanServer
from nel_core.errors import ConfigError, NelError, SchedulingError
from nel_core.host.containers import job_container, job_paths, mounts_from
from nel_core.host.job_script import adapter_port_line, render_job_script
from nel_core.host.jobs import mark_killed, reset_job
from nel_core.layout import (
    ARTIFACTS_DIR,
    EVAL_FACTORY_METRICS,
    EXIT,
    JOB_LOG,
    JOB_PID,
    KILLED,
    REQUESTS_FILE,
)  # fmt: skip
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
from nel_core.transport import Transport
from nel_executor_slurm.commands import SlurmScheduler
from nel_executor_slurm.config import SlurmExecutionConfig
from nel_executor_slurm.runtimes import PyxisRuntime, slurm_runtime
from nel_executor_slurm.sbatch import (
    CHAIN_FILE,
    CURRENT_FILE,
    PROXY_CONFIG,
    Auxiliary,
    Deployment,
    SbatchGroup,
    job_name,
    render_sbatch,
)  # fmt: skip
from nel_executor_slurm.server import SlurmServer
from nel_executor_slurm.tracking import MARKERS, job_report, snapshot_request
from nel_executor_slurm.transport import open_transport

__all__ = ["GROUPS_FILE", "SlurmExecutor"]

#: The invocation's sbatch groups: ``{"groups": [{"script": ..., "jobs": [job dir, ...]}]}`` (cluster paths).
GROUPS_FILE = "slurm.json"


class SlurmExecutor(Executor):
    """Runs an invocation's tasks in sbatch jobs on a Slurm cluster.

    Args:
        transport: How the login node is reached (default: from the config, on first contact).
    """

    name: ClassVar[str] = "slurm"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOG_STREAMING, Capability.RESUME, Capability.GPU, Capability.AUXILIARY_DEPLOYMENTS}
    )

    def __init__(self, config: ExecutionConfig, *, home: Path, transport: Transport | None = None) -> None:
        super().__init__(config, home=home)
        if not isinstance(config, SlurmExecutionConfig):
            raise ConfigError(f"execution: the slurm executor needs its own config, not {type(config).__name__}")
        self.slurm = config
        self.runtime: ContainerRuntime = slurm_runtime(config.container_runtime, mount_home=config.mounts.mount_home)
        self._transport = transport
        self._providers: dict[str, EndpointProvider] = {}
        self.remote_root = self._remote_root()
        self._existing = ""  # output_dir's nearest existing folder on the cluster, found by preflight

    # ------------------------------------------------------------------------- composition

    @property
    def transport(self) -> Transport:
        """The login node's transport, opened on first use (never by rendering)."""
        if self._transport is None:
            self._transport = open_transport(self.slurm)
        return self._transport

    @property
    def scheduler(self) -> SlurmScheduler:
        """Slurm's commands on the login node (core's Scheduler port, and many jobs per round trip)."""
        return SlurmScheduler(self.transport)

    @property
    def mirrored(self) -> bool:
        """Whether the invocations' folders here are copies of the cluster's (over SSH)."""
        return not self.slurm.on_login_node

    def _remote_root(self) -> str:
        output_dir = self.slurm.output_dir
        if not self.mirrored:
            return str(Path(output_dir).expanduser().resolve())
        if not output_dir.startswith("/"):
            raise ConfigError(
                f"execution.output_dir: '{output_dir}' must be an absolute path on the cluster",
                hint="e.g. /lustre/fsw/<account>/<user>/nel-results",
            )
        return posixpath.normpath(output_dir)

    def output_root(self) -> Path:
        if not self.mirrored:
            return Path(self.remote_root)
        return self.home / "clusters" / self.slurm.hostname / self.remote_root.lstrip("/")

    def remote(self, local: Path | str) -> str:
        """The cluster's path of a folder or file under :meth:`output_root`."""
        if not self.mirrored:
            return str(local)
        return posixpath.join(self.remote_root, Path(local).relative_to(self.output_root()).as_posix())

    def local(self, remote: str) -> Path:
        """The local copy's path of a cluster path under ``output_dir``."""
        if not self.mirrored:
            return Path(remote)
        return self.output_root() / posixpath.relpath(remote, self.remote_root)

    def locations(self, invocation: Invocation) -> dict[str, str]:
        where = "this machine (the login node)" if not self.mirrored else self.slurm.hostname
        return {"cluster": where, "cluster_dir": self.remote(invocation.output_dir)}

    def _path_lines(self) -> list[str]:
        venv = self.slurm.venv
        return [f'export PATH={shlex.quote(venv.rstrip("/") + "/bin")}:"$PATH"'] if venv else []

    def endpoint_provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if deployment.type not in self._providers:
            self._providers[deployment.type] = self._provider(deployment)
        return self._providers[deployment.type]

    def auxiliary_provider(self, name: str, deployment: DeploymentConfig) -> EndpointProvider:
        """One instance on the job's first node, in its container with ``mounts.auxiliary``."""
        key = f"auxiliary_deployments.{name}"
        if key not in self._providers:
            if not deployment.starts_server:
                self._providers[key] = ExternalEndpoint()
            else:
                self._providers[key] = SlurmServer(
                    self._plan_of(deployment, key),
                    runtime=self.runtime,
                    readiness_timeout=self.slurm.endpoint_readiness_timeout,
                    mounts=mounts_from(self.slurm.mounts.auxiliary),
                    mounts_key="execution.mounts.auxiliary",
                    path_lines=self._path_lines(),
                )
        return self._providers[key]

    @staticmethod
    def _plan_of(deployment: DeploymentConfig, key: str) -> PlanServer:
        plan = deployment_types()[deployment.type].plan
        if plan is None:
            raise ConfigError(f"{key}.type: '{deployment.type}' gives no server to start on a Slurm node")
        return plan

    def _provider(self, deployment: DeploymentConfig) -> EndpointProvider:
        if not deployment.starts_server:
            return ExternalEndpoint()
        instances, nodes = self.slurm.num_instances, self.slurm.num_nodes
        if instances < 1 or nodes % instances:
            raise ConfigError(
                f"execution.num_nodes ({nodes}) must be a multiple of execution.num_instances ({instances})",
                hint="each instance of the server gets num_nodes / num_instances nodes",
            )
        if instances > 1 and self.slurm.proxy.type != "haproxy":
            raise ConfigError(f"execution.proxy.type: '{self.slurm.proxy.type}' is not supported", hint="use haproxy")
        plan = self._plan_of(deployment, "deployment")
        runtime = self.runtime
        if isinstance(runtime, PyxisRuntime) and instances == 1:  # the server's step spans the job's nodes
            placement = (f"--nodes={nodes}", f"--ntasks={self.slurm.deployment.n_tasks}")
            runtime = PyxisRuntime(mount_home=self.slurm.mounts.mount_home, srun_args=placement)
        return SlurmServer(
            plan,
            runtime=runtime,
            readiness_timeout=self.slurm.endpoint_readiness_timeout,
            mounts=mounts_from(self.slurm.mounts.deployment),
            path_lines=self._path_lines(),
            instances=instances,
            nodes_per_instance=nodes // instances,
            proxy=self.slurm.proxy,
        )

    # ---------------------------------------------------------------------------- rendering

    def job_paths(self, spec: JobSpec, job_dir: Path) -> JobPaths:
        return job_paths(self.runtime, Path(self.remote(job_dir)))

    def container_spec(self, plan: Plan, spec: JobSpec, job_dir: Path) -> ContainerSpec:
        """What the cluster's runtime runs for ``spec``: the harness command, as the job sees its paths."""
        remote = Path(self.remote(job_dir))
        return job_container(plan.invocation_id, spec, remote, self.runtime, mounts=self.slurm.mounts.evaluation)

    def render(self, plan: Plan, spec: JobSpec, job_dir: Path) -> str:
        run = shlex.join(self.runtime.render(self.container_spec(plan, spec, job_dir)))
        env_lines = [adapter_port_line("python3"), *self._path_lines()]
        return render_job_script(spec, self.remote(job_dir), [run], env_lines)

    def groups(self, plan: Plan, invocation_dir: Path) -> list[SbatchGroup]:
        """The plan's jobs in sbatch groups of ``tasks_per_job`` (all in one by default), as cluster paths."""
        size = self.slurm.tasks_per_job or len(plan.jobs)
        chunks = [plan.jobs[i : i + size] for i in range(0, len(plan.jobs), max(size, 1))]
        remote = self.remote(invocation_dir)
        return [
            SbatchGroup(
                index=k,
                count=len(chunks),
                script=posixpath.join(remote, f"slurm-{k}.sbatch"),
                job_dirs=[posixpath.join(remote, job_dir_name(spec)) for spec in chunk],
            )
            for k, chunk in enumerate(chunks)
        ]

    def render_invocation(self, plan: Plan, invocation_dir: Path) -> dict[str, str]:
        server = None
        if plan.endpoint_spec is not None:
            provider = self.endpoint_provider(plan.config.deployment)
            assert isinstance(provider, SlurmServer)
            remote = self.remote(invocation_dir)
            server = Deployment(
                spec=plan.endpoint_spec,
                instances=provider.render_instances(plan.endpoint_spec),
                nodes_per_instance=provider.nodes_per_instance,
                proxy=provider.render_proxy(posixpath.join(remote, PROXY_CONFIG)) if provider.instances > 1 else None,
                proxy_config=dict(self.slurm.proxy.config),
            )
        auxiliaries = []
        for name, spec in plan.auxiliary_specs.items():
            provider = self.auxiliary_provider(name, plan.config.auxiliary_deployments[name])
            auxiliaries.append(Auxiliary(name=name, spec=spec, line=provider.render(spec)))
        files = {}
        groups = self.groups(plan, invocation_dir)
        for group in groups:
            files[posixpath.basename(group.script)] = render_sbatch(
                self.slurm, invocation_id=plan.invocation_id, invocation_dir=self.remote(invocation_dir),
                group=group, server=server, auxiliaries=auxiliaries,
            )  # fmt: skip
        listed = [{"script": g.script, "jobs": g.job_dirs} for g in groups]
        files[GROUPS_FILE] = json.dumps({"groups": listed}, indent=2) + "\n"
        return files

    # ------------------------------------------------------------------------------ running

    def preflight(self, plan: Plan) -> None:
        self._existing = self.scheduler.check(self.remote_root)

    def _remove_remote(self, remote_invocation_dir: str) -> None:
        """Remove a refused launch's folder, and the parents it created while they are empty
        (up to output_dir's nearest folder that existed at preflight; never another run's)."""
        stop = self._existing or self.remote_root
        parent = posixpath.dirname(remote_invocation_dir)
        self.transport.run_script(
            f"rm -rf -- {shlex.quote(remote_invocation_dir)}; d={shlex.quote(parent)}; "
            f'while [ "$d" != {shlex.quote(stop)} ] && [ "$d" != / ] && rmdir -- "$d" 2>/dev/null; '
            'do d=$(dirname "$d"); done'
        )

    def submit(self, plan: Plan, jobs: Sequence[RenderedJob]) -> dict[str, str]:
        invocation_dir = jobs[0].job_dir.parent
        groups = self.groups(plan, invocation_dir)
        remote = self.remote(invocation_dir)
        try:
            self.transport.put_tree(invocation_dir, remote)  # one batch, on the same connection
            ids = self.scheduler.submit_many([(g.script, [], [], g.job_dirs) for g in groups], chain_file=CHAIN_FILE)
        except NelError:
            if self.mirrored:  # nothing of a refused run stays on the cluster
                self._remove_remote(remote)
            raise
        by_dir = {job_dir: slurm_id for group, slurm_id in zip(groups, ids) for job_dir in group.job_dirs}
        return {job.job_id: by_dir[self.remote(job.job_dir)] for job in jobs}

    # ----------------------------------------------------------------------------- tracking

    def _groups_of(self, invocation_dir: Path) -> list[SbatchGroup]:
        path = invocation_dir / GROUPS_FILE
        listed = json.loads(path.read_text())["groups"] if path.is_file() else []
        return [
            SbatchGroup(index=k, count=len(listed), script=g["script"], job_dirs=list(g["jobs"]))
            for k, g in enumerate(listed)
        ]

    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        remote = {job.id: self.remote(job.job_dir) for job in jobs}
        try:
            snapshot = self.scheduler.snapshot(
                snapshot_request(list(remote.values()), mirrored=self.mirrored),
                ids=[job.handle for job in jobs if job.handle],
                id_files=[f"{folder}/{CHAIN_FILE}" for folder in remote.values()],
            )
        except NelError as exc:
            unknown = StateReport(state=JobState.UNKNOWN, reason=f"the cluster cannot be asked: {exc.message}")
            return {job.id: unknown for job in jobs}
        return {
            job.id: job_report(job, remote[job.id], snapshot, mirrored=self.mirrored,
                               max_walltime=self.slurm.max_walltime)  # fmt: skip
            for job in jobs
        }

    # ------------------------------------------------------------------------------ control

    def kill(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        for job in jobs:
            mark_killed(Path(job.job_dir))  # the group's script stops a running task that has it
        killing = {self.remote(job.job_dir) for job in jobs}
        markers = {f"{d}/{KILLED}": f"{time.time():.0f}" for d in sorted(killing)} if self.mirrored else {}
        groups = [(job_name(self.slurm, invocation.id, g.index), g.job_dirs)
                  for g in self._groups_of(Path(invocation.output_dir))]  # fmt: skip
        groups += [("", [d]) for d in sorted(killing) if not any(d in dirs for _, dirs in groups)]
        self.scheduler.cancel_chains(
            groups, markers=markers, chain_file=CHAIN_FILE, current_file=CURRENT_FILE, ended=(EXIT, KILLED),
            extra_ids=[job.handle for job in jobs if job.handle],
        )  # fmt: skip

    def logs(self, job: Job, *, follow: bool = False) -> Iterator[str]:
        log = f"{self.remote(job.job_dir)}/{JOB_LOG}"
        position = 0
        while True:
            ended = not follow or not self.states([job])[job.id].state.is_active
            text = self.transport.read_file(log, offset=position) or ""
            if text:
                yield text
            position += len(text.encode())
            if ended:
                return
            time.sleep(1.0)

    def resume(self, invocation: Invocation, jobs: Sequence[Job]) -> dict[str, str]:
        wanted = {self.remote(job.job_dir) for job in jobs}
        submissions: list[tuple[str, list[str], list[str], list[str]]] = []
        for group in self._groups_of(Path(invocation.output_dir)):
            chosen = [d for d in group.job_dirs if d in wanted]
            if chosen:
                submissions.append((group.script, [], chosen, chosen))
        missing = wanted - {d for _, _, chosen, _ in submissions for d in chosen}
        if missing:
            raise SchedulingError(f"no sbatch script of {invocation.id} runs {sorted(missing)[0]}")
        for job in jobs:
            reset_job(Path(job.job_dir))  # the harness's response cache in artifacts/ stays
        if self.mirrored:
            self._reset_remote(invocation, jobs)
        ids = self.scheduler.submit_many(submissions, chain_file=CHAIN_FILE)
        by_dir = {d: slurm_id for (_, _, chosen, _), slurm_id in zip(submissions, ids) for d in chosen}
        return {job.id: by_dir[self.remote(job.job_dir)] for job in jobs}

    def _reset_remote(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        """:func:`reset_job` on the cluster: its markers go, its request statistics are forgotten."""
        metrics = {f"{self.remote(j.job_dir)}/{ARTIFACTS_DIR}/{EVAL_FACTORY_METRICS}": j for j in jobs}
        with tempfile.TemporaryDirectory() as staging:
            fetched = self.transport.fetch(
                {path: Path(staging) / Path(job.job_dir).name / ARTIFACTS_DIR / EVAL_FACTORY_METRICS
                 for path, job in metrics.items()}
            )  # fmt: skip
            for path in fetched:
                reset_job(Path(staging) / Path(metrics[path].job_dir).name)  # rewrites the metrics file
            names = (*MARKERS, JOB_PID, CURRENT_FILE, f"{ARTIFACTS_DIR}/{REQUESTS_FILE}",
                     f"{ARTIFACTS_DIR}/response_stats_cache")  # fmt: skip
            stale = [f"{self.remote(j.job_dir)}/{name}" for j in jobs for name in names]
            code, _, err = self.transport.run(["rm", "-rf", "--", *stale])
            if code != 0:
                raise SchedulingError(f"cannot reset the jobs on the cluster: {' '.join(err.split())}")
            if fetched:
                self.transport.put_tree(Path(staging), self.remote(invocation.output_dir))
