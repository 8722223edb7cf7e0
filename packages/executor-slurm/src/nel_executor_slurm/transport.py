"""How the Slurm executor reaches the login node: this machine, or SSH (package ``nel-ssh``).

NEL on the login node itself (``hostname: localhost`` or ``execution.ssh: false``: login nodes
with MFA make SSH to oneself impossible) runs commands here. Otherwise one SSH connection per
process serves every command and file of every invocation on that cluster.
"""

from __future__ import annotations

from nel_core.transport import LocalTransport, Transport
from nel_executor_slurm.config import SlurmExecutionConfig

__all__ = ["open_transport"]


def open_transport(config: SlurmExecutionConfig) -> Transport:
    """The transport to the login node of ``config`` (the SSH connection opens on first use)."""
    if config.on_login_node:
        return LocalTransport()
    from nel_ssh import connect, resolve_target

    return connect(
        resolve_target(
            config.hostname,
            username=config.username,
            port=config.ssh_port,
            identity_file=config.ssh_key_file,
            known_hosts_file=config.ssh_known_hosts_file,
            accept_new_host_keys=config.ssh_accept_new_host_keys,
            config_file=config.ssh_config_file,
        )
    )
