"""The third party's executor of tests/plugin_example against the Executor and Scheduler contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nel_plugin_example.executor import SPEC, ProcsExecutor

from nel_core.ports import ExecutorSpec, Scheduler
from nel_core.testing.contracts import ExecutorContract, SchedulerContract


class TestProcsExecutorContract(ExecutorContract):
    """Each job a detached process; two at most at once."""

    @pytest.fixture
    def executor_spec(self) -> ExecutorSpec:
        return SPEC

    @pytest.fixture
    def execution(self, tmp_path: Path) -> dict[str, Any]:
        return {"type": "procs", "output_dir": str(tmp_path / "out"), "max_parallel": 2}


class TestProcsSchedulerContract(SchedulerContract):
    """The scheduler the procs executor composes, as that executor builds it."""

    finds_jobs = True

    @pytest.fixture
    def scheduler(self, tmp_path: Path) -> Scheduler:
        return ProcsExecutor(SPEC.config_type(type="procs", output_dir=str(tmp_path)), home=tmp_path).scheduler
