"""The fakes of nel_core.testing (and the SQLite store) pass the ports' contract suites."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from nel_core.converter import structure_run_config
from nel_core.errors import NotFoundError
from nel_core.models.config import RunConfig
from nel_core.models.domain import Job
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import Executor, ExecutorSpec
from nel_core.ports.invocation_store import InvocationStore
from nel_core.ports.result_exporter import ResultExporter
from nel_core.ports.scheduler import RenderedJob, Scheduler
from nel_core.store import SqliteInvocationStore
from nel_core.testing import (
    FAKE_EXECUTOR_SPEC,
    FakeContainerRuntime,
    FakeEndpointProvider,
    FakeExecutionConfig,
    FakeExecutor,
    FakeResultExporter,
    FakeScheduler,
    InMemoryInvocationStore,
    reset_fake_backends,
    run_config_data,
)
from nel_core.testing.contracts import (
    ContainerRuntimeContract,
    EndpointProviderContract,
    ExecutorContract,
    InvocationStoreContract,
    ResultExporterContract,
    SchedulerContract,
)


class TestFakeContainerRuntimeContract(ContainerRuntimeContract):
    """FakeContainerRuntime against the container runtime contract."""

    timeout = 1.0

    @pytest.fixture
    def runtime(self) -> ContainerRuntime:
        return FakeContainerRuntime()

    def let_exit(self, runtime: ContainerRuntime, handle: str, exit_code: int) -> None:
        assert isinstance(runtime, FakeContainerRuntime)
        runtime.exit(handle, exit_code)

    def let_print(self, runtime: ContainerRuntime, handle: str, text: str) -> None:
        assert isinstance(runtime, FakeContainerRuntime)
        runtime.emit(handle, text)


class TestFakeSchedulerContract(SchedulerContract):
    """FakeScheduler against the scheduler contract (its jobs print the contract's output)."""

    timeout = 5.0

    @pytest.fixture
    def scheduler(self) -> Scheduler:
        def program(scheduler: FakeScheduler, handle: str, job: RenderedJob) -> None:
            scheduler.emit(handle, *self.OUTPUT)

        return FakeScheduler(program=program)

    def complete(self, scheduler: Scheduler, job: RenderedJob, handle: str, exit_code: int) -> None:
        assert isinstance(scheduler, FakeScheduler)
        scheduler.finish(handle, exit_code)


class TestFakeEndpointProviderNoneContract(EndpointProviderContract):
    """FakeEndpointProvider serving ``deployment: none``."""

    @pytest.fixture
    def provider(self) -> EndpointProvider:
        return FakeEndpointProvider()


class TestFakeEndpointProviderServerContract(EndpointProviderContract):
    """FakeEndpointProvider serving a deployment that starts a server (vLLM)."""

    @pytest.fixture
    def provider(self) -> EndpointProvider:
        return FakeEndpointProvider()

    def config(self, tmp_path: Path) -> RunConfig:
        data = run_config_data(tmp_path, deployment={"type": "vllm", "served_model_name": "m"})
        return structure_run_config(data, FakeExecutionConfig)


class TestFakeResultExporterContract(ResultExporterContract):
    """FakeResultExporter against the exporter contract."""

    @pytest.fixture
    def exporter(self) -> ResultExporter:
        return FakeResultExporter({})

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        assert isinstance(exporter, FakeResultExporter)
        return [(record.job_id, record.scores) for record in exporter.records.values()]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        assert isinstance(exporter, FakeResultExporter)
        return {r.job_id: {"invocation_id": r.invocation_id, "task": r.task_name} for r in exporter.records.values()}


class TestInMemoryInvocationStoreContract(InvocationStoreContract):
    """InMemoryInvocationStore against the invocation store contract."""

    @pytest.fixture
    def store(self) -> InvocationStore:
        return InMemoryInvocationStore()


class TestSqliteInvocationStoreContract(InvocationStoreContract):
    """SqliteInvocationStore against the invocation store contract, reopened from its file."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> InvocationStore:
        return SqliteInvocationStore(tmp_path / "home")

    def reopen(self, store: InvocationStore) -> InvocationStore:
        assert isinstance(store, SqliteInvocationStore)
        return SqliteInvocationStore(store.path.parent)

    def test_reading_a_missing_store_creates_no_file(self, tmp_path: Path) -> None:
        """Reads of a store that does not exist yet find nothing and create no file."""
        home = tmp_path / "nel-home"
        store = SqliteInvocationStore(home)
        assert store.invocation_ids() == set()
        assert store.list_invocations() == []
        assert store.jobs("00000000") == []
        with pytest.raises(NotFoundError):
            store.get_invocation("0000")
        assert not home.exists()


class TestFakeExecutorContract(ExecutorContract):
    """The fake executor, its jobs held running until the contract releases them."""

    log_line = "started"

    @pytest.fixture
    def executor_spec(self) -> ExecutorSpec:
        reset_fake_backends()
        return FAKE_EXECUTOR_SPEC

    @pytest.fixture
    def execution(self, tmp_path: Path) -> dict[str, Any]:
        return {"type": "fake", "output_dir": str(tmp_path / "out"), "auto_finish": False}

    def release(self, executor: Executor, job: Job, exit_code: int) -> None:
        assert isinstance(executor, FakeExecutor)
        executor.finish(job, succeed=exit_code == 0, exit_code=exit_code)

    def report_requests(self, executor: Executor, job: Job, counts: Mapping[str, Any]) -> None:
        # The fake's jobs run no harness: the statistics go where a harness writes them.
        (Path(job.job_dir) / "artifacts" / "nel_requests.json").write_text(json.dumps(dict(counts)))
