"""Kill, resume, export and logs of launched invocations, through the FakeExecutor."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from nel_core.catalog import load_catalog
from nel_core.converter import structure_run_config
from nel_core.errors import ExportError, NelError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.executor import Executor
from nel_core.services import export_results, kill, launch, make_plan, refresh, resume
from nel_core.services.stages import KILLED
from nel_core.testing import (
    FakeBackend,
    FakeExecutionConfig,
    FakeExecutor,
    FakeResultExporter,
    InMemoryInvocationStore,
    run_config_data,
)


class _Run:
    """One launched invocation with its executor and store."""

    def __init__(self, tmp_path: Path, tasks: int = 3, **execution: Any) -> None:
        names = ["nel_bench.arithmetic", "nel_bench.capitals", "simple_evals.mmlu_pro"][:tasks]
        data = run_config_data(tmp_path / "out", tasks=names)
        data["execution"].update(execution)
        config = structure_run_config(data, FakeExecutionConfig)
        self.backend = FakeBackend()
        self.executor = FakeExecutor(config.execution, home=tmp_path, backend=self.backend)
        self.store = InMemoryInvocationStore()
        plan = make_plan(config, executor=self.executor, catalog=load_catalog(), store=self.store)
        launched = launch(plan, executor=self.executor, store=self.store, environ={})
        self.invocation = launched.invocation

    def executor_for(self, invocation: Invocation) -> Executor:
        return self.executor

    def jobs(self) -> list[Job]:
        return self.store.jobs(self.invocation.id)

    def refresh(self) -> list[Job]:
        return refresh(self.store, self.executor_for, [(self.invocation, self.jobs())])


def test_jobs_that_succeed_become_success(tmp_path: Path) -> None:
    """Jobs that exit 0 with a score are SUCCESS after a refresh, and it is recorded."""
    run = _Run(tmp_path)
    assert [job.state for job in run.refresh()] == [JobState.SUCCESS] * 3
    assert [job.state for job in run.jobs()] == [JobState.SUCCESS] * 3


def test_jobs_that_fail_become_failed(tmp_path: Path) -> None:
    """Jobs that exit 1 are FAILED with the exit code and a reason."""
    run = _Run(tmp_path, jobs_succeed=False)
    jobs = run.refresh()
    assert {(job.state, job.exit_code) for job in jobs} == {(JobState.FAILED, 1)}
    assert all("exited with code 1" in job.reason for job in jobs)


def test_running_jobs_are_running_until_finished(tmp_path: Path) -> None:
    """With auto_finish off, jobs are RUNNING until the test finishes them."""
    run = _Run(tmp_path, auto_finish=False)
    assert [job.state for job in run.refresh()] == [JobState.RUNNING] * 3
    jobs = run.jobs()
    run.executor.finish(jobs[1])
    run.executor.finish(jobs[2], succeed=False)
    assert [job.state for job in run.refresh()] == [
        JobState.RUNNING,
        JobState.SUCCESS,
        JobState.FAILED,
    ]


def test_kill_marks_live_jobs_killed(tmp_path: Path) -> None:
    """kill stops only the jobs that have not ended, and records them KILLED."""
    run = _Run(tmp_path, auto_finish=False)
    jobs = run.jobs()
    run.executor.finish(jobs[0])
    jobs = run.refresh()
    killed = kill(run.store, run.executor_for, run.invocation, jobs)
    assert [job.id for job in killed] == [jobs[1].id, jobs[2].id]
    assert [job.state for job in run.jobs()] == [
        JobState.SUCCESS,
        JobState.KILLED,
        JobState.KILLED,
    ]
    assert sorted(run.backend.scheduler.cancelled) == sorted([jobs[1].handle, jobs[2].handle])
    assert run.backend.scheduler.active() == []
    assert (Path(jobs[1].job_dir) / KILLED).exists()
    assert not (Path(jobs[0].job_dir) / KILLED).exists()


def test_killed_jobs_stay_killed(tmp_path: Path) -> None:
    """After a kill, refreshing shows the jobs KILLED (their marker says so)."""
    run = _Run(tmp_path, auto_finish=False)
    kill(run.store, run.executor_for, run.invocation, run.jobs())
    assert {job.state for job in run.refresh()} == {JobState.KILLED}


def test_kill_of_ended_jobs_does_nothing(tmp_path: Path) -> None:
    """kill of an invocation whose jobs all ended stops nothing and changes nothing."""
    run = _Run(tmp_path)
    jobs = run.refresh()
    assert kill(run.store, run.executor_for, run.invocation, jobs) == []
    assert run.backend.scheduler.cancelled == []
    assert run.jobs() == jobs


def test_kill_stops_the_deployment(tmp_path: Path) -> None:
    """kill also stops the server deployed for the invocation."""
    data = run_config_data(tmp_path / "out", deployment={"type": "vllm", "served_model_name": "m"})
    data["execution"]["auto_finish"] = False
    config = structure_run_config(data, FakeExecutionConfig)
    backend = FakeBackend()
    executor = FakeExecutor(config.execution, home=tmp_path, backend=backend)
    store = InMemoryInvocationStore()
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=store)
    launched = launch(plan, executor=executor, store=store, environ={})
    assert len(backend.provider.running) == 1
    kill(store, lambda _: executor, launched.invocation, launched.jobs)
    assert backend.provider.running == {} and backend.provider.stops == 1


def test_resume_resubmits_failed_and_killed_only(tmp_path: Path) -> None:
    """resume re-submits the failed and killed jobs (pending again), never the successful one."""
    run = _Run(tmp_path, auto_finish=False)
    jobs = run.jobs()
    run.executor.finish(jobs[0])
    run.executor.finish(jobs[1], succeed=False)
    kill(run.store, run.executor_for, run.invocation, [run.jobs()[2]])
    jobs = run.refresh()
    assert [job.state for job in jobs] == [JobState.SUCCESS, JobState.FAILED, JobState.KILLED]
    submitted = len(run.backend.scheduler.submitted)
    resumed = resume(run.store, run.executor_for, run.invocation, jobs)
    assert [job.id for job in resumed] == [jobs[1].id, jobs[2].id]
    assert len(run.backend.scheduler.submitted) == submitted + 2
    recorded = run.jobs()
    assert recorded[0] == jobs[0]
    assert [job.state for job in recorded[1:]] == [JobState.PENDING, JobState.PENDING]
    assert all(job.exit_code is None for job in recorded[1:])
    assert {job.handle for job in recorded[1:]}.isdisjoint({job.handle for job in jobs})
    # The new runs are judged by their own markers, not the old ones.
    assert [job.state for job in run.refresh()] == [
        JobState.SUCCESS,
        JobState.RUNNING,
        JobState.RUNNING,
    ]


def test_resume_with_nothing_to_resume_fails(tmp_path: Path) -> None:
    """resume of an invocation without failed or killed jobs is an error saying so."""
    run = _Run(tmp_path)
    with pytest.raises(NelError, match="no failed or killed job"):
        resume(run.store, run.executor_for, run.invocation, run.refresh())


def test_resume_needs_the_capability(tmp_path: Path) -> None:
    """An executor that does not declare RESUME is refused before anything happens."""

    class NoResume(FakeExecutor):
        capabilities = frozenset()

    run = _Run(tmp_path, jobs_succeed=False)
    executor = NoResume(run.executor.config, home=tmp_path, backend=run.backend)
    with pytest.raises(NelError, match="cannot resume"):
        resume(run.store, lambda _: executor, run.invocation, run.refresh())


def test_export_skips_failed_jobs(tmp_path: Path) -> None:
    """export sends only successful jobs with scores; the rest are reported as skipped."""
    run = _Run(tmp_path, auto_finish=False)
    jobs = run.jobs()
    run.executor.finish(jobs[0])
    run.executor.finish(jobs[1], succeed=False)
    jobs = run.refresh()
    exporter = FakeResultExporter({"location": "memory://test"})
    report = export_results(exporter, [(run.invocation, jobs)])
    assert report.exported == [jobs[0].id]
    assert sorted(report.skipped) == sorted([jobs[1].id, jobs[2].id])
    assert report.skipped[jobs[1].id].startswith("not successful (failed")
    assert report.skipped[jobs[2].id].startswith("not successful (")
    assert report.location == "memory://test"
    assert list(exporter.records) == [jobs[0].id]
    assert exporter.records[jobs[0].id].scores == {
        "nel_bench.arithmetic_accuracy_accuracy": 1.0,
        "nel_bench.arithmetic_accuracy_accuracy_stderr": 0.0,
    }


def test_export_twice_stores_once(tmp_path: Path) -> None:
    """Exporting an invocation twice leaves one record per job."""
    run = _Run(tmp_path)
    jobs = run.refresh()
    exporter = FakeResultExporter()
    export_results(exporter, [(run.invocation, jobs)])
    export_results(exporter, [(run.invocation, jobs)])
    assert sorted(exporter.records) == sorted(job.id for job in jobs)


def test_export_refused_is_an_export_error(tmp_path: Path) -> None:
    """A destination that refuses raises ExportError naming every job it did not take."""
    run = _Run(tmp_path)
    jobs = run.refresh()
    with pytest.raises(ExportError) as caught:
        export_results(FakeResultExporter({"fail": True}), [(run.invocation, jobs)])
    assert all(job.id in caught.value.message for job in jobs)
    assert caught.value.message.startswith("fake: memory://fake: the destination refused the results")


def test_logs_of_a_job(tmp_path: Path) -> None:
    """logs() give the job's lines; a fresh executor reads them from job.log."""
    run = _Run(tmp_path, tasks=1)
    job = run.jobs()[0]
    lines = list(run.executor.logs(job))
    assert lines[0] == f"fake job {job.id} started\n"
    assert lines[-1] == "fake job ended with exit code 0\n"
    fresh = FakeExecutor(run.executor.config, home=tmp_path, backend=FakeBackend())
    assert list(fresh.logs(job)) == lines


def test_follow_logs_until_the_job_ends(tmp_path: Path) -> None:
    """logs(follow=True) of a running job return once it is finished."""
    run = _Run(tmp_path, tasks=1, auto_finish=False)
    job = run.jobs()[0]
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(run.executor.logs(job, follow=True)))
    reader.start()
    run.executor.finish(job)
    reader.join(10)
    assert not reader.is_alive()
    assert lines[-1] == "fake job ended with exit code 0\n"


def test_shared_backend_per_home(tmp_path: Path) -> None:
    """Executors built for one NEL home share a backend, as CLI commands share a cluster."""
    from nel_core.testing import FAKE_EXECUTOR_SPEC, fake_backend, reset_fake_backends

    config = FakeExecutionConfig(output_dir=str(tmp_path))
    first = FAKE_EXECUTOR_SPEC.factory(config, tmp_path / "home")
    second = FAKE_EXECUTOR_SPEC.factory(config, tmp_path / "home")
    other = FAKE_EXECUTOR_SPEC.factory(config, tmp_path / "other")
    assert isinstance(first, FakeExecutor) and isinstance(second, FakeExecutor)
    assert isinstance(other, FakeExecutor)
    assert first.backend is second.backend is fake_backend(tmp_path / "home")
    assert other.backend is not first.backend
    reset_fake_backends()
    assert fake_backend(tmp_path / "home") is not first.backend
    assert (
        FAKE_EXECUTOR_SPEC.name == "fake" and FAKE_EXECUTOR_SPEC.config_type is FakeExecutionConfig
    )
