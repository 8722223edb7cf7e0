"""Shared fixtures for nel-harness tests: import paths, the marker, stub servers."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
# src/: test the working tree even when another nel-harness is installed.
# tests/: the helper module, also under --import-mode=importlib.
for _path in (_HERE.parent / "src", _HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from nel_harness_stub import Responder, StubServer  # noqa: E402 (needs the paths above)


def pytest_configure(config: pytest.Config) -> None:
    """Register the integration marker even when pytest runs from the repo root."""
    config.addinivalue_line(
        "markers",
        "integration: runs the real nemo-evaluator against a real LLM "
        "(needs NEL_TEST_HARNESS_VENV and NEL_TEST_LLM_URL)",
    )


@pytest.fixture
def stub_server() -> Iterator[Callable[[Responder], StubServer]]:
    """Start stub servers with a given responder; all are stopped after the test."""
    started: list[StubServer] = []

    def start(responder: Responder) -> StubServer:
        server = StubServer(responder).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def free_dead_url() -> str:
    """A loopback URL where nothing listens (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
