"""End to end: an endpoint that fails some requests, the real nemo-evaluator and nel_bench, the outcome.

`nel run` with the local executor and the process runtime runs NEL's benchmark through
nemo-evaluator 0.1.95 (its adapter proxy on, as by default) against a stand-in
OpenAI-compatible endpoint that answers 503 to a chosen share of requests. Failed requests are
the endpoint's failure: past evaluation.max_failure_rate the job fails saying so, below it the
job succeeds and `status` and `info` show the rate.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_config
from failing_endpoint import FailingEndpoint

pytestmark = pytest.mark.integration

CONFIG = """
defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: ${{oc.env:NEL_OUTPUT_DIR}}
  runtime: process
target:
  api_endpoint:
    url: {url}
    model_id: nobody
    type: {endpoint_type}
evaluation:
  nemo_evaluator_config:
    config:
      params: {{limit_samples: {samples}, max_retries: 0, parallelism: 2, request_timeout: 10}}
  tasks:
    - name: {task}
"""


@pytest.fixture
def failing() -> Iterator[list[FailingEndpoint]]:
    """Endpoints started by the test, stopped after it."""
    started: list[FailingEndpoint] = []
    yield started
    for endpoint in started:
        endpoint.stop()


def _run(nel, tmp_path: Path, failing: list[FailingEndpoint], *, rate: str, task: str, samples: int,
         endpoint_type: str) -> tuple[FailingEndpoint, str, str, subprocess.CompletedProcess[str]]:  # fmt: skip
    """``nel run --wait`` of ``task`` against an endpoint failing ``rate`` of its requests.

    Returns the endpoint, its URL, the invocation id and the finished ``nel run``.
    """
    endpoint = FailingEndpoint(rate).start()
    failing.append(endpoint)
    url = endpoint.url("/v1/completions" if endpoint_type == "completions" else "/v1/chat/completions")
    body = CONFIG.format(url=url, endpoint_type=endpoint_type, samples=samples, task=task)
    config = write_config(tmp_path / "run.yaml", body)
    result = nel("run", "--config", str(config), "--wait", check=False)
    invocation = re.search(r"^invocation ([0-9a-f]{8}):", result.stdout, re.MULTILINE)
    assert invocation, result.stdout + result.stderr
    return endpoint, url, invocation.group(1), result


def test_nine_of_ten_failed_requests_fail_the_job_naming_the_endpoint(nel, tmp_path: Path, failing) -> None:
    """9 of 10 requests answered 503: the job fails for its endpoint and the first HTTP error."""
    endpoint, url, invocation, result = _run(
        nel, tmp_path, failing, rate="9/10", task="nel_bench.capitals", samples=10, endpoint_type="completions"
    )
    assert (endpoint.served, endpoint.failed) == (10, 9)
    assert result.returncode == 1
    (job,) = json.loads(nel("status", invocation, "--json").stdout)[0]["jobs"]
    assert job["state"] == "failed" and job["exit_code"] == 0
    assert job["reason"] == (
        f"9 of 10 requests to {url} failed (first: HTTP 503 Service Unavailable);"
        " the endpoint, not the model, failed (evaluation.max_failure_rate is 0.05)"
    )
    assert (job["requests"], job["failed_requests"], job["failure_rate"]) == (10, 9, 0.9)
    # run --wait says why beside the harness's score (wrong answers and failed requests alike).
    assert f"9 of 10 requests to {url} failed" in result.stdout
    assert json.loads(nel("info", invocation, "--json").stdout)["jobs"][0]["scores"]
    print(f"9 of 10: {job['state']}: {job['reason']}")


def test_one_of_a_hundred_failed_requests_is_a_success_with_its_rate(nel, tmp_path: Path, failing) -> None:
    """1 of 100 requests answered 503: the job succeeds, and status and info show the rate."""
    endpoint, _, invocation, result = _run(
        nel, tmp_path, failing, rate="1/100", task="nel_bench.mini", samples=100, endpoint_type="chat"
    )
    assert (endpoint.served, endpoint.failed) == (100, 1)
    assert result.returncode == 0, result.stdout + result.stderr
    (job,) = json.loads(nel("status", invocation, "--json").stdout)[0]["jobs"]
    assert job["state"] == "success" and job["reason"] == ""
    assert (job["requests"], job["failed_requests"], job["failure_rate"]) == (100, 1, 0.01)
    info = nel("info", invocation).stdout
    assert "failed requests: 1 of 100 (1.0%); first: HTTP 503 Service Unavailable" in info
    print(f"1 of 100: {job['state']}, failure_rate {job['failure_rate']}")
