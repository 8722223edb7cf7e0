"""The third party's executor of tests/plugin_example against the Executor and Scheduler contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nel_plugin_example.executor import SPEC, ProcsExecutor

from nel_core.ports import ExecutorSpec, Scheduler
from nel_core.testing.contracts import ExecutorContract, FaultInjectionContract, SchedulerContract


class _ProcsExecution:
    """Each job a detached process; two at most at once."""

    @pytest.fixture
    def executor_spec(self) -> ExecutorSpec:
        return SPEC

    @pytest.fixture
    def execution(self, tmp_path: Path) -> dict[str, Any]:
        return {"type": "procs", "output_dir": str(tmp_path / "out"), "max_parallel": 2}


class TestProcsExecutorContract(_ProcsExecution, ExecutorContract):
    """The procs executor against the Executor contract."""


class TestProcsExecutorFaultsContract(_ProcsExecution, FaultInjectionContract):
    """The procs executor under crashes, failing stores and its job wrappers killed outright."""


class TestProcsSchedulerContract(SchedulerContract):
    """The scheduler the procs executor composes, as that executor builds it."""

    finds_jobs = True

    @pytest.fixture
    def scheduler(self, tmp_path: Path) -> Scheduler:
        return ProcsExecutor(SPEC.config_type(type="procs", output_dir=str(tmp_path)), home=tmp_path).scheduler
