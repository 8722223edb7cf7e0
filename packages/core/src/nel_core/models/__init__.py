"""Frozen attrs models of NEL: the run config and the domain."""

from nel_core.models.config import (
    ApiEndpoint,
    AutoExport,
    DeploymentConfig,
    EvaluationConfig,
    ExecutionConfig,
    RunConfig,
    Target,
    TaskConfig,
)
from nel_core.models.domain import (
    ContainerSpec,
    Endpoint,
    EndpointSpec,
    Invocation,
    Job,
    JobSpec,
    JobState,
    Mount,
    StateReport,
)
from nel_core.models.results import JobResults, RequestStats, Score

__all__ = [
    "ApiEndpoint",
    "AutoExport",
    "ContainerSpec",
    "DeploymentConfig",
    "Endpoint",
    "EndpointSpec",
    "EvaluationConfig",
    "ExecutionConfig",
    "Invocation",
    "Job",
    "JobResults",
    "JobSpec",
    "JobState",
    "Mount",
    "RequestStats",
    "RunConfig",
    "Score",
    "StateReport",
    "Target",
    "TaskConfig",
]
