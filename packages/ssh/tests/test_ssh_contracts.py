"""The SSH transport against core's transport contract, on the real OpenSSH server (root and a user)."""

from __future__ import annotations

import pwd
import uuid
from collections.abc import Iterator

import attrs
import pytest

from nel_core.testing.contracts import TransportContract
from nel_core.transport import Transport
from nel_ssh import SshTarget, SshTransport


class TestSshTransportContract(TransportContract):
    """Root logs in with the test key; files go over SFTP."""

    @pytest.fixture
    def transport(self, target: SshTarget) -> Iterator[Transport]:
        transport = SshTransport(target)
        yield transport
        transport.close()

    @pytest.fixture
    def remote_dir(self, transport: Transport) -> Iterator[str]:
        folder = f"/tmp/nel-ssh-test-{uuid.uuid4().hex[:8]}"
        transport.run(["mkdir", "-p", folder])
        yield folder
        transport.remove_tree(folder)


class TestSshTransportAsUserContract(TransportContract):
    """An unprivileged user logs in with the same key from its own authorized_keys."""

    @pytest.fixture
    def transport(self, target: SshTarget, sshd: dict[str, str]) -> Iterator[Transport]:
        transport = SshTransport(attrs.evolve(target, user=sshd["user_nonroot"]))
        yield transport
        transport.close()

    @pytest.fixture
    def remote_dir(self, transport: Transport, sshd: dict[str, str]) -> Iterator[str]:
        home = pwd.getpwnam(sshd["user_nonroot"]).pw_dir
        folder = f"{home}/nel-ssh-test-{uuid.uuid4().hex[:8]}"
        transport.run(["mkdir", "-p", folder])
        yield folder
        transport.remove_tree(folder)
