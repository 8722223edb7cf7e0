"""Contract of :class:`~nel_core.ports.Executor`: a whole run, driven through core's services."""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from nel_core.catalog import load_catalog
from nel_core.converter import structure, structure_run_config
from nel_core.models.domain import Job, JobState, StateReport
from nel_core.ports.capabilities import Capability
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_core.ports.invocation_store import InvocationStore
from nel_core.services.launch import Launched, launch, make_plan
from nel_core.services.plan import Plan
from nel_core.testing._builders import run_config_data
from nel_core.testing._store import InMemoryInvocationStore

__all__ = ["CONTRACT_HARNESS", "ExecutorContract", "ExecutorHarness", "contract_plan"]

#: The harness command of the contract's jobs (``sh``): it prints a line, waits for a file
#: ``release`` in its working directory (the job's folder), then writes a score into its output
#: directory when the release says 0, copies the job folder's ``requests.json`` (if any) there as
#: its request statistics (``nel_requests.json``), and exits with the code the release holds.
CONTRACT_HARNESS = (
    'echo "nel contract: running"; '
    'out=$(sed -n "s/^ *output_dir: *//p" {run_config} | tr -d "\\"'"'"'"); '
    "while [ ! -e release ]; do sleep 0.05; done; code=$(cat release); "
    'if [ "$code" = 0 ]; then printf "results:\\n  tasks:\\n    contract:\\n      metrics:\\n'
    '        accuracy:\\n          scores:\\n            correct:\\n              value: 1.0\\n"'
    ' > "$out/results.yml"; fi; '
    'if [ -e requests.json ]; then cp requests.json "$out/nel_requests.json"; fi; exit "$code"'
)


def contract_plan(
    executor: Executor, execution: Mapping[str, Any], endpoint: str, tasks: int, store: InvocationStore
) -> Plan:
    """A plan of ``tasks`` jobs of the contract harness (no requirements) against ``endpoint``."""
    data = run_config_data(execution["output_dir"], tasks=["nel_bench.arithmetic"] * tasks, url=endpoint)
    data["execution"] = dict(execution)
    config = structure_run_config(data, type(executor.config))
    plan = make_plan(config, executor=executor, catalog=load_catalog(), store=store)
    jobs = [attrs.evolve(job, command=CONTRACT_HARNESS, pip_requirements=[]) for job in plan.jobs]
    return attrs.evolve(plan, jobs=jobs)


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


class ExecutorHarness:
    """Fixtures and helpers to drive an executor through core's services (see ExecutorContract).

    Each test plans a run of the catalog task ``nel_bench.arithmetic`` against a local HTTP
    endpoint, replaces the harness command with :data:`CONTRACT_HARNESS` (no requirements to
    install), launches it through core's launch service, and drives it with :meth:`release`.
    Every executor is built through its spec's factory from the execution mapping, as a CLI
    process rebuilds it from the recorded config; tests build a second one to check that jobs
    are answered for by an executor that did not start them.
    """

    #: Seconds a job may take to reach a state before the test fails.
    timeout = 60.0
    poll_interval = 0.1
    #: A line a released job's log holds (what the contract harness prints).
    log_line = "nel contract: running"

    @pytest.fixture
    def executor_spec(self) -> ExecutorSpec:
        """Override: the registration of the executor under test."""
        raise NotImplementedError("subclasses provide the 'executor_spec' fixture")

    @pytest.fixture
    def execution(self, tmp_path: Path) -> dict[str, Any]:
        """Override: the ``execution`` section (a plain mapping, output_dir under ``tmp_path``)."""
        raise NotImplementedError("subclasses provide the 'execution' fixture")

    @pytest.fixture
    def home(self, tmp_path: Path) -> Path:
        """NEL_HOME of the executors under test."""
        return tmp_path / "home"

    @pytest.fixture
    def endpoint(self) -> Iterator[str]:
        """An HTTP server on 127.0.0.1 that answers every GET (the run's external endpoint)."""
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
        server.shutdown()

    @pytest.fixture
    def build(
        self, executor_spec: ExecutorSpec, execution: dict[str, Any], home: Path
    ) -> Callable[[], Executor]:
        """Builds a fresh executor from the execution mapping (as each CLI command does)."""
        return lambda: executor_spec.factory(
            structure(execution, executor_spec.config_type, path="execution"), home
        )

    # -------------------------------------------------------------------------------- hooks

    def release(self, executor: Executor, job: Job, exit_code: int) -> None:
        """Make a running contract job end with ``exit_code`` (default: write its release file)."""
        temp = Path(job.job_dir) / ".release.tmp"
        temp.write_text(f"{exit_code}\n")
        os.replace(temp, Path(job.job_dir) / "release")

    def report_requests(self, executor: Executor, job: Job, counts: Mapping[str, Any]) -> None:
        """Have a contract job's harness report ``counts`` as its request statistics when released.

        ``counts`` is a ``nel_requests.json`` document (see :mod:`nel_core.services.requests`);
        by default it goes into the job's folder as ``requests.json``, which the harness copies.
        """
        (Path(job.job_dir) / "requests.json").write_text(json.dumps(dict(counts)))

    def assert_stopped(self, executor: Executor, job: Job) -> None:
        """Check that nothing of a killed job still runs (default: its process group is gone)."""
        from nel_core.host.processes import alive

        pid_file = Path(job.job_dir) / "job.pid"
        if pid_file.exists():
            handle = pid_file.read_text().strip()
            deadline = time.monotonic() + self.timeout
            while alive(handle) and time.monotonic() < deadline:
                time.sleep(self.poll_interval)
            assert not alive(handle), f"job {job.id} still runs after kill"

    def leftover_processes(self, root: Path) -> list[str]:
        """Processes of jobs under ``root`` still running (default: this host's, by their folders)."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cwd = os.readlink(proc / "cwd")
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cwd.startswith(str(root)) or str(root) in cmdline:
                found.append(f"{proc.name}: {cmdline.strip()[:120]}")
        return found

    @pytest.fixture(autouse=True)
    def _reap(self, tmp_path: Path) -> Iterator[None]:
        """After each test, whatever it left running under its folder is killed (even when it failed)."""
        yield
        for described in self.leftover_processes(tmp_path):
            try:
                os.kill(int(described.split(":", 1)[0]), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    # ------------------------------------------------------------------------------ helpers

    def launch(
        self,
        build: Callable[[], Executor],
        execution: Mapping[str, Any],
        endpoint: str,
        tasks: int = 1,
        store: InvocationStore | None = None,
    ) -> tuple[Executor, Launched]:
        """Launch a run of ``tasks`` contract jobs; the executor that launched it, and the record."""
        executor = build()
        store = store if store is not None else InMemoryInvocationStore()
        plan = contract_plan(executor, execution, endpoint, tasks, store)
        launched = launch(plan, executor=executor, store=store, environ=os.environ)
        return executor, launched

    def wait_for(
        self, executor: Executor, jobs: Sequence[Job], done: Callable[[StateReport], bool]
    ) -> dict[str, StateReport]:
        """Poll ``executor.states`` (one call for all jobs) until ``done`` holds for each."""
        deadline = time.monotonic() + self.timeout
        while True:
            reports = executor.states(jobs)
            assert set(reports) == {job.id for job in jobs}
            if all(done(report) for report in reports.values()):
                return reports
            if time.monotonic() > deadline:
                pytest.fail(f"jobs did not get there within {self.timeout} s: {reports}")
            time.sleep(self.poll_interval)

    @staticmethod
    def _with_handles(jobs: Sequence[Job], handles: Mapping[str, str]) -> list[Job]:
        return [attrs.evolve(job, handle=handles.get(job.id, job.handle)) for job in jobs]


class ExecutorContract(ExecutorHarness):
    """What every executor does. Subclass it and provide the ``executor_spec`` and ``execution`` fixtures.

    See :class:`ExecutorHarness` for how each test launches its jobs.
    """

    def test_declares_name_and_capabilities(self, build: Callable[[], Executor]) -> None:
        """An executor has a name and declares its capabilities as Capability values."""
        executor = build()
        assert isinstance(executor.name, str) and executor.name
        assert all(isinstance(c, Capability) for c in executor.capabilities)

    def test_jobs_run_and_succeed(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """Two launched jobs are active, then SUCCESS once their harness writes a score and exits 0."""
        executor, launched = self.launch(build, execution, endpoint, tasks=2)
        assert [job.state for job in launched.jobs] == [JobState.PENDING] * 2
        assert all(job.handle for job in launched.jobs)
        self.wait_for(executor, launched.jobs, lambda r: r.state.is_active)
        for job in launched.jobs:
            self.release(executor, job, 0)
        reports = self.wait_for(executor, launched.jobs, lambda r: r.state.is_terminal)
        assert {r.state for r in reports.values()} == {JobState.SUCCESS}, reports

    def test_failing_harness_fails_the_job(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """A harness exiting 3 makes its job FAILED, with the exit code where the executor knows it."""
        executor, launched = self.launch(build, execution, endpoint)
        job = launched.jobs[0]
        self.release(executor, job, 3)
        report = self.wait_for(executor, [job], lambda r: r.state.is_terminal)[job.id]
        assert report.state is JobState.FAILED
        assert report.exit_code in (3, None)

    def test_request_failures_past_the_limit_fail_the_job(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """A harness that exits 0 with a score but 9 of 10 failed requests fails its job, naming the
        endpoint and the first error; 1 of 100 is a success that carries the counts."""
        executor, launched = self.launch(build, execution, endpoint, tasks=2)
        failing, flaky = launched.jobs
        first_error = {"status": 503, "url": "http://localhost:1/v1", "message": "HTTP 503"}
        self.report_requests(executor, failing, {"requests": 10, "failed": 9, "first_error": first_error})
        self.report_requests(executor, flaky, {"requests": 100, "failed": 1, "first_error": first_error})
        for job in launched.jobs:
            self.release(executor, job, 0)
        reports = self.wait_for(executor, launched.jobs, lambda r: r.state.is_terminal)
        failed, succeeded = reports[failing.id], reports[flaky.id]
        assert failed.state is JobState.FAILED, failed
        assert f"9 of 10 requests to {endpoint} failed" in failed.reason
        assert "HTTP 503 Service Unavailable" in failed.reason and "localhost:1" not in failed.reason
        assert succeeded.state is JobState.SUCCESS, succeeded
        assert succeeded.requests is not None
        assert (succeeded.requests.total, succeeded.requests.failed) == (100, 1)

    def test_logs_hold_the_job_output(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """logs() of an ended job hold what its harness printed; with follow, it returns once it ends."""
        executor, launched = self.launch(build, execution, endpoint)
        job = launched.jobs[0]
        self.release(executor, job, 0)
        self.wait_for(executor, [job], lambda r: r.state.is_terminal)
        assert self.log_line in "".join(executor.logs(job))
        if Capability.LOG_STREAMING in executor.capabilities:
            assert self.log_line in "".join(executor.logs(job, follow=True))

    def test_kill_stops_a_running_job(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """kill() of a running job makes it KILLED and leaves nothing of it running."""
        executor, launched = self.launch(build, execution, endpoint)
        self.wait_for(executor, launched.jobs, lambda r: r.state.is_active)
        executor.kill(launched.invocation, launched.jobs)
        report = self.wait_for(executor, launched.jobs, lambda r: r.state.is_terminal)
        assert {r.state for r in report.values()} == {JobState.KILLED}, report
        for job in launched.jobs:
            self.assert_stopped(executor, job)

    def test_fresh_executor_answers_for_jobs_it_did_not_start(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """An executor rebuilt from the config answers states() and kill() from Job records alone."""
        _, launched = self.launch(build, execution, endpoint, tasks=2)
        other = build()
        self.wait_for(other, launched.jobs, lambda r: r.state.is_active)
        other.kill(launched.invocation, launched.jobs)
        reports = self.wait_for(build(), launched.jobs, lambda r: r.state.is_terminal)
        assert {r.state for r in reports.values()} == {JobState.KILLED}, reports

    def test_resume_reruns_killed_jobs(
        self, build: Callable[[], Executor], execution: dict[str, Any], endpoint: str
    ) -> None:
        """With RESUME, killed jobs re-run in place under new handles and can then succeed."""
        executor, launched = self.launch(build, execution, endpoint)
        if Capability.RESUME not in executor.capabilities:
            pytest.skip("the executor does not declare RESUME")
        self.wait_for(executor, launched.jobs, lambda r: r.state.is_active)
        executor.kill(launched.invocation, launched.jobs)
        self.wait_for(executor, launched.jobs, lambda r: r.state.is_terminal)
        again = build()
        jobs = self._with_handles(launched.jobs, again.resume(launched.invocation, launched.jobs))
        assert all(job.handle for job in jobs)
        self.wait_for(again, jobs, lambda r: r.state.is_active)
        for job in jobs:
            self.release(again, job, 0)
        reports = self.wait_for(again, jobs, lambda r: r.state.is_terminal)
        assert {r.state for r in reports.values()} == {JobState.SUCCESS}, reports
