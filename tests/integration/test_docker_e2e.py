"""`nel run` with the docker runtime, on Docker Engine and on Podman: the real harness in a
locally built image (never pulled) against the real llama.cpp server of the test services."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, job_states, wait_for, write_config

pytestmark = pytest.mark.integration

ENGINES = {"docker": "NEL_TEST_DOCKER_HOST", "podman": "NEL_TEST_PODMAN_HOST"}
IMAGE = "localhost/nel/nel-bench:latest"

CONFIG = """
defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: docker
  docker_host: {host}
target:
  api_endpoint:
    url: {llm}/completions
    model_id: gemma-3-270m
    type: completions
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: {limit}, parallelism: 1, request_timeout: 60}}
  tasks:
    - name: nel_bench.capitals
"""


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    """The socket of one engine, with NEL's benchmark image built on it."""
    host = os.environ.get(ENGINES[request.param])
    llm = os.environ.get("NEL_TEST_LLM_URL")
    if not host or not llm:
        pytest.skip(f"{ENGINES[request.param]} and NEL_TEST_LLM_URL are set by scripts/infra.sh env")
    subprocess.run([str(REPO / "scripts" / "build-harness-image.sh")], check=True,
                   env={**os.environ, "DOCKER_HOST": host}, timeout=900)  # fmt: skip
    return host


def containers_of(host: str, invocation: str) -> list[str]:
    """Every container (running or not) labelled with the invocation."""
    import docker

    client = docker.DockerClient(base_url=host)
    try:
        found = client.containers.list(all=True, filters={"label": f"nel.invocation={invocation}"})
        return [c.id for c in found]
    finally:
        client.close()


def test_job_runs_in_a_container_and_writes_results(nel, engine: str, tmp_path: Path) -> None:
    """The harness runs in its container, writes results.yml, succeeds, and its container is gone."""
    body = CONFIG.format(host=engine, llm=os.environ["NEL_TEST_LLM_URL"], limit=3)
    config = write_config(tmp_path / "docker.yaml", body)
    result = nel("run", "--config", str(config), "--wait", "--json")
    invocation = json.loads(result.stdout)["invocation_id"]
    assert job_states(nel, invocation) == {f"{invocation}.0": "success"}
    job_dir = next((tmp_path / "out" / invocation).glob("0-*"))
    assert (job_dir / "artifacts" / "results.yml").exists()
    assert (tmp_path / "out" / invocation / "runtime").read_text().strip() == "docker"
    assert containers_of(engine, invocation) == []


def test_kill_leaves_no_container(nel, engine: str, tmp_path: Path) -> None:
    """`nel kill` of a running containerized job stops it and removes its container."""
    body = CONFIG.format(host=engine, llm=os.environ["NEL_TEST_LLM_URL"], limit=60)
    config = write_config(tmp_path / "docker.yaml", body)
    invocation = json.loads(nel("run", "--config", str(config), "--json").stdout)["invocation_id"]
    wait_for(lambda: bool(containers_of(engine, invocation)), 120, "the container to start")
    job_dir = next((tmp_path / "out" / invocation).glob("0-*"))
    wait_for(lambda: (job_dir / "stage.running").exists(), 120, "the job to run")
    nel("kill", invocation)
    assert job_states(nel, invocation) == {f"{invocation}.0": "killed"}
    wait_for(lambda: not containers_of(engine, invocation), 60, "the container to be removed")
