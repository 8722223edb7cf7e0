"""Concurrent first use of NEL_HOME: eight `nel run` at once on a fresh home all succeed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import NEL, write_config

pytestmark = pytest.mark.integration

CONFIG = """
defaults:
  - execution: local
  - _self_
execution:
  output_dir: {out}
  runtime: process
target:
  api_endpoint:
    url: {url}/completions
    model_id: {model}
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: 2, parallelism: 1, max_retries: 1, request_timeout: 120}}
  tasks:
    - name: nel_bench.capitals
      endpoint_type: completions
"""

RUNS = 8


def test_eight_runs_at_once_on_a_fresh_home(tmp_path: Path) -> None:
    """Eight runs started together on an empty NEL_HOME build its caches once and all succeed."""
    url, model = os.environ.get("NEL_TEST_LLM_URL"), os.environ.get("NEL_TEST_LLM_MODEL")
    if not url or not model:
        pytest.skip("NEL_TEST_LLM_URL and NEL_TEST_LLM_MODEL are set by scripts/infra.sh env")
    home = tmp_path / "fresh-home"
    env = {**os.environ, "NEL_HOME": str(home), "NEMO_EVALUATOR_TELEMETRY_LEVEL": "0"}
    runs = []
    for index in range(RUNS):
        config = write_config(tmp_path / f"run{index}.yaml", CONFIG.format(out=tmp_path / "out", url=url, model=model))
        runs.append(subprocess.Popen([*NEL, "run", "--config", str(config), "--wait", "--json"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    outcomes = [(run.wait(timeout=1200), *run.communicate()) for run in runs]
    failed = [err[-1500:] for code, _, err in outcomes if code != 0]
    assert failed == [], failed
    ids = {json.loads(out)["invocation_id"] for _, out, _ in outcomes}
    assert len(ids) == RUNS
    status = json.loads(subprocess.run([*NEL, "status", *ids, "--json"], env=env, capture_output=True,
                                       text=True, check=True).stdout)  # fmt: skip
    assert [job["state"] for inv in status for job in inv["jobs"]] == ["success"] * RUNS
    assert len(list((home / "venvs").glob("*/.nel-ready"))) == 1, "one environment, built once"
