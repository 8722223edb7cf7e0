"""The third party's executor (``execution: procs`` from tests/plugin_example) driven by `nel`:
run, status, logs, kill and resume, with the real harness (nel_bench in nemo-evaluator) against
a small OpenAI-compatible stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nel_core.host.processes import alive

from .conftest import Nel, procs_config


def _config(nel: Nel, url: str) -> str:
    return str(nel.write("procs.yaml", procs_config(nel.out, url)))


def _states(nel: Nel, invocation: str) -> dict[str, str]:
    data = json.loads(nel("status", invocation, "--json").stdout)
    return {job["id"]: job["state"] for inv in data for job in inv["jobs"]}


def _wait(nel: Nel, invocation: str, wanted: set[str], timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        states = _states(nel, invocation)
        if set(states.values()) <= wanted or time.monotonic() > deadline:
            return states
        time.sleep(0.3)


@pytest.fixture
def env() -> dict[str, str]:
    """nemo-evaluator (beside this interpreter) on PATH; telemetry off."""
    return {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0"}  # fmt: skip


def test_run_status_logs_with_the_plugin_executor(nel: Nel, stand_in: Any, env: dict[str, str]) -> None:
    """`nel run --wait` with `- execution: procs` succeeds with scores; status and logs report it."""
    result = nel("run", "--config", _config(nel, stand_in.url), "--wait", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    invocation = json.loads(result.stdout)["invocation_id"]
    assert _states(nel, invocation) == {f"{invocation}.0": "success"}
    assert "nel_bench" in nel("logs", f"{invocation}.0", env=env).stdout
    info = json.loads(nel("info", invocation, "--json", env=env).stdout)
    assert 0 < info["jobs"][0]["scores"]["capitals.accuracy.correct"] < 1  # "Paris" to every question


def test_kill_then_resume_with_the_plugin_executor(nel: Nel, stand_in: Any, env: dict[str, str]) -> None:
    """A running procs job is killed (nothing of it left), then resumed in place to success."""
    stand_in.delay = 3.0
    result = nel("run", "--config", _config(nel, stand_in.url), "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    invocation = json.loads(result.stdout)["invocation_id"]
    assert set(_wait(nel, invocation, {"running"}).values()) == {"running"}
    assert nel("kill", invocation, env=env).returncode == 0
    assert _states(nel, invocation) == {f"{invocation}.0": "killed"}
    pid_file = next(nel.out.glob(f"{invocation}/*/job.pid"))
    assert not alive(pid_file.read_text().strip())  # gone, or a zombie left to be reaped
    stand_in.delay = 0.0
    assert nel("resume", invocation, env=env).returncode == 0
    assert _wait(nel, invocation, {"success", "failed", "killed"}) == {f"{invocation}.0": "success"}
