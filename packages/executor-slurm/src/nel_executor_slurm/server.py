"""The Slurm EndpointProvider: a deployment type's server, started inside each sbatch job.

The deployment type gives a backend-neutral :class:`EndpointSpec`; this provider renders it
for the cluster's container runtime. The sbatch script (:mod:`nel_executor_slurm.sbatch`) runs
that line once per job, waits for the health path and tears it down when the job ends; jobs
reach the server on their own node.

With ``num_instances`` above 1, each instance is an ``srun`` step on its own share of the job's
nodes (``num_nodes / num_instances``, from ``--relative``), and haproxy on the job's first node
balances them (``proxy``, NeMo Evaluator Launcher's keys): the jobs reach the proxy's port.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from typing import ClassVar

import attrs

from nel_core.deployments import PlanServer, local_endpoint
from nel_core.errors import ConfigError, EndpointError
from nel_core.host.containers import server_container
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import ContainerSpec, Endpoint, EndpointSpec, Mount
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.services.materialize import DEPLOYMENT_SECRETS_FILE
from nel_executor_slurm.config import SlurmProxy
from nel_executor_slurm.runtimes import PyxisRuntime

__all__ = ["SlurmServer"]


class SlurmServer(EndpointProvider):
    """Plans and renders a deployment type's server for an sbatch job (it starts nothing itself).

    Args:
        plan: The deployment type's plan.
        runtime: The cluster's container runtime (for servers with an image).
        readiness_timeout: Seconds the server may take to become healthy (None: the plan's).
        mounts: More cluster paths for the server's container (``execution.mounts.deployment``,
            or ``execution.mounts.auxiliary`` for an auxiliary server: ``mounts_key`` says which).
        path_lines: Shell lines run before a server without an image (its environment's PATH).
    """

    name: ClassVar[str] = "slurm-server"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GPU})

    def __init__(
        self,
        plan: PlanServer,
        *,
        runtime: ContainerRuntime,
        readiness_timeout: float | None,
        mounts: Sequence[Mount] = (),
        mounts_key: str = "execution.mounts.deployment",
        path_lines: Sequence[str] = (),
        instances: int = 1,
        nodes_per_instance: int = 1,
        proxy: SlurmProxy | None = None,
    ) -> None:
        self._plan = plan
        self.runtime = runtime
        self.readiness_timeout = readiness_timeout
        self.mounts = list(mounts)
        self.mounts_key = mounts_key
        self.path_lines = list(path_lines)
        self.instances = instances
        self.nodes_per_instance = nodes_per_instance
        self.proxy = proxy or SlurmProxy()

    @property
    def proxy_port(self) -> int | None:
        """The port the jobs reach when several instances sit behind the proxy (None: one instance)."""
        return int(self.proxy.config.get("haproxy_port", 5009)) if self.instances > 1 else None

    def plan(self, config: RunConfig, deployment: DeploymentConfig) -> EndpointSpec | None:
        spec = self._plan(config, deployment)
        if spec is None:
            return None
        if spec.image is not None and self.runtime.name == "none":
            raise ConfigError(
                f"execution.container_runtime: 'none' cannot start the {spec.type} server's image {spec.image}",
                hint="choose pyxis, charliecloud, apptainer or docker, or a deployment without an image",
            )
        if self.mounts and spec.image is None:
            raise ConfigError(
                f"{self.mounts_key}: the {spec.type} server runs on the node, not in a container",
                hint="mount paths only into a deployment with an image",
            )
        timeout = spec.readiness_timeout if self.readiness_timeout is None else self.readiness_timeout
        return attrs.evolve(spec, readiness_timeout=timeout, mounts=[*spec.mounts, *self.mounts])

    def endpoint(self, config: RunConfig, spec: EndpointSpec | None) -> Endpoint:
        if spec is None:
            raise EndpointError("the Slurm server provider needs a planned server")
        if self.proxy_port is not None:  # the jobs reach the proxy, on their own node
            return local_endpoint(attrs.evolve(spec, port=self.proxy_port))
        return local_endpoint(spec)  # the jobs run on the server's node

    def container(self, spec: EndpointSpec) -> ContainerSpec:
        """The server as its container runtime runs it."""
        return server_container(spec, shell="bash")

    def render(self, spec: EndpointSpec) -> str:
        """The server's line, run from the invocation's folder: it alone reads ``deployment.env``."""
        return self._render(spec, self.runtime)

    def _render(self, spec: EndpointSpec, runtime: ContainerRuntime) -> str:
        secrets = f"[ -f {DEPLOYMENT_SECRETS_FILE} ] && {{ set -a; . ./{DEPLOYMENT_SECRETS_FILE}; set +a; }}; "
        if spec.image is None:
            return secrets + "".join(f"{line}; " for line in self.path_lines) + spec.command
        return secrets + "exec " + shlex.join(runtime.render(self.container(spec)))

    def render_instances(self, spec: EndpointSpec) -> list[str]:
        """One line per instance, each an ``srun`` step on its own nodes (one instance: :meth:`render`)."""
        if self.instances == 1:
            return [self.render(spec)]
        lines = []
        k = self.nodes_per_instance
        for index in range(self.instances):
            placement = (f"--nodes={k}", f"--relative={index * k}")
            if isinstance(self.runtime, PyxisRuntime):  # the container step itself spans the nodes
                runtime = PyxisRuntime(mount_home=self.runtime.mount_home, srun_args=(*placement, f"--ntasks={k}"))
                lines.append(self._render(spec, runtime))
            else:
                inner = self._render(spec, self.runtime)
                lines.append("exec " + shlex.join(["srun", "--overlap", *placement, "--ntasks=1", "bash", "-c", inner]))
        return lines

    def render_proxy(self, config_file: str) -> str:
        """haproxy with ``config_file``: in ``proxy.image`` through the runtime, or the node's own haproxy."""
        if self.runtime.name == "none":
            return "exec " + shlex.join(["haproxy", "-f", config_file])
        folder = posixpath.dirname(config_file)
        container = ContainerSpec(
            image=self.proxy.image,
            command=["haproxy", "-f", f"/nel-proxy/{posixpath.basename(config_file)}"],
            mounts=[Mount(source=folder, target="/nel-proxy", read_only=True)],
        )
        return "exec " + shlex.join(self.runtime.render(container))
