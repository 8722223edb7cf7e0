"""Fixtures of nel-ssh's tests: the OpenSSH server that scripts/infra.sh starts on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from nel_ssh import SshTarget, close_all


@pytest.fixture(scope="session")
def sshd() -> dict[str, str]:
    """The test server's address, users, client key and known_hosts (``scripts/infra.sh env sshd``)."""
    names = ("HOST", "PORT", "USER", "USER_NONROOT", "KEY", "KNOWN_HOSTS")
    values = {name.lower(): os.environ.get(f"NEL_TEST_SSH_{name}", "") for name in names}
    if not all(values.values()):
        pytest.skip("no test SSH server: run 'scripts/infra.sh start sshd' and eval its env")
    return values


@pytest.fixture
def target(sshd: dict[str, str]) -> SshTarget:
    """Root on the test server, with the test key and known_hosts."""
    return SshTarget(
        alias="test-sshd", host=sshd["host"], port=int(sshd["port"]), user=sshd["user"],
        identity_files=(sshd["key"],), known_hosts=(sshd["known_hosts"],),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _closed() -> Iterator[None]:
    yield
    close_all()
