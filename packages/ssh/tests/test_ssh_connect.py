"""Connecting as OpenSSH does: config aliases, ProxyJump, host keys, keys, and one shared connection."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import attrs
import pytest

from nel_core.errors import PreflightError
from nel_ssh import SshTarget, SshTransport, connect, resolve_target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, sshd: dict[str, str], extra: str = "") -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(
        f"Host cluster\n  HostName {sshd['host']}\n  Port {sshd['port']}\n  User {sshd['user_nonroot']}\n"
        f"  IdentityFile {sshd['key']}\n  UserKnownHostsFile {sshd['known_hosts']}\n{extra}"
    )
    return path


def test_alias_of_the_ssh_config_gives_host_port_user_and_key(tmp_path: Path, sshd: dict[str, str]) -> None:
    """A Host alias resolves to its HostName, Port, User, IdentityFile and known_hosts, and logs in."""
    target = resolve_target("cluster", config_file=str(_config(tmp_path, sshd)))
    assert (target.host, target.port, target.user) == (sshd["host"], int(sshd["port"]), sshd["user_nonroot"])
    assert target.identity_files == (sshd["key"],)
    assert SshTransport(target).run(["whoami"])[1].strip() == sshd["user_nonroot"]


def test_explicit_values_win_over_the_ssh_config(tmp_path: Path, sshd: dict[str, str]) -> None:
    """execution.username and the port given by NEL's config override the SSH config's."""
    target = resolve_target("cluster", username="root", port=22022, config_file=str(_config(tmp_path, sshd)))
    assert (target.user, target.port) == ("root", 22022)


def test_proxy_jump_reaches_the_host_through_another(tmp_path: Path, sshd: dict[str, str]) -> None:
    """ProxyJump tunnels through the jump host (here the same server), and commands run at the end."""
    extra = (
        f"Host inner\n  HostName 127.0.0.1\n  Port {sshd['port']}\n  User root\n  IdentityFile {sshd['key']}\n"
        f"  UserKnownHostsFile {sshd['known_hosts']}\n  ProxyJump cluster\n"
    )
    target = resolve_target("inner", config_file=str(_config(tmp_path, sshd, extra)))
    assert target.jump is not None and target.jump.user == sshd["user_nonroot"]
    code, out, _ = SshTransport(target).run_script("whoami; echo ${SSH_CONNECTION%% *}")
    assert code == 0 and out.split() == ["root", "127.0.0.1"]


def test_one_connection_serves_every_command_and_file(target: SshTarget, tmp_path: Path) -> None:
    """connect() shares one connection: the server sees the same client port for every command."""
    transport = connect(target)
    assert connect(attrs.evolve(target)) is transport
    ports = {transport.run_script("echo $SSH_CONNECTION")[1].split()[1] for _ in range(5)}
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    transport.put_tree(tmp_path / "d", "/tmp/nel-ssh-one-connection")
    transport.read_file("/tmp/nel-ssh-one-connection/f")
    transport.remove_tree("/tmp/nel-ssh-one-connection")
    assert len(ports) == 1 and transport.connections == 1


def test_unknown_host_key_is_refused(target: SshTarget, tmp_path: Path) -> None:
    """A host not in known_hosts is refused with a hint, unless new keys are accepted."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(PreflightError, match="not in known_hosts") as refused:
        SshTransport(attrs.evolve(target, known_hosts=(str(empty),))).run(["true"])
    assert "ssh_accept_new_host_keys" in (refused.value.hint or "")


def test_accepting_new_host_keys_remembers_them(target: SshTarget, tmp_path: Path) -> None:
    """With accept_new_host_keys a new host is accepted and its key saved for next time."""
    known = tmp_path / "known_hosts"
    known.write_text("")
    SshTransport(attrs.evolve(target, known_hosts=(str(known),), accept_new_host_keys=True)).run(["true"])
    assert f"[{target.host}]:{target.port} ssh-ed25519 " in known.read_text()
    assert SshTransport(attrs.evolve(target, known_hosts=(str(known),))).run(["true"])[0] == 0


def test_changed_host_key_is_refused(target: SshTarget, tmp_path: Path) -> None:
    """A host whose key differs from known_hosts' is refused (never silently replaced)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{target.host}]:{target.port} {' '.join(other)}\n")
    with pytest.raises(PreflightError, match="host key changed"):
        SshTransport(attrs.evolve(target, known_hosts=(str(known),), accept_new_host_keys=True)).run(["true"])


def test_wrong_key_is_refused(target: SshTarget, tmp_path: Path) -> None:
    """A key the server does not know fails with a one-line reason naming the user and host."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "wrong")], check=True)
    with pytest.raises(PreflightError, match=f"ssh {target.user}@{target.host}.*refused") as refused:
        SshTransport(attrs.evolve(target, identity_files=(str(tmp_path / "wrong"),))).run(["true"])
    assert "\n" not in refused.value.message


def test_unreachable_host_is_a_clear_error(target: SshTarget) -> None:
    """Nothing listening on the port: connection refused, with a hint."""
    with pytest.raises(PreflightError, match="cannot connect: connection refused"):
        SshTransport(attrs.evolve(target, port=_free_port())).run(["true"])
