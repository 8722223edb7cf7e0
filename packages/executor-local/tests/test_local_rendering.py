"""What the local executor renders (no backend contacted): mounts, extra docker arguments, the server's line."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


NIM = REPO / "examples" / "local_nim.yaml"


def dry_run(tmp_path: Path, *overrides: str, config: Path = NIM) -> str:
    """The dry run of ``config`` (examples/local_nim.yaml) with the docker runtime and ``overrides``."""
    env = {**os.environ, "NEL_HOME": str(tmp_path / "home"), "NGC_API_KEY": "k", "HF_TOKEN": "t", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "nel_cli", "run", "--config", str(config), "--dry-run",
         "-o", f"execution.output_dir={tmp_path / 'out'}", "-o", "execution.runtime=docker",
         *[arg for override in overrides for arg in ("-o", override)]],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def section(output: str, name: str) -> str:
    """The text of the file ``name`` (its path's end) in a dry run's output."""
    parts = output.split("\n===== ")
    return next(part.split(" =====\n", 1)[1] for part in parts if part.split(" =====")[0].endswith(name))


def test_deployment_mounts_and_extra_args_reach_the_server(tmp_path: Path) -> None:
    """execution.mounts.deployment (with ~ expanded) and extra_docker_args are on the server's docker line."""
    line = section(dry_run(tmp_path), "deployment.sh")
    assert f"-v {tmp_path}/.cache/nim:/opt/nim/.cache" in line
    assert "--shm-size=16g nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.6" in line
    assert "-e NGC_API_KEY" in line and "=k" not in line


def test_evaluation_mounts_and_extra_args_reach_the_jobs(tmp_path: Path) -> None:
    """execution.mounts.evaluation and extra_docker_args are on every job's docker line."""
    config = tmp_path / "nim.yaml"
    evaluation = "  mounts:\n    evaluation:\n      /data/sets: /datasets\n"
    config.write_text(NIM.read_text().replace("  mounts:\n", evaluation))
    script = section(dry_run(tmp_path, config=config), "0-lm-evaluation-harness.ifeval/run.sh")
    assert "-v /data/sets:/datasets" in script
    assert "--shm-size=16g nvcr.io/nvidia/eval-factory/lm-evaluation-harness" in script


def test_without_extra_args_jobs_run_through_the_engine_api(tmp_path: Path) -> None:
    """With no extra docker arguments, a job's container runs through the runtime's API (container_job)."""
    output = dry_run(tmp_path, "execution.extra_docker_args=")
    script = section(output, "0-lm-evaluation-harness.ifeval/run.sh")
    assert "-m nel_executor_local.container_job container.json" in script
    spec = json.loads(section(output, "0-lm-evaluation-harness.ifeval/container.json"))
    assert spec["runtime"] == "docker" and spec["spec"]["extra_args"] == []


def test_evaluation_mounts_need_a_container_runtime(tmp_path: Path) -> None:
    """Mounting paths into jobs that run without containers is refused at launch, naming the key."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = tmp_path / "run.yaml"
    config.write_text(
        "defaults:\n  - execution: local\n  - _self_\n"
        f"execution:\n  output_dir: {tmp_path / 'out'}\n  runtime: process\n"
        f"  mounts:\n    evaluation:\n      {tmp_path}: /datasets\n"
        f"target:\n  api_endpoint:\n    url: http://127.0.0.1:{server.server_address[1]}/v1\n    model_id: m\n"
        "evaluation:\n  tasks:\n    - name: nel_bench.capitals\n"
    )
    env = {**os.environ, "NEL_HOME": str(tmp_path / "home")}
    try:
        result = subprocess.run([sys.executable, "-m", "nel_cli", "run", "--config", str(config)],
                                capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    finally:
        server.shutdown()
    assert result.returncode == 1, result.stderr
    expected = "error: execution.mounts.evaluation: the process runtime cannot mount"
    assert result.stderr.startswith(expected), result.stderr
    assert not (tmp_path / "out").exists()
