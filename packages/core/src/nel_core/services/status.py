"""Status across executors: ask each backend once for all its active jobs, record changes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from nel_core.host.processes import alive
from nel_core.layout import ARTIFACTS_DIR
from nel_core.models.domain import Invocation, Job, JobState, StateReport
from nel_core.models.results import RequestStats
from nel_core.ports.executor import Executor
from nel_core.ports.invocation_store import InvocationStore
from nel_core.results._read import keep_samples
from nel_core.services.auto_export import auto_export

__all__ = [
    "REQUEST_KEYS",
    "ExecutorFor",
    "inferred",
    "launching",
    "refresh",
    "request_data",
    "without_request_data",
]

#: Gives the executor that ran an invocation (built from its recorded config).
ExecutorFor = Callable[[Invocation], Executor]

#: The keys of a job's request statistics in :attr:`Job.data`, once it has ended and its
#: harness counted them: requests counted, failed ones, their ratio, and a description of
#: the failures (see :class:`~nel_core.models.results.RequestStats`).
REQUEST_KEYS = ("requests", "failed_requests", "failure_rate", "request_error", "parallelism", "tokens_per_s")


def refresh(
    store: InvocationStore,
    executor_for: ExecutorFor,
    invocations: Sequence[tuple[Invocation, Sequence[Job]]],
) -> list[Job]:
    """Current states of ``jobs``; active ones are asked of their executor and recorded.

    Jobs that ended keep their recorded state. An executor that cannot be reached or built
    gives UNKNOWN with the reason; nothing is marked failed for it.
    """
    reports = _reports(executor_for, invocations)
    refreshed: list[Job] = []
    for invocation, jobs in invocations:
        start = len(refreshed)
        for job in jobs:
            report = reports.get(job.id)
            if report is None:
                refreshed.append(job)
                continue
            updated = _apply(job, report)
            # UNKNOWN is an answer about now, not a new fact about the job: not recorded.
            if updated != job and report.state is not JobState.UNKNOWN:
                store.update_job(updated)
                if updated.state in (JobState.SUCCESS, JobState.FAILED) and job.state != updated.state:
                    # A harness that writes no samples file: keep nemo-evaluator's requests as one.
                    keep_samples(Path(updated.job_dir) / ARTIFACTS_DIR)
            refreshed.append(updated)
        refreshed[start:] = auto_export(store, invocation, refreshed[start:])
    return refreshed


def _reports(
    executor_for: ExecutorFor, invocations: Sequence[tuple[Invocation, Sequence[Job]]]
) -> dict[str, StateReport]:
    """Ask each executor once for the active jobs of all its invocations (one round trip to a cluster)."""
    asked: dict[int, tuple[Executor | None, str, list[Job]]] = {}
    for invocation, jobs in invocations:
        if launching(invocation):  # its launch is still under way: nothing to ask yet
            continue
        active = [job for job in jobs if not job.state.is_terminal or inferred(job)]
        if not active:
            continue
        try:
            executor: Executor | None = executor_for(invocation)
            error = ""
        except Exception as exc:  # noqa: BLE001 - an executor that cannot be built fails no job
            executor, error = None, f"cannot ask executor '{invocation.executor}': {exc}"
        key = id(executor) if executor is not None else -len(asked) - 1
        asked.setdefault(key, (executor, error, []))[2].extend(active)
    reports: dict[str, StateReport] = {}
    for executor, error, active in asked.values():
        if executor is not None:
            try:
                reports.update(executor.states(active))
                continue
            except Exception as exc:  # noqa: BLE001 - an unreachable backend never fails a job
                error = f"cannot ask executor '{executor.name}': {exc}"
        reports.update({job.id: StateReport(state=JobState.UNKNOWN, reason=error) for job in active})
    return reports


def inferred(job: Job) -> bool:
    """Whether the job's recorded end was concluded rather than reported (asked again)."""
    return bool(job.data.get("inferred"))


def launching(invocation: Invocation) -> bool:
    """Whether the process launching ``invocation`` is still at it (recorded, not yet submitted)."""
    if invocation.status != "submitting":
        return False
    launcher = str(invocation.data.get("launcher", ""))
    return bool(launcher) and alive(launcher)


def request_data(stats: RequestStats | None) -> dict[str, Any]:
    """A job's request statistics as its :attr:`Job.data` holds them (:data:`REQUEST_KEYS`)."""
    if stats is None:
        return {}
    return {
        "requests": stats.total,
        "failed_requests": stats.failed,
        "failure_rate": stats.failure_rate,
        "request_error": stats.error,
        **({"parallelism": stats.parallelism} if stats.parallelism else {}),
        **({"tokens_per_s": stats.tokens_per_s} if stats.tokens_per_s is not None else {}),
    }


def without_request_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without request statistics (a job that runs again has none yet)."""
    return {key: value for key, value in data.items() if key not in REQUEST_KEYS}


def _apply(job: Job, report: StateReport) -> Job:
    # The report's statistics replace the recorded ones (a report without any clears them), and
    # so does its "inferred" flag.
    data = {key: value for key, value in without_request_data(job.data).items() if key != "inferred"}
    data.update(request_data(report.requests))
    if report.inferred:
        data["inferred"] = True
    handle = job.handle if report.handle is None else report.handle
    if (job.state, job.reason, job.exit_code, job.data, job.handle) == (
        report.state, report.reason, report.exit_code, data, handle,
    ):  # fmt: skip
        return job
    return attrs.evolve(
        job,
        handle=handle,
        state=report.state,
        reason=report.reason,
        exit_code=report.exit_code,
        data=data,
        updated_at=time.time(),
    )
