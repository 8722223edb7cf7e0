"""The local executor's lifecycle beyond the contract: a pending job killed never starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nel_core.models.domain import JobState
from nel_core.ports.executor import ExecutorSpec
from nel_core.testing.contracts import ExecutorHarness
from nel_executor_local.spec import SPEC


class TestPendingJobs(ExecutorHarness):
    """Two jobs in turn under one supervisor."""

    @pytest.fixture
    def executor_spec(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> ExecutorSpec:
        monkeypatch.setenv("NEL_HOME", str(home))
        return SPEC

    @pytest.fixture
    def execution(self, tmp_path: Path) -> dict[str, Any]:
        return {"type": "local", "output_dir": str(tmp_path / "out"), "runtime": "process", "mode": "sequential"}

    def test_killing_a_pending_job_keeps_it_from_starting(
        self, build: Any, execution: dict[str, Any], endpoint: str
    ) -> None:
        """A job killed while it waits its turn is never started; its sibling runs to the end."""
        executor, launched = self.launch(build, execution, endpoint, tasks=2)
        first, second = launched.jobs
        self.wait_for(executor, [first], lambda r: r.state is JobState.RUNNING)
        executor.kill(launched.invocation, [second])
        self.release(executor, first, 0)
        reports = self.wait_for(executor, launched.jobs, lambda r: r.state.is_terminal)
        assert (reports[first.id].state, reports[second.id].state) == (JobState.SUCCESS, JobState.KILLED)
        assert not (Path(second.job_dir) / "stage.pre-start").exists(), "the killed job started"
        assert not (Path(second.job_dir) / "job.log").exists()
