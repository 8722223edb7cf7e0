"""The ports of NEL: abstract base classes, one per module."""

from nel_core.ports.capabilities import Capability
from nel_core.ports.container_runtime import ContainerRuntime
from nel_core.ports.endpoint_provider import EndpointProvider
from nel_core.ports.executor import Executor, ExecutorSpec, JobPaths
from nel_core.ports.invocation_store import InvocationStore
from nel_core.ports.result_exporter import ExporterSpec, ExportItem, ExportReport, ResultExporter
from nel_core.ports.scheduler import RenderedJob, Scheduler

__all__ = [
    "Capability",
    "ContainerRuntime",
    "EndpointProvider",
    "Executor",
    "ExecutorSpec",
    "ExportItem",
    "ExportReport",
    "ExporterSpec",
    "InvocationStore",
    "JobPaths",
    "RenderedJob",
    "ResultExporter",
    "Scheduler",
]
