"""Auto-export to the real MLflow server: a local run and a Slurm run export each job once it succeeds.

Needs the services of ``scripts/infra.sh``: the model server (llm), Slurm, and MLflow. The
destination's tracking URI is given by reference (the name of a variable), and a credential
variable MLflow's client reads is set: neither value may be written anywhere by NEL.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import job_states, write_config

pytestmark = pytest.mark.integration

SECRET = f"mlflow-token-{uuid.uuid4().hex}"

COMMON = """
target:
  api_endpoint:
    url: {url}/completions
    model_id: {model}
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: 2, parallelism: 1, max_retries: 1, request_timeout: 60}}
  tasks:
    - name: nel_bench.arithmetic
      endpoint_type: completions
export:
  mlflow:
    tracking_uri: NEL_TEST_MLFLOW_URI
    experiment_name: {experiment}
    tags: {{origin: auto-export}}
"""
LOCAL = """
defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: process
  auto_export:
    destinations: [mlflow]
"""
SLURM = """
defaults:
  - execution: slurm/default
  - deployment: none
  - _self_
execution:
  hostname: localhost
  account: nel
  partition: {partition}
  gres: null
  walltime: "00:15:00"
  sbatch_extra_flags: {{}}
  container_runtime: none
  venv: {venv}
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  auto_export:
    destinations: [mlflow]
"""


def _needs(*names: str) -> dict[str, str]:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: scripts/infra.sh start; eval \"$(scripts/infra.sh env)\"")
    return {n: os.environ[n] for n in names}


def _runs_of(uri: str, experiment: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id])) if found else []


def _check(nel: Any, tmp_path: Path, config: Path, env: dict[str, str], experiment: str) -> None:
    extra = {"MLFLOW_TRACKING_TOKEN": SECRET, "MLFLOW_DISABLE_TELEMETRY": "true"}
    invocation = json.loads(nel("run", "--config", str(config), "--wait", "--json", extra_env=extra).stdout)
    invocation_id = invocation["invocation_id"]
    assert job_states(nel, invocation_id) == {f"{invocation_id}.0": "success"}
    [run] = _runs_of(env["NEL_TEST_MLFLOW_URI"], experiment)
    assert run.data.tags["job_id"] == f"{invocation_id}.0" and run.data.tags["origin"] == "auto-export"
    assert any(key.startswith("arithmetic_") for key in run.data.metrics), run.data.metrics
    for _ in range(2):  # later commands find it recorded and export nothing more
        nel("status", invocation_id, extra_env=extra)
    assert len(_runs_of(env["NEL_TEST_MLFLOW_URI"], experiment)) == 1
    home = Path(os.environ.get("NEL_TEST_HOME", "/tmp/nel-integration-home"))
    for root in (home, tmp_path / "out"):
        for path in root.rglob("*"):
            if path.is_file() and path.stat().st_size < 50_000_000 and "venvs" not in path.parts:
                assert SECRET.encode() not in path.read_bytes(), path


def test_local_run_is_exported_when_it_succeeds(nel: Any, tmp_path: Path) -> None:
    """A local run with ``auto_export.destinations: [mlflow]`` ends with one MLflow run per job, once."""
    env = _needs("NEL_TEST_MLFLOW_URI", "NEL_TEST_LLM_URL", "NEL_TEST_LLM_MODEL")
    experiment = f"auto-local-{uuid.uuid4().hex[:8]}"
    common = COMMON.format(url=env["NEL_TEST_LLM_URL"], model=env["NEL_TEST_LLM_MODEL"], experiment=experiment)
    body = LOCAL.format() + common
    _check(nel, tmp_path, write_config(tmp_path / "local.yaml", body), env, experiment)


def test_slurm_run_is_exported_when_it_succeeds(nel: Any, tmp_path: Path) -> None:
    """A Slurm run (login node, runtime none) is exported to MLflow by the command that sees it succeed."""
    env = _needs("NEL_TEST_MLFLOW_URI", "NEL_TEST_LLM_URL", "NEL_TEST_LLM_MODEL", "NEL_TEST_SLURM_PARTITION")
    venv = os.environ.get("NEL_TEST_HARNESS_VENV") or sys.prefix
    experiment = f"auto-slurm-{uuid.uuid4().hex[:8]}"
    body = SLURM.format(partition=env["NEL_TEST_SLURM_PARTITION"], venv=venv) + COMMON.format(
        url=env["NEL_TEST_LLM_URL"], model=env["NEL_TEST_LLM_MODEL"], experiment=experiment
    )
    _check(nel, tmp_path, write_config(tmp_path / "slurm.yaml", body), env, experiment)
