"""Fault injection for executors: launches cut short, stores and disks that fail, supervisors that die.

Every executor runs this suite (as :class:`ExecutorContract`), on the same fixtures. After each
fault it checks what a user relies on: no job runs that the store does not know of, no folder
holding secrets that nothing points to, ``status`` tells the truth, and ``kill`` leaves nothing
running. The executor must be registered under ``nel.executors`` (the launches that are killed
run in a child process that finds it there).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from nel_core.converter import structure
from nel_core.errors import NelError, StoreError
from nel_core.host.processes import alive
from nel_core.models.domain import Invocation, Job
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_core.ports.invocation_store import InvocationStore
from nel_core.services.control import kill
from nel_core.services.crash import CRASH_POINTS
from nel_core.services.launch import launch
from nel_core.services.status import inferred, refresh
from nel_core.store import SqliteInvocationStore
from nel_core.testing.contracts.executor import ExecutorHarness, contract_plan

__all__ = ["FailingStore", "FaultInjectionContract"]

# A launch in a child process, so that it can be killed at a crash point.
_LAUNCHER = """
import json, os, sys
from pathlib import Path
from nel_core.converter import structure
from nel_core.plugins import load_executor
from nel_core.services.launch import launch
from nel_core.store import SqliteInvocationStore
from nel_core.testing.contracts.executor import contract_plan
args = json.loads(sys.argv[1])
spec = load_executor(args["executor"])
executor = spec.factory(structure(args["execution"], spec.config_type, path="execution"), Path(args["home"]))
store = SqliteInvocationStore(Path(args["home"]))
plan = contract_plan(executor, args["execution"], args["endpoint"], args["tasks"], store)
launch(plan, executor=executor, store=store, environ=os.environ)
"""


class FailingStore(InvocationStore):
    """An invocation store whose ``fail_at``-th write fails (reads and other writes pass through)."""

    def __init__(self, inner: InvocationStore, fail_at: int) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.writes = 0

    def _write(self) -> None:
        self.writes += 1
        if self.writes == self.fail_at:
            raise StoreError(f"injected failure of write {self.writes}")

    def add(self, invocation: Invocation, jobs: Sequence[Job]) -> None:
        self._write()
        self.inner.add(invocation, jobs)

    def update_job(self, job: Job) -> None:
        self._write()
        self.inner.update_job(job)

    def update_invocation_data(self, invocation_id: str, data: dict[str, Any]) -> None:
        self._write()
        self.inner.update_invocation_data(invocation_id, data)

    def set_invocation_status(self, invocation_id: str, status: str) -> None:
        self._write()
        self.inner.set_invocation_status(invocation_id, status)

    def remove(self, invocation_id: str) -> None:
        self._write()
        self.inner.remove(invocation_id)

    def invocation_ids(self) -> set[str]:
        return self.inner.invocation_ids()

    def get_invocation(self, id_or_prefix: str) -> Invocation:
        return self.inner.get_invocation(id_or_prefix)

    def list_invocations(self, *, since: float | None = None, executor: str | None = None) -> list[Invocation]:
        return self.inner.list_invocations(since=since, executor=executor)

    def jobs(self, invocation_id: str) -> list[Job]:
        return self.inner.jobs(invocation_id)

    def get_job(self, id_or_prefix: str) -> Job:
        return self.inner.get_job(id_or_prefix)


class FaultInjectionContract(ExecutorHarness):
    """Faults every executor must survive. Subclass it with the fixtures of :class:`ExecutorContract`."""

    #: Writes to fail, one launch each: the record, the handles, the status (and beyond: none).
    store_writes = (1, 2, 3, 4)

    # -------------------------------------------------------------------------------- hooks

    def kill_supervision(self, executor: Executor, job: Job) -> str:
        """Kill, outright, what supervises ``job``; return its process handle to wait on ("" if
        none). Default: the process group of the scheduler's handle (``pid:start@...``)."""
        handle = job.handle.partition("@")[0]
        pid = int(handle.partition(":")[0]) if handle[:1].isdigit() else 0
        if pid and alive(handle):
            os.killpg(pid, signal.SIGKILL)
        return handle

    # ------------------------------------------------------------------------------ helpers

    @staticmethod
    def _status(build: Callable[[], Executor], store: InvocationStore, invocation: Invocation) -> list[Job]:
        return refresh(store, lambda _: build(), [(invocation, store.jobs(invocation.id))])

    def _check(self, build: Callable[[], Executor], store: InvocationStore, root: Path) -> list[Job]:
        """Status is true and kill leaves nothing; no secret lies outside a recorded invocation."""
        invocations = store.list_invocations()
        folders = [Path(i.output_dir) for i in invocations] + [root / f".{i.id}.partial" for i in invocations]
        for secret in root.rglob("secrets.env"):
            assert any(folder in secret.parents for folder in folders), f"{secret}: no record points to it"
        if not invocations:
            assert self.leftover_processes(root) == [], "jobs run that nothing recorded"
            return []
        everything: list[Job] = []
        for invocation in invocations:
            jobs = self._status(build, store, invocation)
            running = self.leftover_processes(Path(invocation.output_dir))
            for job in jobs:
                # While anything of the invocation runs, no job may be called ended on a guess.
                assert not (running and job.state.is_terminal and inferred(job)), (
                    f"{job.id}: status says {job.state} ({job.reason}) while {running[0]} runs"
                )
            kill(store, lambda _: build(), invocation, jobs)
            everything += jobs
        deadline = time.monotonic() + self.timeout
        while self.leftover_processes(root) and time.monotonic() < deadline:
            time.sleep(self.poll_interval)
        assert self.leftover_processes(root) == [], "kill left processes running"
        assert not list(root.glob(".*.partial")), "kill left a half-written folder"
        return everything

    @pytest.fixture
    def small_disk(self, tmp_path: Path) -> Iterator[Path]:
        """A 4 MB filesystem of its own (a tmpfs; mounting one needs root)."""
        mount = tmp_path / "small-disk"
        mount.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"a full disk is simulated with a small tmpfs, and mounting one failed: {done.stderr.strip()}")
        yield mount
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)

    @staticmethod
    def fill(disk: Path) -> Path:
        """Fill ``disk`` to its last byte; the filler file (delete it to free the disk)."""
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (65536, 1):  # big writes, then the last bytes one at a time
                try:
                    while os.write(fd, b"\0" * size):
                        pass
                except OSError:
                    pass
        finally:
            os.close(fd)
        return filler

    @pytest.fixture
    def sqlite_store(self, home: Path) -> Iterator[SqliteInvocationStore]:
        store = SqliteInvocationStore(home)
        yield store
        store.close()

    # -------------------------------------------------------------------------------- tests

    @pytest.mark.parametrize("point", CRASH_POINTS)
    def test_launch_killed_at_each_step(
        self,
        point: str,
        executor_spec: ExecutorSpec,
        execution: dict[str, Any],
        endpoint: str,
        home: Path,
        build: Callable[[], Executor],
        sqlite_store: SqliteInvocationStore,
    ) -> None:
        """A launch SIGKILLed at each step leaves nothing, or a record status tells truly and kill stops."""
        args = {"executor": executor_spec.name, "execution": execution, "endpoint": endpoint,
                "tasks": 2, "home": str(home)}  # fmt: skip
        env = {**os.environ, "NEL_TEST_CRASH_AT": point, "NEL_HOME": str(home)}
        child = subprocess.run([sys.executable, "-c", _LAUNCHER, json.dumps(args)], env=env,
                               capture_output=True, text=True, timeout=self.timeout)  # fmt: skip
        assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
        self._check(build, sqlite_store, Path(execution["output_dir"]))

    def test_store_failing_at_each_write(
        self,
        execution: dict[str, Any],
        endpoint: str,
        build: Callable[[], Executor],
        sqlite_store: SqliteInvocationStore,
    ) -> None:
        """A store failing at any write of a launch leaves nothing running, and nothing half-recorded."""
        for fail_at in self.store_writes:
            store = FailingStore(sqlite_store, fail_at)
            executor = build()
            plan = contract_plan(executor, execution, endpoint, 2, store)
            try:
                launch(plan, executor=executor, store=store, environ=os.environ)
            except NelError:
                assert plan.invocation_id not in sqlite_store.invocation_ids(), f"write {fail_at}"
            self._check(build, sqlite_store, Path(execution["output_dir"]))

    def test_supervision_killed_while_jobs_run(
        self,
        execution: dict[str, Any],
        endpoint: str,
        build: Callable[[], Executor],
        sqlite_store: SqliteInvocationStore,
    ) -> None:
        """When what supervises the jobs dies, status says what the jobs do, and re-reads an inferred end."""
        executor, launched = self.launch(build, execution, endpoint, tasks=1, store=sqlite_store)
        self.wait_for(executor, launched.jobs, lambda r: r.state.is_active)
        supervision = self.kill_supervision(executor, launched.jobs[0])
        deadline = time.monotonic() + self.timeout
        while supervision and alive(supervision) and time.monotonic() < deadline:
            time.sleep(self.poll_interval)
        job = self._status(build, sqlite_store, launched.invocation)[0]
        pid_file = Path(job.job_dir, "job.pid")
        survived = pid_file.exists() and alive(pid_file.read_text().strip())
        assert job.state.is_active == survived, f"{job.state} ({job.reason}); job process alive: {survived}"
        if survived:
            self.release(build(), job, 0)
            deadline = time.monotonic() + self.timeout
            while not job.state.is_terminal and time.monotonic() < deadline:
                time.sleep(self.poll_interval)
                job = self._status(build, sqlite_store, launched.invocation)[0]
            assert job.state.value == "success", f"{job.state}: {job.reason}"
        self._check(build, sqlite_store, Path(execution["output_dir"]))

    @staticmethod
    def _builder(executor_spec: ExecutorSpec, execution: dict[str, Any], home: Path) -> Callable[[], Executor]:
        config = structure(execution, executor_spec.config_type, path="execution")
        return lambda: executor_spec.factory(config, home)

    def test_full_disk_at_launch(
        self,
        executor_spec: ExecutorSpec,
        execution: dict[str, Any],
        home: Path,
        endpoint: str,
        sqlite_store: SqliteInvocationStore,
        small_disk: Path,
    ) -> None:
        """A launch onto a full disk fails with one error naming the path and the cause, leaving nothing."""
        execution = {**execution, "output_dir": str(small_disk / "out")}
        self.fill(small_disk)
        executor = self._builder(executor_spec, execution, home)()
        plan = contract_plan(executor, execution, endpoint, 2, sqlite_store)
        with pytest.raises(NelError, match=r"No space left on device") as raised:
            launch(plan, executor=executor, store=sqlite_store, environ=os.environ)
        assert str(small_disk) in raised.value.message
        assert sqlite_store.list_invocations() == []
        assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]

    def test_full_disk_while_jobs_run(
        self,
        executor_spec: ExecutorSpec,
        execution: dict[str, Any],
        home: Path,
        endpoint: str,
        sqlite_store: SqliteInvocationStore,
        small_disk: Path,
    ) -> None:
        """A disk that fills while a job runs ends it failed, and the reason says the disk is full."""
        execution = {**execution, "output_dir": str(small_disk / "out")}
        build = self._builder(executor_spec, execution, home)
        executor, launched = self.launch(build, execution, endpoint, tasks=1, store=sqlite_store)
        self.wait_for(executor, launched.jobs, lambda r: r.state.is_active)
        reserve = small_disk / "reserve"
        reserve.write_bytes(b"\0" * 4096)  # room for the release file, once the disk is full
        filler = self.fill(small_disk)
        reserve.unlink()
        for _ in range(8):  # a job that wrote meanwhile took the room: give back a little more
            try:
                self.release(executor, launched.jobs[0], 0)
                break
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                os.truncate(filler, max(0, filler.stat().st_size - 8192))
        job = launched.jobs[0]
        deadline = time.monotonic() + self.timeout
        while not job.state.is_terminal and time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            job = self._status(build, sqlite_store, launched.invocation)[0]
        assert job.state.value == "failed" and "no space left" in job.reason, f"{job.state}: {job.reason}"
        filler.unlink()
        self._check(build, sqlite_store, small_disk)
