"""Status: the combine state machine, and refresh through executors that may not answer."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nel_core.errors import SchedulingError
from nel_core.layout import SAMPLES_FILE
from nel_core.models.domain import Invocation, Job, JobState, StateReport
from nel_core.services.stages import EXIT, KILLED, PRE_START, Markers, combine, read_markers
from nel_core.services.status import refresh
from nel_core.testing import (
    FakeBackend,
    FakeExecutionConfig,
    FakeExecutor,
    InMemoryInvocationStore,
    make_invocation,
    make_jobs,
    write_results,
)

ACTIVE = [JobState.PENDING, JobState.RUNNING]
ENDED = [JobState.SUCCESS, JobState.FAILED, JobState.KILLED]


def _results(tmp_path: Path, scores: dict[str, float] | None) -> Path:
    results_dir = tmp_path / "artifacts"
    if scores is not None:
        write_results(results_dir, "task", scores)
    return results_dir


# ------------------------------------------------------------------------------------ combine


def test_exit_zero_with_scores_is_success(tmp_path: Path) -> None:
    """Exit marker 0 and a results.yml with a score is SUCCESS."""
    report = combine(
        StateReport(state=JobState.SUCCESS),
        Markers(pre_start=True, running=True, exit_code=0),
        _results(tmp_path, {"accuracy": 0.5}),
    )
    assert (report.state, report.exit_code) == (JobState.SUCCESS, 0)


@pytest.mark.parametrize("scores", [{}, None])
def test_exit_zero_without_scores_fails_with_reason(
    tmp_path: Path, scores: dict[str, float] | None
) -> None:
    """Exit marker 0 with empty or missing results is FAILED, saying why."""
    report = combine(
        StateReport(state=JobState.SUCCESS), Markers(exit_code=0), _results(tmp_path, scores)
    )
    assert report.state is JobState.FAILED
    assert "results.yml" in report.reason


def test_unreadable_results_fail_with_reason(tmp_path: Path) -> None:
    """Exit 0 with a results.yml that cannot be parsed is FAILED, naming the file and the line."""
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "results.yml").write_text("results:\n  tasks: {a: [1, 2}\n")
    report = combine(
        StateReport(state=JobState.SUCCESS), Markers(exit_code=0), tmp_path / "artifacts"
    )
    assert report.state is JobState.FAILED
    assert report.reason.startswith("results.yml is unreadable: line 2, column ")


def test_nonzero_exit_fails(tmp_path: Path) -> None:
    """An exit marker other than 0 is FAILED with that code, whatever the results."""
    report = combine(
        StateReport(state=JobState.RUNNING), Markers(exit_code=2), _results(tmp_path, {"a": 1.0})
    )
    assert (report.state, report.exit_code) == (JobState.FAILED, 2)
    assert "2" in report.reason


def test_ended_without_exit_marker_fails(tmp_path: Path) -> None:
    """A job the scheduler says ended, that wrote no exit marker, FAILED saying so."""
    report = combine(StateReport(state=JobState.SUCCESS), Markers(pre_start=True), tmp_path)
    assert report.state is JobState.FAILED
    assert "without writing its exit marker" in report.reason


def test_killed_marker_wins(tmp_path: Path) -> None:
    """A killed marker makes the job KILLED even when it exited 0 with scores."""
    report = combine(
        StateReport(state=JobState.SUCCESS),
        Markers(exit_code=0, killed=True),
        _results(tmp_path, {"a": 1.0}),
    )
    assert report.state is JobState.KILLED


def test_unknown_scheduler_gives_unknown(tmp_path: Path) -> None:
    """An unreachable scheduler and no exit marker is UNKNOWN with the scheduler's reason."""
    scheduled = StateReport(state=JobState.UNKNOWN, reason="ssh: connection refused")
    assert combine(scheduled, Markers(pre_start=True), tmp_path) == scheduled


def test_started_job_is_running(tmp_path: Path) -> None:
    """A job the scheduler still has pending but that wrote its pre-start marker is RUNNING."""
    report = combine(StateReport(state=JobState.PENDING), Markers(pre_start=True), tmp_path)
    assert report.state is JobState.RUNNING
    report = combine(StateReport(state=JobState.PENDING), Markers(), tmp_path)
    assert report.state is JobState.PENDING


markers = st.builds(
    Markers,
    pre_start=st.booleans(),
    running=st.booleans(),
    exit_code=st.none() | st.integers(min_value=-1, max_value=255),
    killed=st.booleans(),
)
reports = st.builds(
    StateReport,
    state=st.sampled_from(list(JobState)),
    reason=st.sampled_from(["", "because"]),
    exit_code=st.none() | st.integers(min_value=0, max_value=3),
)
result_files = st.sampled_from([None, {}, {"accuracy": 0.5}])


@given(reports, markers, result_files)
def test_combine_state_machine(
    scheduled: StateReport, found: Markers, scores: dict[str, float] | None
) -> None:
    """For any scheduler answer, markers and results, combine follows the documented rules."""
    import tempfile

    with tempfile.TemporaryDirectory() as temp:
        report = combine(scheduled, found, _results(Path(temp), scores))
    if found.killed:
        assert report.state is JobState.KILLED
    elif found.exit_code is not None:
        success = found.exit_code == 0 and bool(scores)
        assert report.state is (JobState.SUCCESS if success else JobState.FAILED)
        assert report.exit_code == found.exit_code
        assert success or report.reason
    elif scheduled.state is JobState.UNKNOWN:
        assert report == scheduled
    elif scheduled.state.is_active:
        assert report.state.is_active
        assert report.state is JobState.RUNNING or not found.pre_start
    elif scheduled.state is JobState.KILLED:
        assert report.state is JobState.KILLED
    else:
        assert report.state is JobState.FAILED and report.reason
    # The scheduler alone never makes a job succeed: only an exit marker and a score do.
    if report.state is JobState.SUCCESS:
        assert found.exit_code == 0 and scores


def test_read_markers(tmp_path: Path) -> None:
    """Markers are read from their files; a garbled exit marker reads as -1."""
    assert read_markers(tmp_path) == Markers()
    (tmp_path / PRE_START).write_text("1\n")
    (tmp_path / EXIT).write_text("oops\n")
    (tmp_path / KILLED).write_text("")
    found = read_markers(tmp_path)
    assert (found.pre_start, found.running, found.exit_code, found.killed) == (
        True,
        False,
        -1,
        True,
    )


# ------------------------------------------------------------------------------------ refresh


class _Unreachable(FakeExecutor):
    def states(self, jobs: Sequence[Job]) -> dict[str, StateReport]:
        raise SchedulingError("ssh: connect to host login1: Connection refused")


def _recorded(
    tmp_path: Path, states: list[JobState]
) -> tuple[InMemoryInvocationStore, Invocation, list[Job]]:
    store = InMemoryInvocationStore()
    invocation = make_invocation(output_dir=str(tmp_path))
    jobs = make_jobs(invocation, len(states), states=states, root=tmp_path)
    store.add(invocation, jobs)
    return store, invocation, store.jobs(invocation.id)


def test_unreachable_executor_gives_unknown_and_records_nothing(tmp_path: Path) -> None:
    """When states() raises, active jobs show UNKNOWN with the reason; nothing is recorded."""
    store, invocation, jobs = _recorded(tmp_path, [JobState.RUNNING, JobState.SUCCESS])
    config = FakeExecutionConfig(output_dir=str(tmp_path))
    executor = _Unreachable(config, home=tmp_path, backend=FakeBackend())
    shown = refresh(store, lambda _: executor, [(invocation, jobs)])
    assert shown[0].state is JobState.UNKNOWN
    assert "Connection refused" in shown[0].reason
    assert shown[1] == jobs[1]
    assert store.jobs(invocation.id) == jobs


def test_executor_that_cannot_be_built_gives_unknown(tmp_path: Path) -> None:
    """An executor that cannot even be built (plugin gone) also gives UNKNOWN, not FAILED."""
    store, invocation, jobs = _recorded(tmp_path, [JobState.PENDING])

    def executor_for(_: Invocation) -> FakeExecutor:
        raise RuntimeError("executor 'slurm' is not installed")

    shown = refresh(store, executor_for, [(invocation, jobs)])
    assert shown[0].state is JobState.UNKNOWN and "not installed" in shown[0].reason
    assert store.jobs(invocation.id) == jobs


def test_unreachable_scheduler_gives_unknown(tmp_path: Path) -> None:
    """A scheduler answering UNKNOWN for its jobs leaves their records untouched."""
    store, invocation, jobs = _recorded(tmp_path, [JobState.RUNNING, JobState.RUNNING])
    backend = FakeBackend()
    backend.scheduler.reachable = False
    executor = FakeExecutor(
        FakeExecutionConfig(output_dir=str(tmp_path)), home=tmp_path, backend=backend
    )
    shown = refresh(store, lambda _: executor, [(invocation, jobs)])
    assert [job.state for job in shown] == [JobState.UNKNOWN, JobState.UNKNOWN]
    assert store.jobs(invocation.id) == jobs


def test_refresh_records_changes_of_active_jobs_only(tmp_path: Path) -> None:
    """Refresh asks only about active jobs and records the new states it learns."""
    store, invocation, jobs = _recorded(tmp_path, [JobState.RUNNING, JobState.FAILED])
    (Path(jobs[0].job_dir) / EXIT).write_text("0\n")
    write_results(Path(jobs[0].job_dir) / "artifacts", "t", {"accuracy": 1.0})
    (Path(jobs[1].job_dir) / EXIT).write_text("0\n")  # ended jobs keep their recorded state
    write_results(Path(jobs[1].job_dir) / "artifacts", "t", {"accuracy": 1.0})
    executor = FakeExecutor(
        FakeExecutionConfig(output_dir=str(tmp_path)), home=tmp_path, backend=FakeBackend()
    )
    shown = refresh(store, lambda _: executor, [(invocation, jobs)])
    assert [job.state for job in shown] == [JobState.SUCCESS, JobState.FAILED]
    assert store.get_job(jobs[0].id).state is JobState.SUCCESS
    assert store.get_job(jobs[0].id).exit_code == 0
    assert store.get_job(jobs[1].id) == jobs[1]


def test_refresh_without_change_writes_nothing(tmp_path: Path) -> None:
    """A refresh that learns nothing new leaves the records as they were."""
    store, invocation, jobs = _recorded(tmp_path, [JobState.SUCCESS, JobState.KILLED])

    def executor_for(_: Invocation) -> FakeExecutor:
        raise AssertionError("ended jobs need no executor")

    assert refresh(store, executor_for, [(invocation, jobs)]) == jobs
    assert [attrs.asdict(j) for j in store.jobs(invocation.id)] == [attrs.asdict(j) for j in jobs]


def test_a_job_that_ends_keeps_the_proxy_requests_as_its_samples(tmp_path: Path) -> None:
    """When refresh learns that a job ended, nemo-evaluator's cached requests become its samples.jsonl."""
    store, invocation, jobs = _recorded(tmp_path, [JobState.RUNNING])
    artifacts = Path(jobs[0].job_dir) / "artifacts"
    shutil.copytree(Path(__file__).parent / "fixtures" / "evaluator-cache", artifacts, dirs_exist_ok=True)
    (Path(jobs[0].job_dir) / EXIT).write_text("0\n")
    write_results(artifacts, "t", {"accuracy": 1.0})
    executor = FakeExecutor(FakeExecutionConfig(output_dir=str(tmp_path)), home=tmp_path, backend=FakeBackend())
    refresh(store, lambda _: executor, [(invocation, jobs)])
    lines = (artifacts / SAMPLES_FILE).read_text().splitlines()
    assert len(lines) == 9 and all('"derived": "cache"' in line for line in lines)
