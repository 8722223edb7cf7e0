"""Optional abilities an adapter declares (never discovered through NotImplementedError)."""

from __future__ import annotations

import enum

__all__ = ["Capability"]


class Capability(str, enum.Enum):
    """What an adapter can do beyond its port's required methods."""

    #: Logs can be followed while the job runs.
    LOG_STREAMING = "log_streaming"
    #: Failed or killed jobs can be re-run in place.
    RESUME = "resume"
    #: Artifacts can be copied back from where the job ran.
    ARTIFACT_COPY = "artifact_copy"
    #: Jobs can use GPUs.
    GPU = "gpu"
    #: The runtime has an API: it can run, wait for, inspect, read and stop containers directly.
    DIRECT_RUN = "direct_run"
    #: The runtime bind-mounts host paths: a job sees its folder at /job and results at /results.
    MOUNTS = "mounts"
    #: Deployments run on the host that plans the run: their defaults come from its CPUs.
    SERVES_ON_PLANNING_HOST = "serves_on_planning_host"
    #: Auxiliary servers (``auxiliary_deployments``: a judge, ...) start beside the deployment,
    #: on the jobs' own host, and the jobs get their URLs (``NEL_AUXILIARY_<NAME>_URL``).
    AUXILIARY_DEPLOYMENTS = "auxiliary_deployments"
