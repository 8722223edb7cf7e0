"""Request statistics read from what harnesses really write, and the job states they lead to.

The fixtures under ``fixtures/requests/`` are the files of real runs: nemo-evaluator 0.1.95
(``run_eval``, its adapter proxy on) ran NEL's ``nel_bench`` against
``tests/integration/failing_endpoint.py`` failing a set share of requests with 503; see the
README there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nel_core.layout import ARTIFACTS_DIR, EVAL_FACTORY_METRICS, EXIT, OUTCOME_FILE, REQUESTS_FILE
from nel_core.models.domain import JobState, StateReport
from nel_core.models.results import RequestStats
from nel_core.services.requests import clear_request_stats, read_request_stats
from nel_core.services.stages import combine, read_markers
from nel_core.yaml_io import load

FIXTURES = Path(__file__).parent / "fixtures" / "requests"


def _job(tmp_path: Path, case: str, *, keep: tuple[str, ...] = (), max_failure_rate: float | None = None) -> Path:
    """A job folder holding a captured run; ``keep`` limits its artifacts to those files."""
    job_dir = tmp_path / case
    shutil.copytree(FIXTURES / case, job_dir)
    if keep:
        for path in (job_dir / ARTIFACTS_DIR).iterdir():
            if path.name not in keep:
                path.unlink()
    if max_failure_rate is not None:
        (job_dir / OUTCOME_FILE).write_text(f"max_failure_rate: {max_failure_rate}\n")
    (job_dir / EXIT).write_text("0\n")
    return job_dir


def _endpoint(case: str) -> str:
    url = load((FIXTURES / case / "run_config.yml").read_text())["target"]["api_endpoint"]["url"]
    assert isinstance(url, str)
    return url


def _state(job_dir: Path) -> StateReport:
    return combine(StateReport(state=JobState.PENDING), read_markers(job_dir), job_dir / ARTIFACTS_DIR)


# ------------------------------------------------------------------------- nel_bench's own counts


@pytest.mark.parametrize(
    ("case", "total", "failed", "error"),
    [
        ("nel_bench_9_of_10", 10, 9, "first: HTTP 503 Service Unavailable"),
        ("nel_bench_1_of_100", 100, 1, "first: HTTP 503 Service Unavailable"),
        ("nel_bench_all_failed", 10, 10, "first: HTTP 503 Service Unavailable"),
        ("nel_bench_retried", 10, 1, "first: HTTP 503 Service Unavailable"),
    ],
)
def test_nel_bench_counts_are_read_first(case: str, total: int, failed: int, error: str) -> None:
    """nel_requests.json gives requests as the harness counts them (a retried request once)."""
    stats = read_request_stats(FIXTURES / case / ARTIFACTS_DIR)
    assert stats == RequestStats(total=total, failed=failed, error=error, source=REQUESTS_FILE)


def test_an_endpoint_that_never_answered_is_told_apart_from_the_proxy_error() -> None:
    """The harness saw only the adapter proxy's own 500: the error says the endpoint gave no answer."""
    stats = read_request_stats(FIXTURES / "endpoint_down" / ARTIFACTS_DIR)
    assert stats is not None and (stats.total, stats.failed) == (4, 4)
    assert stats.error.startswith("first: no answer from the endpoint")
    assert "500" not in stats.error


# --------------------------------------------------------------------- nemo-evaluator's response stats


@pytest.mark.parametrize(
    ("case", "total", "failed", "error"),
    [
        ("nel_bench_9_of_10", 10, 9, "HTTP 503 Service Unavailable: 9"),
        ("nel_bench_1_of_100", 100, 1, "HTTP 503 Service Unavailable: 1"),
        ("nel_bench_all_failed", 10, 10, "HTTP 503 Service Unavailable: 10"),
        # Every attempt passes through the proxy: 1 request failing 3 times, 9 failing once then answered.
        ("nel_bench_retried", 18, 9, "HTTP 503 Service Unavailable: 9"),
    ],
)
def test_any_harness_is_counted_by_the_adapter_proxy(
    tmp_path: Path, case: str, total: int, failed: int, error: str
) -> None:
    """Without nel_requests.json, eval_factory_metrics.json's response_stats count the responses by status."""
    job_dir = _job(tmp_path, case, keep=(EVAL_FACTORY_METRICS, "results.yml"))
    stats = read_request_stats(job_dir / ARTIFACTS_DIR)
    assert stats == RequestStats(total=total, failed=failed, error=error, source=EVAL_FACTORY_METRICS)


def test_the_proxy_counts_nothing_when_the_endpoint_never_answered(tmp_path: Path) -> None:
    """A refused connection leaves no response_stats: no statistics, not zero failures."""
    job_dir = _job(tmp_path, "endpoint_down", keep=(EVAL_FACTORY_METRICS, "results.yml"))
    assert read_request_stats(job_dir / ARTIFACTS_DIR) is None


# ----------------------------------------------------------------------------- the job's state


def test_nine_of_ten_failed_fails_the_job_naming_the_users_endpoint(tmp_path: Path) -> None:
    """The reported run (accuracy 0.1, 9 of 10 requests failed) is FAILED for its endpoint, not the proxy's."""
    report = _state(_job(tmp_path, "nel_bench_9_of_10"))
    assert report.state is JobState.FAILED
    assert report.reason == (
        f"9 of 10 requests to {_endpoint('nel_bench_9_of_10')} failed (first: HTTP 503 Service Unavailable);"
        " the endpoint, not the model, failed (evaluation.max_failure_rate is 0.05)"
    )
    assert "localhost" not in report.reason


def test_one_of_a_hundred_failed_succeeds_with_its_rate(tmp_path: Path) -> None:
    """1 of 100 failed is within the default limit: SUCCESS, the counts in the report."""
    report = _state(_job(tmp_path, "nel_bench_1_of_100"))
    assert report.state is JobState.SUCCESS
    assert report.requests is not None and report.requests.failure_rate == 0.01


def test_the_limit_comes_from_the_job_folder(tmp_path: Path) -> None:
    """outcome.yml's max_failure_rate decides: 9 of 10 passes at 0.9, and 1 of 100 fails at 0."""
    assert _state(_job(tmp_path, "nel_bench_9_of_10", max_failure_rate=0.9)).state is JobState.SUCCESS
    failed = _state(_job(tmp_path, "nel_bench_1_of_100", max_failure_rate=0))
    assert failed.state is JobState.FAILED and "(evaluation.max_failure_rate is 0)" in failed.reason


@pytest.mark.parametrize("keep", [(), (EVAL_FACTORY_METRICS, "results.yml")])
def test_all_failed_without_a_score_is_the_endpoints_failure(tmp_path: Path, keep: tuple[str, ...]) -> None:
    """Every request failed and no score: the reason names the endpoint, whichever file counted."""
    report = _state(_job(tmp_path, "nel_bench_all_failed", keep=keep))
    assert report.state is JobState.FAILED
    assert report.reason.startswith(f"10 of 10 requests to {_endpoint('nel_bench_all_failed')} failed")
    assert "did every request fail" not in report.reason


def test_endpoint_down_without_counts_says_what_is_known(tmp_path: Path) -> None:
    """No score and no statistics (an eval-factory harness, endpoint down): an honest reason, job.log named."""
    report = _state(_job(tmp_path, "endpoint_down", keep=(EVAL_FACTORY_METRICS, "results.yml")))
    assert report.state is JobState.FAILED
    assert report.reason == (
        "the harness exited 0 but results.yml holds no score; it wrote no request statistics (see job.log)"
    )


def test_endpoint_down_with_counts_names_the_endpoint(tmp_path: Path) -> None:
    """nel_bench through the proxy with the endpoint down: the reason names the endpoint, not a 500."""
    report = _state(_job(tmp_path, "endpoint_down"))
    assert report.reason.startswith(f"4 of 4 requests to {_endpoint('endpoint_down')} failed (first: no answer")


def test_outcome_settings_are_read_only_once_the_job_ended(tmp_path: Path) -> None:
    """A running job's markers carry the defaults; an ended one's carry its endpoint and limit."""
    job_dir = _job(tmp_path, "nel_bench_9_of_10", max_failure_rate=0.5)
    ended = read_markers(job_dir)
    assert (ended.endpoint_url, ended.max_failure_rate) == (_endpoint("nel_bench_9_of_10"), 0.5)
    (job_dir / EXIT).unlink()
    running = read_markers(job_dir)
    assert (running.endpoint_url, running.max_failure_rate) == ("", 0.05)


@pytest.mark.parametrize("outcome", ["", "max_failure_rate: 2\n", "max_failure_rate: oops\n", "[1, 2\n"])
def test_a_bad_or_missing_outcome_file_keeps_the_default_limit(tmp_path: Path, outcome: str) -> None:
    """A job written without a readable outcome.yml is judged at the default 0.05."""
    job_dir = _job(tmp_path, "nel_bench_1_of_100")
    (job_dir / OUTCOME_FILE).write_text(outcome)
    assert read_markers(job_dir).max_failure_rate == 0.05


# ----------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        '{"requests": 10}',
        '{"requests": 10, "failed": 11}',
        '{"requests": -1, "failed": 0}',
        '{"requests": true, "failed": 0}',
        '{"requests": "10", "failed": 1}',
    ],
)
def test_malformed_request_counts_give_no_statistics(tmp_path: Path, document: str) -> None:
    """A requests file that is not a sound count is no evidence: None, never a guess."""
    (tmp_path / REQUESTS_FILE).write_text(document)
    assert read_request_stats(tmp_path) is None


@pytest.mark.parametrize(
    "response_stats",
    [
        None,
        {"count": 3},
        {"count": 2, "status_codes": {"503": 3}},
        {"count": 3, "status_codes": {"x": 3}},
        {"count": "3", "status_codes": {"200": 3}},
    ],
)
def test_malformed_response_stats_give_no_statistics(tmp_path: Path, response_stats: object) -> None:
    """Response stats without a count and sound status counts give None."""
    (tmp_path / EVAL_FACTORY_METRICS).write_text(json.dumps({"response_stats": response_stats}))
    assert read_request_stats(tmp_path) is None


def test_first_error_without_an_http_answer_keeps_its_message(tmp_path: Path) -> None:
    """A failure with no HTTP status (a timeout) is described by its message, cut short."""
    message = "TimeoutError for http://localhost:3825/completions: timed out " + "x" * 300
    counts = {"requests": 2, "failed": 1, "first_error": {"status": None, "url": "u", "message": message}}
    (tmp_path / REQUESTS_FILE).write_text(json.dumps(counts))
    stats = read_request_stats(tmp_path)
    assert stats is not None and stats.error.startswith("first: TimeoutError for")
    assert len(stats.error) < 200


# ----------------------------------------------------------------------------- a run again in place


def test_clearing_forgets_the_previous_runs_counts_and_keeps_the_rest(tmp_path: Path) -> None:
    """Before a re-run, both files' request counts go, nemo-evaluator's other metrics stay."""
    artifacts = _job(tmp_path, "nel_bench_9_of_10") / ARTIFACTS_DIR
    (artifacts / "response_stats_cache").mkdir()
    (artifacts / "response_stats_cache" / "cache.db").write_text("totals")
    clear_request_stats(artifacts)
    assert read_request_stats(artifacts) is None
    assert not (artifacts / REQUESTS_FILE).exists() and not (artifacts / "response_stats_cache").exists()
    assert set(json.loads((artifacts / EVAL_FACTORY_METRICS).read_text())) == {"evaluation"}
    assert (artifacts / "results.yml").exists()
    clear_request_stats(tmp_path / "nowhere")  # nothing there: nothing to do
