"""Integration tier: the real nemo-evaluator runs nel_bench (and a real LLM answers).

Needs a virtual environment with ``nemo-evaluator==0.1.95`` (NEL_TEST_HARNESS_VENV)
and, for the LLM tests, the base URL of an OpenAI-compatible server such as
llama.cpp's (NEL_TEST_LLM_URL, e.g. http://127.0.0.1:8018/v1; model name in
NEL_TEST_LLM_MODEL, default gemma-3-270m). The harness is taken from this
source tree through PYTHONPATH, so the venv need not have it installed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SRC = Path(__file__).resolve().parents[1] / "src"
VENV = os.environ.get("NEL_TEST_HARNESS_VENV")
LLM_URL = os.environ.get("NEL_TEST_LLM_URL")
MODEL = os.environ.get("NEL_TEST_LLM_MODEL", "gemma-3-270m")

needs_venv = pytest.mark.skipif(
    not VENV, reason="set NEL_TEST_HARNESS_VENV to a venv with nemo-evaluator==0.1.95"
)
needs_llm = pytest.mark.skipif(
    not (VENV and LLM_URL),
    reason="set NEL_TEST_HARNESS_VENV and NEL_TEST_LLM_URL (base URL, e.g. http://127.0.0.1:8018/v1)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict:
    """The environment NEL's process runtime gives the harness."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV}/bin{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env["NEMO_EVALUATOR_TELEMETRY_LEVEL"] = "0"
    # Its own port, so parallel runs (and other jobs on 3825) do not clash.
    env["ADAPTER_PORT"] = str(_free_port())
    return env


def _run_eval(tmp_path: Path, task: str, endpoint: str, url: str, **params: object) -> dict:
    """Run ``nemo-evaluator run_eval`` and return its results.yml as a dict."""
    out = tmp_path / "out"
    config = {
        "config": {
            "type": f"nel_bench.{task}",
            "output_dir": str(out),
            "params": {"parallelism": 2, "request_timeout": 120, "temperature": 0.0, **params},
        },
        "target": {"api_endpoint": {"url": url, "model_id": MODEL, "type": endpoint}},
    }
    # JSON is valid YAML: no YAML library needed in the test's own environment.
    (tmp_path / "run_config.yml").write_text(json.dumps(config))
    command = [
        f"{VENV}/bin/nemo-evaluator",
        "run_eval",
        "--run_config",
        str(tmp_path / "run_config.yml"),
    ]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    to_json = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    dumped = subprocess.run(
        [f"{VENV}/bin/python", "-c", to_json, str(out / "results.yml")],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(dumped.stdout)


@needs_venv
def test_nemo_evaluator_lists_the_nel_bench_tasks() -> None:
    """`nemo-evaluator ls` finds nel_bench on PYTHONPATH with all its tasks."""
    command = [f"{VENV}/bin/nemo-evaluator", "ls"]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "nel_bench:" in done.stdout
    for task in ("arithmetic", "capitals", "mini"):
        assert f"* {task}" in done.stdout


@needs_llm
@pytest.mark.parametrize(
    ("endpoint", "path"), [("chat", "/chat/completions"), ("completions", "/completions")]
)
def test_run_eval_scores_a_real_model(tmp_path: Path, endpoint: str, path: str) -> None:
    """run_eval of nel_bench.arithmetic against a real LLM writes 5 scored samples."""
    results = _run_eval(
        tmp_path, "arithmetic", endpoint, LLM_URL.rstrip("/") + path, limit_samples=5
    )
    metrics = results["results"]["tasks"]["arithmetic"]["metrics"]
    correct = metrics["accuracy"]["scores"]["correct"]
    assert correct["stats"]["count"] == 5
    assert 0.0 <= correct["value"] <= 1.0
    assert metrics["requests"]["scores"]["failure_rate"]["value"] == 0.0


@needs_venv
def test_run_eval_against_a_dead_endpoint_writes_no_scores(tmp_path: Path) -> None:
    """Every request failing: exit 0 and results.tasks empty, which NEL fails."""
    dead = f"http://127.0.0.1:{_free_port()}/v1/chat/completions"
    results = _run_eval(tmp_path, "capitals", "chat", dead, limit_samples=2, max_retries=0)
    assert results["results"] == {"groups": {}, "tasks": {}}


class _Capacity:
    """A responder that serves ``capacity`` requests at once (50 ms each) and answers 429 beyond."""

    def __init__(self, capacity: int) -> None:
        import threading

        self.capacity = capacity
        self.in_flight = 0
        self.throttled = 0
        self._lock = threading.Lock()

    def __call__(self, path: str, headers: dict, body: dict) -> tuple[int, dict]:
        import time

        from nel_harness_stub import openai_answer

        with self._lock:
            if self.in_flight >= self.capacity:
                self.throttled += 1
                return 429, {"error": {"message": "server full", "code": 429}}
            self.in_flight += 1
        try:
            time.sleep(0.05)
            answer = openai_answer(body, "42")
            answer["usage"] = {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}
            return 200, answer
        finally:
            with self._lock:
                self.in_flight -= 1


@needs_venv
def test_the_gate_adapts_a_fixed_harness_to_the_servers_capacity(
    tmp_path: Path, stub_server
) -> None:
    """parallelism auto for a harness with a fixed pool: 8 requests at once reach nemo-evaluator's
    adapter proxy, whose chain NEL's gate joined; the gate settles at the server's capacity (2),
    and the 429s of its probes never reach the harness (the proxy passed on only 200s)."""
    capacity = _Capacity(2)
    server = stub_server(capacity)
    out = tmp_path / "out"
    config = {
        "config": {
            "type": "nel_bench.mini",
            "output_dir": str(out),
            "params": {
                "parallelism": 8,
                "limit_samples": 60,
                "max_retries": 0,
                "max_new_tokens": 8,
            },
        },
        "target": {
            "api_endpoint": {
                "url": f"{server.base_url}/completions",
                "model_id": "m",
                "type": "completions",
            }
        },
    }
    run_config = tmp_path / "run_config.yml"
    run_config.write_text(json.dumps(config))
    env = _env()
    prepare = [
        f"{VENV}/bin/python",
        "-m",
        "core_evals.nel_bench.adaptive",
        str(run_config),
        "--maximum",
        "8",
    ]
    for _ in range(2):  # the second time finds the gate there and changes nothing
        done = subprocess.run(prepare, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "nel_adaptive_endpoint" in run_config.read_text()
    assert run_config.read_text().count("nel_adaptive_endpoint") == 1
    command = [f"{VENV}/bin/nemo-evaluator", "run_eval", "--run_config", str(run_config)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    chosen = json.loads((out / "nel_concurrency.json").read_text())
    assert chosen["mode"] == "auto" and chosen["maximum"] == 8
    assert chosen["parallelism"] == 2
    assert chosen["tokens_per_s"] > 0 and chosen["requests"] == 60
    assert capacity.throttled > 0  # it probed past the capacity...
    stats = json.loads((out / "eval_factory_metrics.json").read_text())["response_stats"]
    assert stats["status_codes"] == {"200": 60}  # ...and the harness never saw those 429s
    counts = json.loads((out / "nel_requests.json").read_text())
    assert counts["failed"] == 0 and counts["parallelism"] == 8  # the harness kept its fixed pool
