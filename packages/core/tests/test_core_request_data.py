"""A job's request statistics as recorded: written by materialize, judged, kept in Job.data, cleared on resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.layout import ARTIFACTS_DIR, OUTCOME_FILE, REQUESTS_FILE
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.executor import Executor
from nel_core.services import launch, make_plan, refresh, resume
from nel_core.store import SqliteInvocationStore
from nel_core.testing import FakeBackend, FakeExecutionConfig, FakeExecutor, run_config_data
from nel_core.yaml_io import load


class _Run:
    """Two jobs launched with the fake executor (held running), recorded in a SQLite store."""

    def __init__(self, tmp_path: Path, **evaluation: Any) -> None:
        data = run_config_data(tmp_path / "out", tasks=["nel_bench.arithmetic", "nel_bench.capitals"])
        data["execution"]["auto_finish"] = False
        data["evaluation"].update(evaluation)
        config = structure_run_config(data, FakeExecutionConfig)
        self.url = data["target"]["api_endpoint"]["url"]
        self.executor = FakeExecutor(config.execution, home=tmp_path, backend=FakeBackend())
        self.store = SqliteInvocationStore(tmp_path / "home")
        plan = make_plan(config, executor=self.executor, catalog=load_catalog(), store=self.store)
        launched = launch(plan, executor=self.executor, store=self.store, environ={})
        self.invocation = launched.invocation

    def executor_for(self, _: Invocation) -> Executor:
        return self.executor

    def jobs(self) -> list[Job]:
        return self.store.jobs(self.invocation.id)

    def refresh(self) -> list[Job]:
        return refresh(self.store, self.executor_for, [(self.invocation, self.jobs())])

    def end(self, job: Job, counts: dict[str, Any] | None) -> None:
        """End ``job`` with a score, its harness having counted ``counts`` (None: no counts)."""
        requests = Path(job.job_dir) / ARTIFACTS_DIR / REQUESTS_FILE
        if counts is not None:
            requests.write_text(json.dumps(counts))
        self.executor.finish(job)


def test_materialize_writes_each_jobs_failure_limit(tmp_path: Path) -> None:
    """Every job folder gets outcome.yml with the run's evaluation.max_failure_rate."""
    run = _Run(tmp_path, max_failure_rate=0.2)
    for job in run.jobs():
        assert load((Path(job.job_dir) / OUTCOME_FILE).read_text()) == {"max_failure_rate": 0.2}


def test_statistics_are_recorded_in_job_data_beside_the_executors_own(tmp_path: Path) -> None:
    """An ended job's counts reach Job.data in the store; the limit of its run decides its state."""
    run = _Run(tmp_path, max_failure_rate=0.1)
    flaky, failing = run.jobs()
    run.end(flaky, {"requests": 100, "failed": 10, "first_error": {"status": 503}})
    run.end(failing, {"requests": 100, "failed": 11, "first_error": {"status": 503}})
    run.refresh()
    flaky, failing = SqliteInvocationStore(tmp_path / "home").jobs(run.invocation.id)
    assert flaky.state is JobState.SUCCESS
    assert {key: flaky.data[key] for key in ("requests", "failed_requests", "failure_rate")} == {
        "requests": 100,
        "failed_requests": 10,
        "failure_rate": 0.1,
    }
    assert flaky.data["request_error"] == "first: HTTP 503 Service Unavailable"
    assert failing.state is JobState.FAILED and failing.data["failed_requests"] == 11
    assert failing.reason.startswith(f"11 of 100 requests to {run.url} failed")
    assert "(evaluation.max_failure_rate is 0.1)" in failing.reason


def test_a_job_without_counts_records_none(tmp_path: Path) -> None:
    """A harness that counted nothing leaves no request keys in Job.data."""
    run = _Run(tmp_path)
    for job in run.jobs():
        run.end(job, None)
    jobs = run.refresh()
    assert [job.state for job in jobs] == [JobState.SUCCESS, JobState.SUCCESS]
    assert all("failure_rate" not in job.data for job in jobs)


@pytest.mark.parametrize("second_counts", [None, {"requests": 10, "failed": 0, "first_error": None}])
def test_a_resumed_job_is_judged_by_its_new_run_alone(tmp_path: Path, second_counts: dict[str, Any] | None) -> None:
    """resume forgets the failed run's counts (record and files); the re-run's own counts, if any, replace them."""
    run = _Run(tmp_path)
    job = run.jobs()[0]
    run.end(job, {"requests": 10, "failed": 9, "first_error": {"status": 503}})
    failed = run.refresh()[0]
    assert failed.state is JobState.FAILED and failed.data["failed_requests"] == 9
    (again,) = resume(run.store, run.executor_for, run.invocation, [failed])
    assert "failed_requests" not in again.data and again.data == run.store.get_job(job.id).data
    assert not (Path(job.job_dir) / ARTIFACTS_DIR / REQUESTS_FILE).exists()
    run.end(again, second_counts)
    done = run.refresh()[0]
    assert done.state is JobState.SUCCESS
    assert done.data.get("failed_requests") == (None if second_counts is None else 0)
