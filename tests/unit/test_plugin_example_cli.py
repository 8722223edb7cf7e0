"""The third party's executor (``execution: procs`` from tests/plugin_example) driven by `nel`:
run, status, logs, kill and resume, with the real harness (nel_bench in nemo-evaluator) against
a small OpenAI-compatible stand-in on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nel_core.host.processes import alive

from .conftest import Nel

CONFIG = """
defaults:
  - execution: procs
  - _self_
execution:
  output_dir: {out}
target:
  api_endpoint:
    url: {url}
    model_id: stub
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: 3, parallelism: 1, max_retries: 0, request_timeout: 30}}
  tasks:
    - name: nel_bench.capitals
      endpoint_type: completions
"""


class _Stub(http.server.BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self._answer({"data": [{"id": "stub"}]})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(type(self).delay)
        self._answer({"choices": [{"index": 0, "text": " Paris", "finish_reason": "stop"}]})

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[type[_Stub]]:
    """The stand-in endpoint; set ``stub.delay`` to slow its answers."""
    handler = type("Stub", (_Stub,), {"delay": 0.0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/v1/completions"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()


def _config(nel: Nel, url: str) -> str:
    return str(nel.write("procs.yaml", CONFIG.format(out=nel.out, url=url)))


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


def test_run_status_logs_with_the_plugin_executor(nel: Nel, stub: Any, env: dict[str, str]) -> None:
    """`nel run --wait` with `- execution: procs` succeeds with scores; status and logs report it."""
    result = nel("run", "--config", _config(nel, stub.url), "--wait", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    invocation = json.loads(result.stdout)["invocation_id"]
    assert _states(nel, invocation) == {f"{invocation}.0": "success"}
    assert "nel_bench" in nel("logs", f"{invocation}.0", env=env).stdout
    info = json.loads(nel("info", invocation, "--json", env=env).stdout)
    assert 0 < info["jobs"][0]["scores"]["capitals.accuracy.correct"] < 1  # "Paris" to every question


def test_kill_then_resume_with_the_plugin_executor(nel: Nel, stub: Any, env: dict[str, str]) -> None:
    """A running procs job is killed (nothing of it left), then resumed in place to success."""
    stub.delay = 3.0
    result = nel("run", "--config", _config(nel, stub.url), "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    invocation = json.loads(result.stdout)["invocation_id"]
    assert set(_wait(nel, invocation, {"running"}).values()) == {"running"}
    assert nel("kill", invocation, env=env).returncode == 0
    assert _states(nel, invocation) == {f"{invocation}.0": "killed"}
    pid_file = next(nel.out.glob(f"{invocation}/*/job.pid"))
    assert not alive(pid_file.read_text().strip())  # gone, or a zombie left to be reaped
    stub.delay = 0.0
    assert nel("resume", invocation, env=env).returncode == 0
    assert _wait(nel, invocation, {"success", "failed", "killed"}) == {f"{invocation}.0": "success"}
