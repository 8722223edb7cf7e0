"""``nel status`` and ``nel info`` show how many of a job's requests failed, and why a job failed for them.

The jobs are the fake executor's, held running; each then "ends" as a harness would: a score in
results.yml, its request counts in nel_requests.json, exit 0.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from nel_core.testing import write_results

from .conftest import UNUSED_URL, Nel, fake_config

FIRST_ERROR = {"status": 503, "url": "http://localhost:3825/completions", "message": "HTTP 503 from proxy"}


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _end(job_dir: Path, requests: int, failed: int) -> None:
    """End a job as nel_bench does: a low score, its request counts, exit 0."""
    write_results(job_dir / "artifacts", "capitals", {"accuracy": 0.1})
    counts = {"requests": requests, "failed": failed, "first_error": FIRST_ERROR if failed else None}
    (job_dir / "artifacts" / "nel_requests.json").write_text(json.dumps(counts))
    (job_dir / "stage.exit").write_text("0\n")


def _run(nel: Nel) -> tuple[str, list[dict[str, Any]]]:
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.capitals", "nel_bench.mini"))
    launched = _json(nel("run", "--config", "cfg.yaml", "--json", "-o", "+execution.auto_finish=false"))
    failing, flaky = (Path(job["job_dir"]) for job in launched["jobs"])
    _end(failing, 10, 9)
    _end(flaky, 100, 1)
    return launched["invocation_id"], launched["jobs"]


def test_status_json_gives_the_failure_rate_and_the_endpoints_reason(nel: Nel) -> None:
    """9 of 10 failed is FAILED naming the configured endpoint and HTTP 503; 1 of 100 is SUCCESS at 0.01."""
    invocation, _ = _run(nel)
    failing, flaky = _json(nel("status", invocation, "--json"))[0]["jobs"]
    assert failing["state"] == "failed"
    assert failing["reason"] == (
        f"9 of 10 requests to {UNUSED_URL} failed (first: HTTP 503 Service Unavailable);"
        " the endpoint, not the model, failed (evaluation.max_failure_rate is 0.05)"
    )
    assert (failing["requests"], failing["failed_requests"], failing["failure_rate"]) == (10, 9, 0.9)
    assert flaky["state"] == "success" and flaky["reason"] == ""
    assert (flaky["requests"], flaky["failed_requests"], flaky["failure_rate"]) == (100, 1, 0.01)
    assert flaky["request_error"] == "first: HTTP 503 Service Unavailable"


def test_status_table_and_info_show_the_failed_requests(nel: Nel) -> None:
    """The status table has a failed-requests column; info shows the counts, rate and first error."""
    invocation, jobs = _run(nel)
    table = nel("status", invocation)
    assert table.returncode == 0, table.stderr
    assert "failed requests" in table.stdout.splitlines()[0]
    assert "9 of 10 (90.0%)" in table.stdout and "1 of 100 (1.0%)" in table.stdout
    info = _json(nel("info", invocation, "--json"))
    assert [job["failure_rate"] for job in info["jobs"]] == [0.9, 0.01]
    assert info["jobs"][1]["scores"] and info["jobs"][1]["state"] == "success"
    text = nel("info", invocation).stdout
    assert "failed requests: 1 of 100 (1.0%); first: HTTP 503 Service Unavailable" in text
    assert f"{jobs[0]['id']}  nel_bench.capitals  failed  9 of 10 requests to {UNUSED_URL}" in text


def test_jobs_without_counts_show_none(nel: Nel) -> None:
    """A harness that wrote no counts: the fields are null and the column shows a dash."""
    nel.write("cfg.yaml", fake_config(nel.out, "nel_bench.capitals"))
    invocation = _json(nel("run", "--config", "cfg.yaml", "--json"))["invocation_id"]
    (job,) = _json(nel("status", invocation, "--json"))[0]["jobs"]
    assert job["state"] == "success"
    assert (job["requests"], job["failed_requests"], job["failure_rate"], job["request_error"]) == (None,) * 4
    assert "success  -" in nel("status", invocation).stdout
