"""Core's host toolkit adapters against their ports' contract suites."""

from __future__ import annotations

import pytest

from nel_core.host.scheduler import HostScheduler
from nel_core.ports.scheduler import Scheduler
from nel_core.testing.contracts import SchedulerContract


class TestHostSchedulerContract(SchedulerContract):
    """Scripts run detached on this host."""

    finds_jobs = True

    @pytest.fixture
    def scheduler(self) -> Scheduler:
        return HostScheduler()
