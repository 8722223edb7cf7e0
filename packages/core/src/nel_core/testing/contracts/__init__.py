"""Contract suites of the ports: one pytest base class per port, as fsspec's abstract tests.

An adapter's test module subclasses a suite (the subclass's name should contain ``Contract``, so
``pytest -k Contract`` selects it) and provides the suite's fixture; where a behaviour cannot be
observed through the port alone, the suite calls a small hook method the subclass may override::

    from nel_core.testing.contracts import SchedulerContract

    class TestSlurmSchedulerContract(SchedulerContract):
        @pytest.fixture
        def scheduler(self, slurm):
            return SlurmScheduler(slurm)

These modules import pytest; nothing else in nel-core does.
"""

from nel_core.testing.contracts.container_runtime import ContainerRuntimeContract
from nel_core.testing.contracts.endpoint_provider import EndpointProviderContract
from nel_core.testing.contracts.executor import ExecutorContract, ExecutorHarness
from nel_core.testing.contracts.faults import FailingStore, FaultInjectionContract
from nel_core.testing.contracts.invocation_store import InvocationStoreContract
from nel_core.testing.contracts.result_exporter import ResultExporterContract
from nel_core.testing.contracts.scheduler import SchedulerContract
from nel_core.testing.contracts.transport import TransportContract

__all__ = [
    "ContainerRuntimeContract",
    "EndpointProviderContract",
    "ExecutorContract",
    "ExecutorHarness",
    "FailingStore",
    "FaultInjectionContract",
    "InvocationStoreContract",
    "ResultExporterContract",
    "SchedulerContract",
    "TransportContract",
]
