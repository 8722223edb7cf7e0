"""The outcome rules of a job whose harness exited 0: scores, request statistics, the failure limit."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from nel_core.models.domain import JobState
from nel_core.models.results import JobResults, RequestStats, Score
from nel_core.services.outcome import endpoint_failed, judge

URL = "http://127.0.0.1:8123/v1/completions"
SCORED = JobResults(scores=[Score(task="t", metric="accuracy", name="correct", value=0.1)])
NO_SCORE = JobResults()
NO_SCORE_REASON = "the harness exited 0 but results.yml holds no score"

totals = st.integers(min_value=1, max_value=10**6)
limits = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    """(failed, total) with 0 <= failed <= total and total >= 1."""
    total = draw(totals)
    return draw(st.integers(min_value=0, max_value=total)), total


def _stats(failed: int, total: int, error: str = "first: HTTP 503 Service Unavailable") -> RequestStats:
    return RequestStats(total=total, failed=failed, error=error if failed else "")


@given(counts(), limits)
def test_a_job_fails_exactly_when_its_rate_is_above_the_limit(count: tuple[int, int], limit: float) -> None:
    """With scores, the job is FAILED iff failed/total exceeds max_failure_rate, else SUCCESS."""
    failed, total = count
    report = judge(SCORED, "", _stats(failed, total), max_failure_rate=limit, endpoint_url=URL)
    expected = JobState.FAILED if failed / total > limit else JobState.SUCCESS
    assert report.state is expected
    assert report.exit_code == 0
    assert report.requests == _stats(failed, total)


@given(counts())
def test_a_rate_exactly_at_the_limit_is_a_success(count: tuple[int, int]) -> None:
    """A failure rate equal to max_failure_rate is within it; one more failure is past it."""
    failed, total = count
    assert not endpoint_failed(_stats(failed, total), failed / total)
    if failed < total:
        assert endpoint_failed(_stats(failed + 1, total), failed / total)


@given(counts(), st.integers(min_value=0, max_value=1000))
def test_decimal_limits_compare_as_exact_fractions(count: tuple[int, int], thousandths: int) -> None:
    """A limit written in decimal (0.3, 0.05) compares as its exact value: 3 of 10 at 0.3 passes."""
    failed, total = count
    limit = float(f"{thousandths / 1000:.3f}")
    assert endpoint_failed(_stats(failed, total), limit) == (Fraction(failed, total) > Fraction(thousandths, 1000))


def test_nine_of_ten_failed_names_the_endpoint_the_error_and_the_limit() -> None:
    """The reported case: 9 of 10 failed with a score of 0.1 is FAILED with an infrastructure reason."""
    report = judge(SCORED, "", _stats(9, 10), max_failure_rate=0.05, endpoint_url=URL)
    assert report.state is JobState.FAILED
    assert report.reason == (
        f"9 of 10 requests to {URL} failed (first: HTTP 503 Service Unavailable);"
        " the endpoint, not the model, failed (evaluation.max_failure_rate is 0.05)"
    )


def test_one_of_a_hundred_failed_is_a_success_that_carries_the_rate() -> None:
    """1 of 100 under the default limit succeeds, with its statistics in the report."""
    report = judge(SCORED, "", _stats(1, 100), max_failure_rate=0.05, endpoint_url=URL)
    assert report.state is JobState.SUCCESS and report.reason == ""
    assert report.requests is not None and report.requests.failure_rate == 0.01


@given(totals, limits)
def test_no_score_and_every_request_failed_is_the_endpoint_whatever_the_limit(total: int, limit: float) -> None:
    """No score and all requests failed gives the infrastructure reason, even at max_failure_rate 1."""
    report = judge(NO_SCORE, NO_SCORE_REASON, _stats(total, total), max_failure_rate=limit, endpoint_url=URL)
    assert report.state is JobState.FAILED
    assert report.reason.startswith(f"{total} of {total} requests to {URL} failed")
    assert "did every request fail" not in report.reason


def test_no_score_without_statistics_says_what_is_known() -> None:
    """No score and no statistics: the reason says so and points at job.log, guessing nothing."""
    report = judge(NO_SCORE, NO_SCORE_REASON, None, max_failure_rate=0.05, endpoint_url=URL)
    assert report.state is JobState.FAILED
    assert report.reason == f"{NO_SCORE_REASON}; it wrote no request statistics (see job.log)"


def test_no_score_with_few_failures_reports_them_without_blaming_the_endpoint() -> None:
    """No score but failures within the limit: FAILED for the missing score, the counts given."""
    report = judge(NO_SCORE, NO_SCORE_REASON, _stats(0, 10), max_failure_rate=0.05, endpoint_url=URL)
    assert report.state is JobState.FAILED
    assert report.reason == f"{NO_SCORE_REASON}; 0 of 10 requests to {URL} failed (see job.log)"
    assert "endpoint, not the model" not in report.reason


def test_zero_requests_is_no_evidence_either_way() -> None:
    """0 requests counted: with a score the job succeeds; without one the reason says none was counted."""
    empty = RequestStats(total=0, failed=0)
    assert empty.failure_rate is None and not endpoint_failed(empty, 0.0)
    assert judge(SCORED, "", empty, max_failure_rate=0.0, endpoint_url=URL).state is JobState.SUCCESS
    failed = judge(NO_SCORE, NO_SCORE_REASON, empty, max_failure_rate=0.0, endpoint_url=URL)
    assert failed.reason == f"{NO_SCORE_REASON}; it counted no request (see job.log)"


@given(counts())
def test_a_zero_limit_fails_any_failed_request(count: tuple[int, int]) -> None:
    """max_failure_rate 0 tolerates no failure at all; without statistics the scores decide."""
    failed, total = count
    report = judge(SCORED, "", _stats(failed, total), max_failure_rate=0.0, endpoint_url=URL)
    assert (report.state is JobState.FAILED) == (failed > 0)
    assert judge(SCORED, "", None, max_failure_rate=0.0, endpoint_url=URL).state is JobState.SUCCESS


def test_an_unknown_endpoint_is_named_generically() -> None:
    """Without the job's endpoint URL the reason still reads, naming "the endpoint"."""
    report = judge(SCORED, "", _stats(5, 5, error=""), max_failure_rate=0.5, endpoint_url="")
    assert report.reason.startswith("5 of 5 requests to the endpoint failed;")
