"""The SSH transport: one paramiko connection per target and process, SFTP for files.

:func:`connect` gives the process's transport to a target, opening it on first use; every
executor asking for the same target shares it, so a CLI command that touches a cluster makes
one connection however many invocations and jobs it handles. :func:`close_all` runs at exit.
"""

from __future__ import annotations

import atexit
import errno
import os
import posixpath
import select
import shlex
import stat
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from nel_core.errors import PreflightError
from nel_core.transport import Transport, TransportError
from nel_ssh.target import SshTarget

if TYPE_CHECKING:
    import paramiko

__all__ = ["SshTransport", "close_all", "connect"]

_open: dict[SshTarget, SshTransport] = {}
_lock = threading.Lock()


def connect(target: SshTarget) -> SshTransport:
    """The process's transport to ``target`` (connected on first use, then shared)."""
    with _lock:
        if target not in _open:
            if not _open:
                atexit.register(close_all)
            _open[target] = SshTransport(target)
        return _open[target]


def close_all() -> None:
    """Close every connection :func:`connect` opened."""
    with _lock:
        for transport in _open.values():
            transport.close()
        _open.clear()


class SshTransport(Transport):
    """Commands and files on ``target`` over one SSH connection (opened on first use).

    Raises (from every method):
        PreflightError: when the connection cannot be made (unreachable, key refused, host
            key unknown or changed), with a one-line reason and a hint.
        TransportError: when an open connection fails.
    """

    name: ClassVar[str] = "ssh"

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.round_trips = 0
        self.connections = 0
        self._clients: list[paramiko.SSHClient] = []
        self._sftp: paramiko.SFTPClient | None = None

    # ---------------------------------------------------------------------------- connection

    def _client(self) -> paramiko.SSHClient:
        if self._clients and self._clients[-1].get_transport() is not None:
            transport = self._clients[-1].get_transport()
            if transport is not None and transport.is_active():
                return self._clients[-1]
        self.close()
        self._clients = _open_chain(self.target)
        self.connections += 1
        return self._clients[-1]

    def _files(self) -> paramiko.SFTPClient:
        if self._sftp is None or self._sftp.get_channel() is None or self._sftp.get_channel().closed:  # type: ignore[union-attr]
            try:
                self._sftp = self._client().open_sftp()
            except Exception as exc:  # noqa: BLE001 - paramiko raises several kinds
                raise TransportError(f"{self.target}: cannot open SFTP: {exc}") from exc
        return self._sftp

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        for client in reversed(self._clients):
            client.close()
        self._clients = []

    # ------------------------------------------------------------------------------ commands

    def run(self, argv: Sequence[str], *, input: str | None = None) -> tuple[int, str, str]:
        client = self._client()
        self.round_trips += 1
        try:
            channel = client.get_transport().open_session()  # type: ignore[union-attr]
            channel.exec_command(shlex.join(argv))
            if input is not None:  # written in a thread: the command may answer before reading it all
                writer = threading.Thread(target=_send, args=(channel, input.encode()), daemon=True)
                writer.start()
            else:
                channel.shutdown_write()
            return _collect(channel)
        except (OSError, EOFError) as exc:
            raise TransportError(f"{self.target}: the connection failed while running {argv[0]}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - paramiko.SSHException and friends
            raise TransportError(f"{self.target}: cannot run {argv[0]}: {exc}") from exc

    # --------------------------------------------------------------------------------- files

    def put_tree(self, local: Path, remote: str) -> None:
        files = sorted(p for p in local.rglob("*") if p.is_file())
        folders = sorted({posixpath.join(remote, p.parent.relative_to(local).as_posix()) for p in files} | {remote})
        code, _, err = self.run(["mkdir", "-p", "--", *folders])  # every folder in one round trip
        if code != 0:
            why = next((line.strip() for line in err.splitlines() if line.strip()), f"exit code {code}")
            raise TransportError(f"{self.target}: cannot create {remote}: {why}")
        sftp = self._files()
        try:
            for path in files:
                target = posixpath.join(remote, path.relative_to(local).as_posix())
                temp = posixpath.join(posixpath.dirname(target), f".{posixpath.basename(target)}.{os.getpid()}.tmp")
                with sftp.open(temp, "wb") as stream:
                    self.round_trips += 1
                    stream.chmod(stat.S_IMODE(path.stat().st_mode))  # before a byte is written
                    stream.set_pipelined(True)
                    stream.write(path.read_bytes())
                sftp.posix_rename(temp, target)
        except OSError as exc:
            raise TransportError(f"{self.target}: cannot copy {local} to {remote}: {exc}") from exc

    def fetch(self, files: Mapping[str, Path]) -> list[str]:
        sftp = self._files()
        copied = []
        for remote, local in files.items():
            local.parent.mkdir(parents=True, exist_ok=True)
            temp = local.with_name(f".{local.name}.{os.getpid()}.tmp")
            try:
                self.round_trips += 1
                sftp.get(remote, str(temp))
                os.replace(temp, local)
            except OSError as exc:
                temp.unlink(missing_ok=True)
                if exc.errno == errno.ENOENT or isinstance(exc, FileNotFoundError):
                    continue
                raise TransportError(f"{self.target}: cannot copy {remote}: {exc}") from exc
            copied.append(remote)
        return copied

    def read_file(self, path: str, offset: int = 0) -> str | None:
        sftp = self._files()
        self.round_trips += 1
        try:
            with sftp.open(path, "rb") as stream:
                stream.seek(offset)
                stream.prefetch()
                data: bytes = stream.read()
        except OSError as exc:
            if exc.errno == errno.ENOENT or isinstance(exc, FileNotFoundError):
                return None
            raise TransportError(f"{self.target}: cannot read {path}: {exc}") from exc
        return data.decode(errors="replace")


def _send(channel: Any, data: bytes) -> None:
    try:
        channel.sendall(data)
        channel.shutdown_write()
    except (OSError, EOFError):  # the command ended without reading all of it
        pass


def _collect(channel: Any) -> tuple[int, str, str]:
    """Read both streams of an exec channel until it ends (neither may fill and block the other)."""
    out: list[bytes] = []
    err: list[bytes] = []
    while True:
        busy = False
        while channel.recv_ready():
            out.append(channel.recv(1 << 16))
            busy = True
        while channel.recv_stderr_ready():
            err.append(channel.recv_stderr(1 << 16))
            busy = True
        drained = not channel.recv_ready() and not channel.recv_stderr_ready()
        if channel.exit_status_ready() and channel.eof_received and drained:
            break
        if not busy:
            select.select([channel], [], [], 0.2)
    code = channel.recv_exit_status()
    channel.close()
    return code, b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace")


def _open_chain(target: SshTarget) -> list[paramiko.SSHClient]:
    """Clients from the first ProxyJump hop to ``target`` (the last one is ``target``'s)."""
    hops: list[SshTarget] = []
    hop: SshTarget | None = target
    while hop is not None:
        hops.insert(0, hop)
        hop = hop.jump
    clients: list[paramiko.SSHClient] = []
    try:
        for hop in hops:
            sock = None
            if clients:
                outer = clients[-1].get_transport()
                assert outer is not None
                try:
                    sock = outer.open_channel("direct-tcpip", (hop.host, hop.port), ("127.0.0.1", 0))
                except Exception as exc:  # noqa: BLE001 - paramiko.ChannelException and friends
                    raise PreflightError(
                        f"ssh {target.alias}: the jump host {hops[len(clients) - 1]} "
                        f"cannot reach {hop.host}:{hop.port}: {exc}"
                    ) from exc
            clients.append(_open_one(hop, sock, target))
    except BaseException:
        for client in reversed(clients):
            client.close()
        raise
    return clients


def _open_one(hop: SshTarget, sock: Any, target: SshTarget) -> paramiko.SSHClient:
    import paramiko

    client = paramiko.SSHClient()
    for path in hop.known_hosts:
        if Path(path).is_file():
            client.load_host_keys(path)  # the first file loaded is where new keys are saved
    save_to = next((p for p in hop.known_hosts if Path(p).is_file()), hop.known_hosts[0] if hop.known_hosts else None)
    client.set_missing_host_key_policy(_remember(save_to) if hop.accept_new_host_keys else paramiko.RejectPolicy())
    via = f" (through {target.jump})" if hop is target and target.jump else ""
    name = f"ssh {hop}{via}"
    started = time.monotonic()
    try:
        client.connect(
            hop.host, port=hop.port, username=hop.user, key_filename=list(hop.identity_files) or None,  # type: ignore[arg-type]
            timeout=hop.connect_timeout, banner_timeout=hop.connect_timeout, auth_timeout=hop.connect_timeout,
            allow_agent=True, look_for_keys=True, sock=sock, password=None, passphrase=None,
        )  # fmt: skip
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise PreflightError(
            f"{name}: the host key changed (expected {exc.expected_key.get_name()} "
            f"{exc.expected_key.get_base64()[:16]}..., got another): refusing to connect",
            hint="if the host was reinstalled, remove its old line from known_hosts",
        ) from exc
    except paramiko.AuthenticationException as exc:
        client.close()
        raise PreflightError(
            f"{name}: the server refused the keys offered ({exc})",
            hint="check execution.username and the key "
            "(execution.ssh_key_file, ssh-add, or IdentityFile in ~/.ssh/config)",
        ) from exc
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise PreflightError(
                f"{name}: the host key of {hop.host} is not in known_hosts ({', '.join(hop.known_hosts) or 'none'})",
                hint="connect once with ssh to check and accept it, or set execution.ssh_accept_new_host_keys=true",
            ) from exc
        raise PreflightError(f"{name}: {exc}") from exc
    except TimeoutError as exc:
        client.close()
        raise PreflightError(
            f"{name}: no answer within {time.monotonic() - started:.0f}s",
            hint="check execution.hostname and that the cluster is reachable from here",
        ) from exc
    except OSError as exc:
        client.close()
        why = exc.strerror or str(exc)
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            why = "connection refused"
        raise PreflightError(
            f"{name}: cannot connect: {why}", hint="check execution.hostname and the SSH port"
        ) from exc
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(30)
    return client


def _remember(save_to: str | None) -> paramiko.MissingHostKeyPolicy:
    """A policy that accepts an unknown host key and saves it (OpenSSH's ``StrictHostKeyChecking=accept-new``)."""
    import paramiko

    class Remember(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
            client.get_host_keys().add(hostname, key.get_name(), key)
            if save_to:
                Path(save_to).parent.mkdir(parents=True, exist_ok=True)
                with open(save_to, "a") as stream:
                    stream.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")

    return Remember()
