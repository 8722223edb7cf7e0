"""End to end on this host: `nel` + process runtime + the real nemo-evaluator + llama.cpp."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import NEL, free_port, job_states, wait_for, write_config

pytestmark = pytest.mark.integration

LLAMA = """
defaults:
  - execution: local
  - deployment: llama_cpp
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: process
  mode: {mode}
  max_parallel: 3
deployment:
  port: {port}
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: {limit}, parallelism: 2, max_retries: 1, request_timeout: 60}}
  tasks:
{tasks}
"""


def llama_config(tmp_path: Path, *, tasks: list[str], limit: int = 4, mode: str = "sequential") -> tuple[Path, int]:
    """A llama_cpp config of the given tasks (completions endpoint) on a free port."""
    port = free_port()
    listed = "\n".join(f"    - name: {t}\n      endpoint_type: completions" for t in tasks)
    body = LLAMA.format(port=port, limit=limit, mode=mode, tasks=listed)
    return write_config(tmp_path / "run.yaml", body), port


def invocation_of(stdout: str) -> str:
    """The invocation id printed by `nel run --json`."""
    return json.loads(stdout)["invocation_id"]


def test_run_status_logs_info_end_to_end(nel, tmp_path: Path) -> None:
    """A llama_cpp run of NEL's benchmark succeeds and status, logs and info report it."""
    config, _ = llama_config(tmp_path, tasks=["nel_bench.capitals"])
    result = nel("run", "--config", str(config), "--wait", "--json")
    invocation = invocation_of(result.stdout)
    assert job_states(nel, invocation) == {f"{invocation}.0": "success"}
    logs = nel("logs", f"{invocation}.0").stdout
    assert "nemo_evaluator" in logs or "nel_bench" in logs
    info = json.loads(nel("info", invocation, "--json").stdout)
    assert "capitals.accuracy.correct" in info["jobs"][0]["scores"]
    runs = json.loads(nel("ls", "runs", "--json").stdout)
    assert invocation in [r["invocation_id"] for r in runs]


def test_three_tasks_start_the_model_once(nel, tmp_path: Path) -> None:
    """Three tasks of one invocation share one llama.cpp server: it starts exactly once."""
    config, _ = llama_config(tmp_path, tasks=["nel_bench.capitals", "nel_bench.arithmetic", "nel_bench.mini"],
                             limit=2, mode="parallel")  # fmt: skip
    invocation = invocation_of(nel("run", "--config", str(config), "--wait", "--json").stdout)
    out = tmp_path / "out" / invocation
    assert sorted(job_states(nel, invocation).values()) == ["success"] * 3
    deployment_log = (out / "deployment.log").read_text()
    assert deployment_log.count("Uvicorn running on") == 1
    assert (out / "supervisor.log").read_text().count("starting deployment") == 1


def test_kill_stops_jobs_and_deployment_then_resume_finishes(nel, tmp_path: Path) -> None:
    """`kill` leaves no process of the invocation; `resume` re-runs the killed job to success."""
    config, port = llama_config(tmp_path, tasks=["nel_bench.mini"], limit=30)
    invocation = invocation_of(nel("run", "--config", str(config), "--json").stdout)
    job_dir = next((tmp_path / "out" / invocation).glob("0-*"))
    wait_for(lambda: (job_dir / "stage.running").exists(), 300, "the job to start")
    nel("kill", invocation)
    assert job_states(nel, invocation) == {f"{invocation}.0": "killed"}
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "out" / invocation)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
    server = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True)
    assert server.stdout.strip() == ""
    nel("resume", invocation)
    wait_for(lambda: job_states(nel, invocation)[f"{invocation}.0"] in ("success", "failed"), 600, "resume")
    assert job_states(nel, invocation) == {f"{invocation}.0": "success"}


def test_jobs_outlive_a_sigkilled_cli(nel, nel_home: Path, tmp_path: Path) -> None:
    """The CLI killed with SIGKILL right after submitting: the jobs finish and status is right."""
    config, _ = llama_config(tmp_path, tasks=["nel_bench.capitals"], limit=2)
    env = {**os.environ, "NEL_HOME": str(nel_home), "NEL_OUTPUT_DIR": str(tmp_path / "out")}
    process = subprocess.Popen([*NEL, "run", "--config", str(config), "--json"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    first = process.stdout.readline() if process.stdout else ""
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first.strip() == "{"
    runs = json.loads(nel("ls", "runs", "--json").stdout)
    invocation = runs[0]["invocation_id"]
    wait_for(lambda: job_states(nel, invocation)[f"{invocation}.0"] not in ("pending", "running"), 600, "the job")
    assert job_states(nel, invocation) == {f"{invocation}.0": "success"}


def test_harness_exiting_zero_with_empty_results_is_failed(nel, tmp_path: Path) -> None:
    """Endpoint failing every request: the harness exits 0 without scores, NEL fails the job for its endpoint."""
    port = free_port()
    # An external endpoint that answers the preflight but fails every request.
    server = subprocess.Popen(
        ["python3", "-c", (
            "import http.server as h\n"
            "class H(h.BaseHTTPRequestHandler):\n"
            "    def do_GET(s): s.send_response(200); s.end_headers()\n"
            "    def do_POST(s): s.send_response(503); s.end_headers()\n"
            f"h.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n")],
    )  # fmt: skip
    try:
        body = f"""
defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: process
target:
  api_endpoint:
    url: http://127.0.0.1:{port}/v1/completions
    model_id: nobody
    type: completions
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: 2, max_retries: 0, request_timeout: 5}}
  tasks:
    - name: nel_bench.capitals
"""
        config = write_config(tmp_path / "down.yaml", body)
        result = nel("run", "--config", str(config), "--wait", "--json", check=False)
        assert result.returncode == 1
        invocation = json.loads(result.stdout)["invocation_id"]
        status = json.loads(nel("status", invocation, "--json").stdout)[0]["jobs"][0]
        assert status["state"] == "failed"
        # Both requests failed: the endpoint is named, not a results.yml without a score.
        assert status["reason"].startswith(
            f"2 of 2 requests to http://127.0.0.1:{port}/v1/completions failed (first: HTTP 503 Service Unavailable)"
        )
        assert status["exit_code"] == 0
    finally:
        server.kill()


GENERIC = """
defaults:
  - execution: local
  - deployment: generic
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: process
  endpoint_readiness_timeout: 120
deployment:
  image: null
  command: {command}
  port: {port}
  served_model_name: gemma-3-270m
  endpoints:
    chat: /v1/chat/completions
    completions: /v1/completions
    health: /v1/models
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: 2, max_retries: 1}}
  tasks:
    - name: nel_bench.capitals
      endpoint_type: completions
    - name: nel_bench.arithmetic
      endpoint_type: completions
"""


def test_generic_deployment_serves_the_jobs(nel, tmp_path: Path) -> None:
    """A generic deployment (any command with a port and a health path) serves every job once."""
    venv, gguf = os.environ.get("NEL_TEST_LLM_VENV"), os.environ.get("NEL_TEST_GGUF")
    if not venv or not gguf:
        pytest.skip("NEL_TEST_LLM_VENV and NEL_TEST_GGUF are set by scripts/infra.sh env")
    port = free_port()
    command = (f"'{venv}/bin/python -m llama_cpp.server --model {gguf} --model_alias gemma-3-270m"
               f" --host 127.0.0.1 --port {port} --n_ctx 1024 --n_threads 1'")  # fmt: skip
    config = write_config(tmp_path / "generic.yaml", GENERIC.format(command=command, port=port))
    invocation = invocation_of(nel("run", "--config", str(config), "--wait", "--json").stdout)
    assert sorted(job_states(nel, invocation).values()) == ["success", "success"]
    supervisor = (tmp_path / "out" / invocation / "supervisor.log").read_text()
    assert supervisor.count("starting deployment") == 1


def test_deployment_that_dies_fails_the_jobs_with_the_reason(nel, tmp_path: Path) -> None:
    """A deployment that exits before it is healthy fails every job, saying so."""
    config = write_config(tmp_path / "dies.yaml", GENERIC.format(command="'sleep 1; exit 3'", port=free_port()))
    result = nel("run", "--config", str(config), "--wait", "--json", check=False)
    assert result.returncode == 1
    invocation = json.loads(result.stdout)["invocation_id"]
    jobs = json.loads(nel("status", invocation, "--json").stdout)[0]["jobs"]
    assert [job["state"] for job in jobs] == ["failed", "failed"]
    assert all("deployment exited before it became healthy" in job["reason"] for job in jobs)


def test_logs_follow_returns_when_the_job_ends(nel, tmp_path: Path) -> None:
    """`nel logs --follow` streams a running job's log and returns once the job has ended."""
    config, _ = llama_config(tmp_path, tasks=["nel_bench.capitals"], limit=3)
    invocation = invocation_of(nel("run", "--config", str(config), "--json").stdout)
    followed = nel("logs", f"{invocation}.0", "--follow", timeout=600).stdout
    assert job_states(nel, invocation) == {f"{invocation}.0": "success"}
    # nemo-evaluator prints the run's results last (whether or not its adapter proxy runs).
    assert "\nresults:\n" in followed and "capitals" in followed.rsplit("\nresults:\n", 1)[1]


def test_killing_one_job_leaves_the_others_running(nel, tmp_path: Path) -> None:
    """`nel kill <job id>` stops that job only; its sibling goes on to succeed on the same server."""
    config, port = llama_config(tmp_path, tasks=["nel_bench.mini", "nel_bench.capitals"], limit=12, mode="parallel")
    invocation = invocation_of(nel("run", "--config", str(config), "--json").stdout)
    first = next((tmp_path / "out" / invocation).glob("0-*"))
    wait_for(lambda: (first / "stage.running").exists(), 300, "the first job to start")
    nel("kill", f"{invocation}.0")
    wait_for(lambda: job_states(nel, invocation)[f"{invocation}.1"] not in ("pending", "running"), 600, "job 1")
    assert job_states(nel, invocation) == {f"{invocation}.0": "killed", f"{invocation}.1": "success"}
    server = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True)
    assert server.stdout.strip() == "", "the deployment is torn down after the last job"


def test_deployment_env_reaches_the_server_only(nel, tmp_path: Path) -> None:
    """deployment.env_vars reach the model server's environment, not the jobs', and no file but the 0600 one."""
    port = free_port()
    command = ("'sh -c \"env > server-env.txt; exec python3 -m http.server " + str(port) + " --bind 127.0.0.1\"'")
    body = GENERIC.format(command=command, port=port).replace(
        "  served_model_name: gemma-3-270m\n",
        "  served_model_name: gemma-3-270m\n  env_vars:\n    SERVER_TOKEN: host:NEL_TEST_SERVER_TOKEN\n",
    ).replace("health: /v1/models", "health: /")
    config = write_config(tmp_path / "env.yaml", body)
    # The stand-in server is no model: the jobs fail, which is beside the point here.
    result = nel("run", "--config", str(config), "--wait", "--json", check=False,
                 extra_env={"NEL_TEST_SERVER_TOKEN": "tok-3141592653"})  # fmt: skip
    invocation_dir = tmp_path / "out" / json.loads(result.stdout)["invocation_id"]
    server_env = (invocation_dir / "server-env.txt").read_text()
    assert "SERVER_TOKEN=tok-3141592653" in server_env
    assert (invocation_dir / "deployment.env").stat().st_mode & 0o777 == 0o600
    files = [p for p in invocation_dir.rglob("*") if p.is_file()]
    holders = sorted(p.name for p in files if "tok-3141592653" in p.read_text(errors="ignore"))
    assert holders == ["deployment.env", "server-env.txt"]
