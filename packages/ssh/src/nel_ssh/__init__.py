"""An SSH transport for NEL's executors: commands over exec channels, files over SFTP.

One connection per target for the whole process (a CLI command), opened on first use and reused
by every executor that asks for the same target; key authentication only (key files, the SSH
agent, ``~/.ssh/config`` with Host aliases and ProxyJump); host keys checked against known_hosts.
"""

from nel_ssh.target import SshTarget, resolve_target
from nel_ssh.transport import SshTransport, close_all, connect

__all__ = ["SshTarget", "SshTransport", "close_all", "connect", "resolve_target"]
