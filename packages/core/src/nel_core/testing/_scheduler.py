"""A fake scheduler: jobs kept in memory, ended by the test that drives them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

import attrs

from nel_core.errors import SchedulingError
from nel_core.models.domain import JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.scheduler import RenderedJob, Scheduler

__all__ = ["FakeJob", "FakeScheduler", "Program"]

#: What a submitted job does when it starts, in place of running its script: it may
#: :meth:`FakeScheduler.emit` log lines, write into its directory, or even finish at once.
Program = Callable[["FakeScheduler", str, RenderedJob], None]


@attrs.define(kw_only=True)
class FakeJob:
    """One submitted job (mutable: it runs, ends, is cancelled)."""

    handle: str
    job: RenderedJob
    state: JobState = JobState.RUNNING
    exit_code: int | None = None
    log: list[str] = attrs.Factory(list)


class FakeScheduler(Scheduler):
    """A scheduler whose jobs live in memory and end when told (:meth:`finish`).

    Submitted jobs start RUNNING at once (or stay PENDING with ``start_pending``); they do not
    run their scripts: ``program``, when given, plays what the job does. It is safe to drive
    from several threads, so ``logs(follow=True)`` can wait for a job another thread ends.

    Args:
        program: Called for every submitted job (see :data:`Program`).
        start_pending: Leave new jobs PENDING until :meth:`start` is called.
        reachable: Whether the backend answers (an unreachable one answers UNKNOWN).
    """

    name: ClassVar[str] = "fake"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOG_STREAMING})

    def __init__(
        self,
        *,
        program: Program | None = None,
        start_pending: bool = False,
        reachable: bool = True,
    ) -> None:
        self.program = program
        self.start_pending = start_pending
        self.reachable = reachable
        self.jobs: dict[str, FakeJob] = {}
        self.submitted: list[RenderedJob] = []
        self.cancelled: list[str] = []
        self._next = 0
        self._changed = threading.Condition()

    def submit(self, job: RenderedJob) -> str:
        if not self.reachable:
            raise SchedulingError(f"scheduler '{self.name}' does not answer")
        with self._changed:
            self._next += 1
            handle = f"fake-job-{self._next}"
            state = JobState.PENDING if self.start_pending else JobState.RUNNING
            self.jobs[handle] = FakeJob(handle=handle, job=job, state=state)
            self.submitted.append(job)
        if self.program is not None:
            self.program(self, handle, job)
        return handle

    def states(self, handles: Sequence[str]) -> dict[str, StateReport]:
        if not self.reachable:
            reason = f"scheduler '{self.name}' does not answer"
            return {h: StateReport(state=JobState.UNKNOWN, reason=reason) for h in handles}
        with self._changed:
            return {handle: self._report(handle) for handle in handles}

    def _report(self, handle: str) -> StateReport:
        job = self.jobs.get(handle)
        if job is None:
            return StateReport(state=JobState.UNKNOWN, reason=f"no job {handle!r} here")
        reason = ""
        if job.state is JobState.KILLED:
            reason = "cancelled"
        elif job.state is JobState.FAILED:
            reason = f"exited with code {job.exit_code}"
        return StateReport(state=job.state, reason=reason, exit_code=job.exit_code)

    def cancel(self, handle: str) -> None:
        if not self.reachable:
            raise SchedulingError(f"scheduler '{self.name}' does not answer")
        with self._changed:
            job = self.jobs.get(handle)
            self.cancelled.append(handle)
            if job is not None and job.state.is_active:
                job.state = JobState.KILLED
                self._changed.notify_all()

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        """Lines the job emitted; with ``follow``, waits for more until the job ends."""
        if handle not in self.jobs:
            raise SchedulingError(f"scheduler '{self.name}' has no job {handle!r}")
        seen = 0
        while True:
            with self._changed:
                job = self.jobs[handle]
                if follow and seen == len(job.log) and job.state.is_active:
                    self._changed.wait()
                lines, ended = job.log[seen:], not job.state.is_active
            seen += len(lines)
            yield from lines
            if not follow or (ended and not lines):
                return

    # ----------------------------------------------------------------- controls for tests

    def start(self, handle: str) -> None:
        """Move a PENDING job to RUNNING."""
        with self._changed:
            job = self.jobs[handle]
            if job.state is JobState.PENDING:
                job.state = JobState.RUNNING
                self._changed.notify_all()

    def emit(self, handle: str, *lines: str) -> None:
        """Append lines to the job's log (a newline is added where missing)."""
        with self._changed:
            self.jobs[handle].log.extend(
                line if line.endswith("\n") else line + "\n" for line in lines
            )
            self._changed.notify_all()

    def finish(self, handle: str, exit_code: int = 0) -> None:
        """End an active job with ``exit_code`` (SUCCESS when 0, else FAILED)."""
        with self._changed:
            job = self.jobs[handle]
            if job.state.is_active:
                job.state = JobState.SUCCESS if exit_code == 0 else JobState.FAILED
                job.exit_code = exit_code
                self._changed.notify_all()

    def active(self) -> list[str]:
        """Handles of the jobs not yet ended."""
        with self._changed:
            return [h for h, job in self.jobs.items() if job.state.is_active]
