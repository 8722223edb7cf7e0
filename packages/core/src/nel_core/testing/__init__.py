"""Fakes of every port, for tests of NEL and of its plugins.

The fakes are honest in-memory implementations: they pass the same contract suites
(:mod:`nel_core.testing.contracts`, which need pytest) as the real adapters. Importing this
package needs nothing beyond nel-core itself; :mod:`nel_core.testing.strategies` needs
Hypothesis.
"""

from nel_core.testing._builders import (
    make_invocation,
    make_jobs,
    results_document,
    run_config_data,
    write_results,
)
from nel_core.testing._endpoint import FakeEndpointProvider
from nel_core.testing._executor import (
    FAKE_EXECUTOR_SPEC,
    FakeBackend,
    FakeExecutionConfig,
    FakeExecutor,
    fake_backend,
    reset_fake_backends,
)
from nel_core.testing._exporter import FAKE_EXPORTER_SPEC, ExportRecord, FakeResultExporter
from nel_core.testing._runs import ERROR, write_run
from nel_core.testing._runtime import FakeContainer, FakeContainerRuntime
from nel_core.testing._scheduler import FakeJob, FakeScheduler
from nel_core.testing._store import InMemoryInvocationStore

__all__ = [
    "ERROR",
    "FAKE_EXECUTOR_SPEC",
    "FAKE_EXPORTER_SPEC",
    "ExportRecord",
    "FakeBackend",
    "FakeContainer",
    "FakeContainerRuntime",
    "FakeEndpointProvider",
    "FakeExecutionConfig",
    "FakeExecutor",
    "FakeJob",
    "FakeResultExporter",
    "FakeScheduler",
    "InMemoryInvocationStore",
    "fake_backend",
    "make_invocation",
    "make_jobs",
    "reset_fake_backends",
    "results_document",
    "run_config_data",
    "write_results",
    "write_run",
]
