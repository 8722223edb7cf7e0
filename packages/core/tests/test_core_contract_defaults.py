"""The contract suites' default hooks work for adapters that really run things.

Two minimal real adapters, written here, pass the suites without overriding any hook: a
scheduler running each job's script as a process, and a runtime without containers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest

from nel_core.errors import SchedulingError
from nel_core.models.domain import ContainerSpec, JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.scheduler import RenderedJob, Scheduler
from nel_core.testing.contracts import ContainerRuntimeContract, SchedulerContract


class _ProcessScheduler(Scheduler):
    """Runs each job's script as a child process in its own session; logs to job.log."""

    name: ClassVar[str] = "process"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOG_STREAMING})

    def __init__(self) -> None:
        self.processes: dict[str, tuple[subprocess.Popen[bytes], RenderedJob]] = {}
        self.cancelled: set[str] = set()

    def submit(self, job: RenderedJob) -> str:
        with (job.job_dir / "job.log").open("wb") as log:
            process = subprocess.Popen(
                ["bash", str(job.script)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[str(process.pid)] = (process, job)
        return str(process.pid)

    def states(self, handles: Sequence[str]) -> dict[str, StateReport]:
        reports = {}
        for handle in handles:
            if handle not in self.processes:
                reports[handle] = StateReport(state=JobState.UNKNOWN, reason="no such process")
                continue
            code = self.processes[handle][0].poll()
            if code is None:
                reports[handle] = StateReport(state=JobState.RUNNING)
            elif handle in self.cancelled:
                reports[handle] = StateReport(state=JobState.KILLED, exit_code=code)
            else:
                state = JobState.SUCCESS if code == 0 else JobState.FAILED
                reports[handle] = StateReport(state=state, exit_code=code)
        return reports

    def cancel(self, handle: str) -> None:
        process = self.processes[handle][0]
        if process.poll() is None:
            self.cancelled.add(handle)
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()

    def logs(self, handle: str, *, follow: bool = False) -> Iterator[str]:
        if handle not in self.processes:
            raise SchedulingError(f"no job {handle}")
        process, job = self.processes[handle]
        with (job.job_dir / "job.log").open() as log:
            while True:
                ended = process.poll() is not None
                yield from log.readlines()
                if not follow or ended:
                    return
                time.sleep(0.05)


class TestProcessSchedulerContract(SchedulerContract):
    """A real process scheduler passes the scheduler contract with the default hooks."""

    timeout = 20.0
    poll_interval = 0.05

    @pytest.fixture
    def scheduler(self) -> Iterator[Scheduler]:
        scheduler = _ProcessScheduler()
        yield scheduler
        for handle, (process, _) in scheduler.processes.items():
            if process.poll() is None:
                scheduler.cancel(handle)


class _BareRuntime(ContainerRuntime):
    """No container at all: the command runs as it is (like the plain-process runtime)."""

    name: ClassVar[str] = "bare"

    def render(self, spec: ContainerSpec) -> list[str]:
        return list(spec.command)


class TestBareRuntimeContract(ContainerRuntimeContract):
    """A runtime without containers (no DIRECT_RUN) passes the runtime contract."""

    renders_image = False
    renders_mounts = False

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return _BareRuntime()
