"""Fixtures of the end-to-end tier: the real `nel` program, the real harness, a real model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEL = [sys.executable, "-m", "nel_cli"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def nel_home() -> Path:
    """A NEL_HOME shared by the session, so harness and server venvs are built once."""
    home = Path(os.environ.get("NEL_TEST_HOME", "/tmp/nel-integration-home"))
    home.mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture
def nel(nel_home: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real CLI with NEL_HOME and an output dir of this test."""
    env = {**os.environ, "NEL_HOME": str(nel_home), "NEL_OUTPUT_DIR": str(tmp_path / "out"),
           "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0"}

    def run(
        *args: str, timeout: float = 900, check: bool = True, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*NEL, *args], env={**env, **(extra_env or {})}, cwd=tmp_path,
                                capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"nel {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    return run


def write_config(path: Path, body: str) -> Path:
    """Write a config file and return its path."""
    path.write_text(body)
    return path


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def job_states(nel: Callable[..., subprocess.CompletedProcess[str]], invocation: str) -> dict[str, str]:
    """Job id -> state, from `nel status --json`."""
    data = json.loads(nel("status", invocation, "--json").stdout)
    return {job["id"]: job["state"] for inv in data for job in inv["jobs"]}
