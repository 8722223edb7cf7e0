"""Where to connect and how: a host (or a ``~/.ssh/config`` alias) resolved into an :class:`SshTarget`."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import attrs

from nel_core.errors import ConfigError

__all__ = ["SshTarget", "resolve_target"]

#: The OpenSSH client's own known_hosts files, in its order.
DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")


@attrs.frozen(kw_only=True)
class SshTarget:
    """A resolved SSH destination.

    Args:
        alias: The name the config gave (a Host alias or the host itself), for messages.
        host: The host to connect to.
        port: Its SSH port.
        user: The user to log in as.
        identity_files: Private keys to offer (besides the agent's and the default ones).
        known_hosts: Files holding the accepted host keys (the first one gets new keys).
        accept_new_host_keys: Whether a host not in known_hosts is accepted (and remembered).
        jump: The host to connect through (ProxyJump), itself resolved.
        connect_timeout: Seconds to wait for the TCP connection and the SSH handshake.
    """

    alias: str
    host: str
    port: int = 22
    user: str
    identity_files: tuple[str, ...] = ()
    known_hosts: tuple[str, ...] = ()
    accept_new_host_keys: bool = False
    jump: SshTarget | None = None
    connect_timeout: float = 15.0

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def _expand(path: str) -> str:
    return os.path.expanduser(os.path.expandvars(path))


def resolve_target(
    hostname: str,
    *,
    username: str | None = None,
    port: int | None = None,
    identity_file: str | None = None,
    known_hosts_file: str | None = None,
    accept_new_host_keys: bool = False,
    config_file: str | None = "~/.ssh/config",
    connect_timeout: float = 15.0,
) -> SshTarget:
    """Resolve ``hostname`` the way OpenSSH does: explicit values first, then ``~/.ssh/config``.

    ``hostname`` may be a Host alias of the config file, which then gives the real host name,
    user, port, identity files, known_hosts file and ProxyJump (``user@host:port``, several
    hops separated by commas; each hop is itself looked up).

    Raises:
        ConfigError: when the config file cannot be read or ProxyJump cannot be understood.
    """
    import paramiko  # only when a remote machine is to be reached

    config = paramiko.SSHConfig()
    if config_file and Path(_expand(config_file)).is_file():
        try:
            config = paramiko.SSHConfig.from_path(_expand(config_file))
        except (OSError, paramiko.SSHException) as exc:
            raise ConfigError(f"cannot read the SSH config {config_file}: {exc}") from exc
    return _resolve(
        hostname, config, username=username, port=port, identity_file=identity_file,
        known_hosts_file=known_hosts_file, accept_new_host_keys=accept_new_host_keys,
        connect_timeout=connect_timeout, depth=0,
    )  # fmt: skip


def _resolve(
    hostname: str,
    config: object,
    *,
    username: str | None,
    port: int | None,
    identity_file: str | None,
    known_hosts_file: str | None,
    accept_new_host_keys: bool,
    connect_timeout: float,
    depth: int,
) -> SshTarget:
    if depth > 8:
        raise ConfigError(f"ProxyJump of {hostname}: more than 8 hops (a loop in the SSH config?)")
    found = config.lookup(hostname)  # type: ignore[attr-defined]
    identities = [identity_file] if identity_file else []
    identities += [f for f in found.get("identityfile", []) if Path(_expand(f)).is_file()]
    known = [known_hosts_file] if known_hosts_file else []
    known += str(found.get("userknownhostsfile", "")).split() or list(DEFAULT_KNOWN_HOSTS)
    strict = str(found.get("stricthostkeychecking", "")).lower()
    try:
        ssh_port = int(port or found.get("port", 22))
    except ValueError as exc:
        raise ConfigError(f"the SSH port of {hostname} is not a number: {found.get('port')}") from exc
    jump = None
    proxy = str(found.get("proxyjump", "") or "")
    if proxy and proxy.lower() != "none":
        jump = _jump(proxy, config, known, accept_new_host_keys, connect_timeout, depth)
    return SshTarget(
        alias=hostname,
        host=str(found.get("hostname", hostname)),
        port=ssh_port,
        user=username or str(found.get("user", "")) or getpass.getuser(),
        identity_files=tuple(_expand(f) for f in identities),
        known_hosts=tuple(_expand(f) for f in known),
        accept_new_host_keys=accept_new_host_keys or strict in {"no", "accept-new", "off"},
        jump=jump,
        connect_timeout=connect_timeout,
    )


def _jump(
    proxy: str, config: object, known: list[str], accept: bool, timeout: float, depth: int
) -> SshTarget:
    """The last hop of ``proxy`` (``[user@]host[:port]``, comma-separated), each through the one before."""
    previous: SshTarget | None = None
    for hop in proxy.split(","):
        user, _, rest = hop.strip().rpartition("@")
        host, sep, port_text = rest.partition(":")
        if not host or (sep and not port_text.isdigit()):
            raise ConfigError(f"ProxyJump {proxy}: cannot read the hop '{hop}'", hint="write [user@]host[:port]")
        target = _resolve(
            host, config, username=user or None, port=int(port_text) if sep else None, identity_file=None,
            known_hosts_file=known[0] if known else None, accept_new_host_keys=accept,
            connect_timeout=timeout, depth=depth + 1,
        )  # fmt: skip
        previous = attrs.evolve(target, jump=previous) if previous else target
    assert previous is not None
    return previous
