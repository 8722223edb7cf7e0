"""The ``execution`` section of the Slurm executor: NeMo Evaluator Launcher's keys, then NEL's own."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from nel_core.models.config import ExecutionConfig

__all__ = ["CONTAINER_RUNTIMES", "SlurmDeploymentOptions", "SlurmExecutionConfig", "SlurmMounts", "SlurmProxy"]

#: The container runtimes of ``execution.container_runtime``.
CONTAINER_RUNTIMES = ("pyxis", "charliecloud", "apptainer", "docker", "none")
#: Hosts that mean "this machine is the login node": commands run here, without SSH.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@attrs.frozen(kw_only=True)
class SlurmMounts:
    """Host paths of the cluster mounted into containers (host path -> container path).

    Args:
        deployment: Into the model server's container.
        evaluation: Into every job's harness container.
        auxiliary: Into auxiliary servers' containers (a judge, ...).
        mount_home: Whether containers see the user's home directory (pyxis, apptainer).
    """

    deployment: dict[str, str] = attrs.Factory(dict)
    evaluation: dict[str, str] = attrs.Factory(dict)
    auxiliary: dict[str, str] = attrs.Factory(dict)
    mount_home: bool = True


@attrs.frozen(kw_only=True)
class SlurmDeploymentOptions:
    """How the model server runs inside the job.

    Args:
        n_tasks: Slurm tasks of the server's step (``srun --ntasks``; NeMo Evaluator Launcher's
            default is ``execution.num_nodes``).
    """

    n_tasks: int = 1


@attrs.frozen(kw_only=True)
class SlurmProxy:
    """The load balancer in front of ``num_instances`` servers (haproxy)."""

    type: str = "haproxy"
    image: str = "haproxy:latest"
    config: dict[str, Any] = attrs.Factory(
        lambda: {"haproxy_port": 5009, "health_check_path": "/health", "health_check_status": 200}
    )


@attrs.frozen(kw_only=True)
class SlurmExecutionConfig(ExecutionConfig):
    """Run on a Slurm cluster, over SSH or on its login node.

    The keys up to ``proxy`` are NeMo Evaluator Launcher's, with its names and defaults.

    Args:
        hostname: The login node (``localhost``: this machine is the login node).
        username: The cluster user (default ``$USER``).
        account: The Slurm account jobs are charged to.
        output_dir: The invocations' folder on the cluster's shared filesystem.
        partition: The partition of jobs that deploy a model (GPUs).
        cpu_partition: The partition of jobs without a deployment (no GPUs); ``partition`` when null.
        num_nodes: Nodes per sbatch job.
        num_instances: Model server instances per job (more than one sits behind ``proxy``).
        ntasks_per_node: ``#SBATCH --ntasks-per-node``.
        gres: ``#SBATCH --gres`` (null: none).
        gpus_per_node: ``#SBATCH --gpus-per-node`` (null: none).
        walltime: ``#SBATCH --time`` of each job.
        max_walltime: The total time a job may use across its automatic resubmissions.
        endpoint_readiness_timeout: Seconds the server may take to answer its health path
            (null: the deployment's own default).
        subproject: Part of each sbatch job's name.
        sbatch_comment: ``#SBATCH --comment``.
        sbatch_extra_flags: More ``#SBATCH`` flags: ``true`` gives ``--key``, a value ``--key=value``,
            ``false`` or null leaves the flag out.
        deployment: How the model server runs (``n_tasks``).
        mounts: Cluster paths mounted into the containers.
        proxy: The load balancer of several instances.
        container_runtime: How containers run on the compute nodes.
        tasks_per_job: Tasks per sbatch job, each job starting the model server once (null: all).
        ssh: False when NEL runs on the login node (commands run here, without SSH).
        ssh_port: The login node's SSH port (null: the SSH config's, else 22).
        ssh_key_file: A private key to offer (besides the SSH agent's, the SSH config's
            IdentityFile and the default ones).
        ssh_known_hosts_file: Host keys to check the login node's against (besides the SSH
            config's UserKnownHostsFile, else ``~/.ssh/known_hosts``).
        ssh_accept_new_host_keys: Accept (and remember) the key of a login node not yet in
            known_hosts, as ``StrictHostKeyChecking=accept-new``; a changed key is always refused.
        ssh_config_file: The OpenSSH client config read for Host aliases, User, Port,
            IdentityFile and ProxyJump.
        venv: For ``container_runtime: none``: a virtual environment on the shared filesystem
            holding the harness; its ``bin`` goes first on the jobs' PATH.
    """

    type: str = "slurm"
    hostname: str
    username: str | None = None
    account: str
    partition: str = "batch"
    cpu_partition: str | None = None
    num_nodes: int = 1
    num_instances: int = 1
    ntasks_per_node: int = 1
    gres: str | None = "gpu:8"
    gpus_per_node: int | None = None
    walltime: str = "01:00:00"
    max_walltime: str = "120:00:00"
    endpoint_readiness_timeout: float | None = None
    subproject: str = "nemo-evaluator-launcher"
    sbatch_comment: str | None = None
    sbatch_extra_flags: dict[str, Any] = attrs.Factory(lambda: {"exclusive": True})
    deployment: SlurmDeploymentOptions = attrs.Factory(SlurmDeploymentOptions)
    mounts: SlurmMounts = attrs.Factory(SlurmMounts)
    proxy: SlurmProxy = attrs.Factory(SlurmProxy)
    container_runtime: Literal["pyxis", "charliecloud", "apptainer", "docker", "none"] = "pyxis"
    tasks_per_job: int | None = None
    ssh: bool = True
    ssh_port: int | None = None
    ssh_key_file: str | None = None
    ssh_known_hosts_file: str | None = None
    ssh_accept_new_host_keys: bool = False
    ssh_config_file: str = "~/.ssh/config"
    venv: str | None = None

    @property
    def on_login_node(self) -> bool:
        """Whether commands run on this machine, not over SSH: ``ssh: false``, or ``localhost``
        without an SSH port (with one, it is a tunnel to a login node)."""
        return not self.ssh or (self.hostname in LOCAL_HOSTS and self.ssh_port is None)
