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
