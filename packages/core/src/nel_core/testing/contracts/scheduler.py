"""Contract of :class:`~nel_core.ports.Scheduler`."""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nel_core.errors import SchedulingError
from nel_core.models.domain import JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.scheduler import RenderedJob, Scheduler

__all__ = ["SchedulerContract"]


class SchedulerContract:
    """What every scheduler does. Subclass it and provide the ``scheduler`` fixture.

    Each test submits jobs made by :meth:`make_job`: a script that prints :attr:`OUTPUT`,
    writes ``artifacts/contract.txt``, then waits until :meth:`complete` tells it to exit
    with a given code. A scheduler that runs scripts needs no hook overridden; one that does not
    (a fake) overrides :meth:`complete` (and plays :attr:`OUTPUT` itself).
    """

    #: Lines the contract job prints first.
    OUTPUT = ("nel contract: line one", "nel contract: line two")
    #: Seconds to wait for a job to end before the test fails.
    timeout = 60.0
    #: Seconds between two state polls.
    poll_interval = 0.1
    #: Whether find() must find submitted jobs (schedulers that can, say so).
    finds_jobs = False

    @pytest.fixture
    def scheduler(self) -> Scheduler:
        """Override: the scheduler under test."""
        raise NotImplementedError("subclasses provide the 'scheduler' fixture")

    @pytest.fixture
    def job_root(self, tmp_path: Path) -> Iterator[Path]:
        """Where job directories go (override for a scheduler that needs a shared path).

        Every job still waiting when a test ends is released with exit code 0.
        """
        yield tmp_path
        for waiting in tmp_path.rglob("run.sh"):
            if not (waiting.parent / "release").exists():
                _write_atomically(waiting.parent / "release", "0\n")

    # -------------------------------------------------------------------------------- hooks

    def make_job(self, job_dir: Path) -> RenderedJob:
        """A job that prints :attr:`OUTPUT` and waits to be completed (see :meth:`complete`)."""
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "artifacts").mkdir(exist_ok=True)
        quoted = shlex.quote(str(job_dir))
        echo = "\n".join(f"echo {shlex.quote(line)}" for line in self.OUTPUT)
        script = job_dir / "run.sh"
        script.write_text(
            "#!/usr/bin/env bash\n"
            f"cd {quoted} || exit 99\n"
            f"{echo}\n"
            "echo ok > artifacts/contract.txt\n"
            "while [ ! -e release ]; do sleep 0.05; done\n"
            'exit "$(cat release)"\n'
        )
        script.chmod(0o755)
        return RenderedJob(job_id=f"contract.{job_dir.name}", job_dir=job_dir, script=script)

    def complete(self, scheduler: Scheduler, job: RenderedJob, handle: str, exit_code: int) -> None:
        """Make the submitted ``job`` end with ``exit_code`` (default: write its release file)."""
        _write_atomically(job.job_dir / "release", f"{exit_code}\n")

    def unknown_handle(self) -> str:
        """A handle this scheduler never issued."""
        return "nel-contract-no-such-job"

    def wait_ended(self, scheduler: Scheduler, handle: str) -> StateReport:
        """Poll until the job's state is terminal; fail the test after :attr:`timeout`."""
        deadline = time.monotonic() + self.timeout
        while True:
            report = scheduler.states([handle])[handle]
            if report.state.is_terminal:
                return report
            if time.monotonic() > deadline:
                pytest.fail(f"job {handle} did not end within {self.timeout} s: {report}")
            time.sleep(self.poll_interval)

    # ------------------------------------------------------------------------------ helpers

    def _submit(self, scheduler: Scheduler, job_dir: Path) -> tuple[RenderedJob, str]:
        job = self.make_job(job_dir)
        return job, scheduler.submit(job)

    # -------------------------------------------------------------------------------- tests

    def test_declares_name_and_capabilities(self, scheduler: Scheduler) -> None:
        """A scheduler has a name and declares its capabilities as Capability values."""
        assert isinstance(scheduler.name, str) and scheduler.name
        assert all(isinstance(c, Capability) for c in scheduler.capabilities)

    def test_submit_gives_distinct_handles(self, scheduler: Scheduler, job_root: Path) -> None:
        """Every submitted job gets its own non-empty handle."""
        handles = [self._submit(scheduler, job_root / f"job{i}")[1] for i in range(3)]
        assert all(isinstance(h, str) and h for h in handles)
        assert len(set(handles)) == 3

    def test_states_of_many_handles_in_one_call(self, scheduler: Scheduler, job_root: Path) -> None:
        """One states() call answers for every handle asked, each still active."""
        handles = [self._submit(scheduler, job_root / f"job{i}")[1] for i in range(4)]
        reports = scheduler.states(handles)
        assert set(reports) == set(handles)
        assert all(report.state.is_active for report in reports.values()), reports

    def test_find_gives_the_handle_or_nothing(self, scheduler: Scheduler, job_root: Path) -> None:
        """find() of a submitted job's script gives its handle (or "" if it cannot find jobs);
        of a script never submitted, ""."""
        job, handle = self._submit(scheduler, job_root / "job")
        deadline = time.monotonic() + self.timeout
        found = scheduler.find(job.script)
        while found == "" and time.monotonic() < deadline and self.finds_jobs:
            time.sleep(self.poll_interval)
            found = scheduler.find(job.script)
        assert found in ((handle,) if self.finds_jobs else ("", handle))
        assert scheduler.find(job_root / "never" / "run.sh") == ""

    def test_states_of_no_handles_is_empty(self, scheduler: Scheduler) -> None:
        """states() of no handles answers an empty mapping."""
        assert scheduler.states([]) == {}

    def test_unknown_handle_gives_unknown(self, scheduler: Scheduler, job_root: Path) -> None:
        """A handle never issued is UNKNOWN with a reason, beside known ones in the same call."""
        _, handle = self._submit(scheduler, job_root / "job")
        unknown = self.unknown_handle()
        reports = scheduler.states([handle, unknown])
        assert reports[unknown].state is JobState.UNKNOWN
        assert reports[unknown].reason
        assert reports[handle].state.is_active

    def test_job_exiting_zero_ends_without_failure(
        self, scheduler: Scheduler, job_root: Path
    ) -> None:
        """A job whose script exits 0 ends neither FAILED nor KILLED."""
        job, handle = self._submit(scheduler, job_root / "job")
        self.complete(scheduler, job, handle, 0)
        report = self.wait_ended(scheduler, handle)
        assert report.state is JobState.SUCCESS
        assert report.exit_code in (0, None)

    def test_job_exiting_nonzero_fails(self, scheduler: Scheduler, job_root: Path) -> None:
        """A job whose script exits 3 ends FAILED, with exit code 3 where the backend knows it."""
        job, handle = self._submit(scheduler, job_root / "job")
        self.complete(scheduler, job, handle, 3)
        report = self.wait_ended(scheduler, handle)
        assert report.state is JobState.FAILED
        assert report.exit_code in (3, None)

    def test_jobs_end_independently(self, scheduler: Scheduler, job_root: Path) -> None:
        """Ending one job leaves the others running."""
        first, first_handle = self._submit(scheduler, job_root / "first")
        _, second_handle = self._submit(scheduler, job_root / "second")
        self.complete(scheduler, first, first_handle, 0)
        self.wait_ended(scheduler, first_handle)
        assert scheduler.states([second_handle])[second_handle].state.is_active

    def test_cancel_stops_a_running_job(self, scheduler: Scheduler, job_root: Path) -> None:
        """A cancelled job ends KILLED (or FAILED where the backend cannot tell)."""
        _, handle = self._submit(scheduler, job_root / "job")
        scheduler.cancel(handle)
        report = self.wait_ended(scheduler, handle)
        assert report.state in (JobState.KILLED, JobState.FAILED)

    def test_cancel_of_an_ended_job_is_fine(self, scheduler: Scheduler, job_root: Path) -> None:
        """Cancelling an ended job raises nothing and does not change how it ended."""
        job, handle = self._submit(scheduler, job_root / "job")
        self.complete(scheduler, job, handle, 0)
        before = self.wait_ended(scheduler, handle)
        scheduler.cancel(handle)
        scheduler.cancel(handle)
        assert scheduler.states([handle])[handle].state is before.state

    def test_logs_hold_the_job_output(self, scheduler: Scheduler, job_root: Path) -> None:
        """With LOG_STREAMING, logs() of an ended job give the lines it printed."""
        if Capability.LOG_STREAMING not in scheduler.capabilities:
            pytest.skip("the scheduler does not declare LOG_STREAMING")
        job, handle = self._submit(scheduler, job_root / "job")
        self.complete(scheduler, job, handle, 0)
        self.wait_ended(scheduler, handle)
        text = "".join(scheduler.logs(handle))
        assert all(line in text for line in self.OUTPUT), text

    def test_follow_returns_when_the_job_ends(self, scheduler: Scheduler, job_root: Path) -> None:
        """With LOG_STREAMING, logs(follow=True) streams lines and returns once the job ends."""
        if Capability.LOG_STREAMING not in scheduler.capabilities:
            pytest.skip("the scheduler does not declare LOG_STREAMING")
        job, handle = self._submit(scheduler, job_root / "job")
        lines: list[str] = []
        errors: list[BaseException] = []

        def follow() -> None:
            try:
                lines.extend(scheduler.logs(handle, follow=True))
            except BaseException as exc:  # handed to the test thread
                errors.append(exc)

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        time.sleep(0.2)
        assert reader.is_alive(), "logs(follow=True) returned while the job was running"
        self.complete(scheduler, job, handle, 0)
        reader.join(self.timeout)
        assert not reader.is_alive(), "logs(follow=True) did not return after the job ended"
        assert not errors, errors
        assert all(line in "".join(lines) for line in self.OUTPUT), lines

    def test_undeclared_abilities_refuse(self, scheduler: Scheduler, job_root: Path) -> None:
        """Without LOG_STREAMING or ARTIFACT_COPY, logs() or fetch_artifacts() refuse."""
        job, handle = self._submit(scheduler, job_root / "job")
        if Capability.LOG_STREAMING not in scheduler.capabilities:
            with pytest.raises(SchedulingError):
                list(scheduler.logs(handle))
        if Capability.ARTIFACT_COPY not in scheduler.capabilities:
            with pytest.raises(SchedulingError):
                scheduler.fetch_artifacts(handle, job_root / "copy")

    def test_fetch_artifacts_copies_them(self, scheduler: Scheduler, job_root: Path) -> None:
        """With ARTIFACT_COPY, an ended job's artifacts are copied under the destination."""
        if Capability.ARTIFACT_COPY not in scheduler.capabilities:
            pytest.skip("the scheduler does not declare ARTIFACT_COPY")
        job, handle = self._submit(scheduler, job_root / "job")
        self.complete(scheduler, job, handle, 0)
        self.wait_ended(scheduler, handle)
        copied = scheduler.fetch_artifacts(handle, job_root / "copy")
        assert [p.read_text() for p in copied.rglob("contract.txt")] == ["ok\n"]


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text)
    os.replace(temp, path)
