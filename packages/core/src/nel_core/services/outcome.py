"""The outcome of a job whose harness exited 0: its scores and its own request statistics.

A failed request (an HTTP error, a timeout, a dropped connection) is the endpoint's failure,
not a wrong answer, even where the harness scored its item as wrong. So a job succeeds only
when its results hold a score AND at most ``evaluation.max_failure_rate`` of its requests
failed (exactly at the limit is still a success). Past the limit, or when no score came and
every request failed, the job is FAILED with a reason that names the endpoint the job was
given (its ``run_config.yml``'s ``target.api_endpoint.url``, not a proxy in between) and the
first error.
"""

from __future__ import annotations

from nel_core.models.domain import JobState, StateReport
from nel_core.models.results import JobResults, RequestStats

__all__ = ["endpoint_failed", "infrastructure_reason", "judge"]


def endpoint_failed(stats: RequestStats | None, max_failure_rate: float) -> bool:
    """Whether more than ``max_failure_rate`` of the counted requests failed.

    No statistics, or no request counted, is no evidence of a failure.
    """
    rate = None if stats is None else stats.failure_rate
    # failed / total and the limit are each the nearest float to their exact value, so a
    # rate exactly at a limit written in decimal (3 of 10 at 0.3) compares equal, not above.
    return rate is not None and rate > max_failure_rate


def infrastructure_reason(stats: RequestStats, *, endpoint_url: str, max_failure_rate: float) -> str:
    """``9 of 10 requests to URL failed (first: HTTP 503 ...); the endpoint, not the model, failed``."""
    target = endpoint_url or "the endpoint"
    error = f" ({stats.error})" if stats.error else ""
    return (
        f"{stats.failed} of {stats.total} requests to {target} failed{error};"
        f" the endpoint, not the model, failed (evaluation.max_failure_rate is {max_failure_rate:g})"
    )


def judge(
    results: JobResults,
    no_score_reason: str,
    stats: RequestStats | None,
    *,
    max_failure_rate: float,
    endpoint_url: str,
) -> StateReport:
    """The state of a job whose harness exited 0.

    Args:
        results: The scores of its ``results.yml``.
        no_score_reason: Why ``results`` holds no score (from :func:`~nel_core.services.stages.read_results`).
        stats: Its harness's request statistics, None when it wrote none.
        max_failure_rate: ``evaluation.max_failure_rate`` of its run.
        endpoint_url: The endpoint its harness was given.
    """
    if stats is not None and (
        endpoint_failed(stats, max_failure_rate)
        or (not results.has_scores and 0 < stats.total == stats.failed)
    ):
        reason = infrastructure_reason(stats, endpoint_url=endpoint_url, max_failure_rate=max_failure_rate)
        return StateReport(state=JobState.FAILED, reason=reason, exit_code=0, requests=stats)
    if not results.has_scores:
        reason = f"{no_score_reason}; {_what_is_known(stats, endpoint_url)} (see job.log)"
        return StateReport(state=JobState.FAILED, reason=reason, exit_code=0, requests=stats)
    return StateReport(state=JobState.SUCCESS, exit_code=0, requests=stats)


def _what_is_known(stats: RequestStats | None, endpoint_url: str) -> str:
    if stats is None:
        return "it wrote no request statistics"
    if not stats.total:
        return "it counted no request"
    target = endpoint_url or "the endpoint"
    error = f" ({stats.error})" if stats.error else ""
    return f"{stats.failed} of {stats.total} requests to {target} failed{error}"
