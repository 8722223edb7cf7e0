"""Tests of the runner end to end against a loopback OpenAI stub."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest

from core_evals.nel_bench import REQUESTS_FILE, RESULTS_FILE, SAMPLES_FILE
from core_evals.nel_bench.output import read_results
from core_evals.nel_bench.runner import main
from nel_harness_stub import answer_key, openai_answer


def _argv(
    url: str, out: Path, task: str = "arithmetic", endpoint: str = "chat", *extra: str
) -> list[str]:
    return [
        "--task",
        task,
        "--output-dir",
        str(out),
        "--model-url",
        url,
        "--model-id",
        "stub",
        "--model-type",
        endpoint,
        *extra,
    ]


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
@pytest.mark.parametrize("task", ["arithmetic", "capitals", "mini"])
def test_a_perfect_model_scores_one_on_every_task(
    stub_server, tmp_path: Path, task: str, endpoint: str
) -> None:
    """A stub that knows every answer gets accuracy 1.0 on chat and completions alike."""
    server = stub_server(lambda path, headers, body: (200, openai_answer(body, answer_key(body))))
    assert main(_argv(server.base_url, tmp_path, task, endpoint, "--limit-samples", "6")) == 0
    metrics = read_results(tmp_path)["tasks"][task]["metrics"]
    assert metrics["accuracy"]["scores"]["correct"]["value"] == 1.0
    assert metrics["accuracy"]["scores"]["correct"]["stats"]["count"] == 6
    assert metrics["requests"]["scores"]["failure_rate"]["value"] == 0.0
    assert len(server.requests) == 6


def test_samples_file_records_each_answer(stub_server, tmp_path: Path) -> None:
    """One JSON line per sample in dataset order, in NEL's format (prompt, score, tokens...)."""

    def answer(path: str, headers: dict, body: dict) -> tuple[int, dict]:
        usage = {"prompt_tokens": 11, "completion_tokens": 1, "total_tokens": 12}
        return 200, {**openai_answer(body, "73"), "usage": usage}

    server = stub_server(answer)
    main(_argv(server.base_url, tmp_path, "arithmetic", "chat", "--limit-samples", "3"))
    lines = [json.loads(line) for line in (tmp_path / SAMPLES_FILE).read_text().splitlines()]
    assert [line["id"] for line in lines] == ["arith-001", "arith-002", "arith-003"]
    first = lines[0]
    assert first["task"] == "arithmetic" and first["expected"] == ["73"]
    assert first["prompt"].startswith("What is 49 + 24?")
    assert first["prompt_hash"] == hashlib.sha256(first["prompt"].encode()).hexdigest()
    assert [line["score"] for line in lines] == [1.0, 0.0, 0.0]
    assert first["tokens"] == {"prompt": 11, "completion": 1, "total": 12}
    assert all(line["response"] == "73" and line["error"] is None for line in lines)
    assert all(isinstance(line["latency_s"], float) for line in lines)


def test_a_failed_request_is_a_sample_with_an_error_and_no_score(
    stub_server, tmp_path: Path
) -> None:
    """A failed request is written with its error and status and no score (not a wrong answer)."""
    server = stub_server(lambda path, headers, body: (503, {"error": "overloaded"}))
    extra = ["--limit-samples", "1", "--max-retries", "0"]
    main(_argv(server.base_url, tmp_path, "capitals", "chat", *extra))
    (line,) = [json.loads(text) for text in (tmp_path / SAMPLES_FILE).read_text().splitlines()]
    assert line["score"] is None and line["response"] is None and line["tokens"] is None
    assert "HTTP 503" in line["error"] and line["error_status"] == 503


def test_sampling_params_and_api_key_reach_the_endpoint(
    stub_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """temperature, top_p, max_new_tokens and the key from --api-key-name are sent."""
    monkeypatch.setenv("NEL_TEST_KEY", "k-123")
    server = stub_server(lambda path, headers, body: (200, openai_answer(body, "1")))
    extra = [
        "--limit-samples",
        "1",
        "--temperature",
        "0.5",
        "--top-p",
        "0.8",
        "--max-new-tokens",
        "7",
        "--api-key-name",
        "NEL_TEST_KEY",
    ]
    main(_argv(server.base_url, tmp_path, "arithmetic", "chat", *extra))
    (request,) = server.requests
    assert request["headers"]["authorization"] == "Bearer k-123"
    assert {k: request["body"][k] for k in ("temperature", "top_p", "max_tokens")} == {
        "temperature": 0.5,
        "top_p": 0.8,
        "max_tokens": 7,
    }


def test_parallelism_sends_requests_concurrently(stub_server, tmp_path: Path) -> None:
    """With --parallelism 2, two requests are in flight at once (a barrier proves it)."""
    barrier = threading.Barrier(2, timeout=10)

    def respond(path: str, headers: dict, body: dict) -> tuple:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return 500, {"error": "requests were not concurrent"}
        return 200, openai_answer(body, answer_key(body))

    server = stub_server(respond)
    argv = _argv(
        server.base_url,
        tmp_path,
        "capitals",
        "chat",
        "--limit-samples",
        "4",
        "--parallelism",
        "2",
        "--max-retries",
        "0",
    )
    assert main(argv) == 0
    assert (
        read_results(tmp_path)["tasks"]["capitals"]["metrics"]["accuracy"]["scores"]["correct"][
            "value"
        ]
        == 1.0
    )


def test_some_failures_lower_accuracy_and_are_counted(stub_server, tmp_path: Path) -> None:
    """A 400 on one question makes it wrong and a failure; the rest still score."""

    def respond(path: str, headers: dict, body: dict) -> tuple:
        if "France" in json.dumps(body):
            return 400, {"error": "refused"}
        return 200, openai_answer(body, answer_key(body))

    server = stub_server(respond)
    main(_argv(server.base_url, tmp_path, "capitals", "chat", "--limit-samples", "4"))
    metrics = read_results(tmp_path)["tasks"]["capitals"]["metrics"]
    assert metrics["accuracy"]["scores"]["correct"]["value"] == 0.75
    assert metrics["requests"]["scores"]["failure_rate"]["value"] == 0.25


def test_request_counts_name_the_failures_and_the_first_error(stub_server, tmp_path: Path) -> None:
    """The requests file counts requests and failures, and gives the first one's status and URL."""

    def respond(path: str, headers: dict, body: dict) -> tuple:
        if "France" in json.dumps(body) or "Italy" in json.dumps(body):
            return 503, {"error": "overloaded"}
        return 200, openai_answer(body, answer_key(body))

    server = stub_server(respond)
    extra = ("--limit-samples", "5", "--max-retries", "0")
    argv = _argv(server.base_url, tmp_path, "capitals", "completions", *extra)
    assert main(argv) == 0
    counts = json.loads((tmp_path / REQUESTS_FILE).read_text())
    first = counts.pop("first_error")
    concurrency = {"parallelism": 1, "parallelism_mode": "fixed", "tokens_per_s": None}
    assert counts == {"requests": 5, "failed": 2, **concurrency}
    assert first["status"] == 503
    assert first["url"] == server.base_url + "/completions"
    assert "France" not in first["message"] and "HTTP 503" in first["message"]


def test_request_counts_of_a_clean_run_have_no_error(stub_server, tmp_path: Path) -> None:
    """Nothing failed: the requests file says so, with no first error."""
    server = stub_server(lambda path, headers, body: (200, openai_answer(body, "42")))
    main(_argv(server.base_url, tmp_path, "arithmetic", "chat", "--limit-samples", "3"))
    assert json.loads((tmp_path / REQUESTS_FILE).read_text()) == {
        "requests": 3,
        "failed": 0,
        "first_error": None,
        "parallelism": 1,
        "parallelism_mode": "fixed",
        "tokens_per_s": None,
    }


def test_dead_endpoint_exits_zero_with_no_scores(
    free_dead_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every request failing writes empty tasks, says so on stderr, and exits 0."""
    argv = _argv(
        free_dead_url, tmp_path, "arithmetic", "chat", "--limit-samples", "2", "--max-retries", "0"
    )
    assert main(argv) == 0
    assert read_results(tmp_path) == {"tasks": {}, "groups": {}}
    summary = json.loads((tmp_path / RESULTS_FILE).read_text())["summary"]
    assert summary["failed_requests"] == 2
    assert "every request failed" in capsys.readouterr().err
    counts = json.loads((tmp_path / REQUESTS_FILE).read_text())
    assert (counts["requests"], counts["failed"], counts["first_error"]["status"]) == (2, 2, None)


def test_bad_limit_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-positive limit_samples is a usage error, and nothing is written."""
    assert (
        main(_argv("http://127.0.0.1:9/v1", tmp_path, "arithmetic", "chat", "--limit-samples", "0"))
        == 2
    )
    assert "limit_samples" in capsys.readouterr().err
    assert not (tmp_path / RESULTS_FILE).exists()


def test_unknown_task_is_rejected_by_the_parser(tmp_path: Path) -> None:
    """argparse refuses a task that nel_bench does not have."""
    with pytest.raises(SystemExit) as excinfo:
        main(_argv("http://127.0.0.1:9/v1", tmp_path, "nope"))
    assert excinfo.value.code == 2
