"""Deployment types: how a deployment config becomes a server spec, and the external endpoint.

- :data:`BUILTIN_PLANS`: the plan of each of core's deployment types (``none``, ``vllm``,
  ``sglang``, ``nim``, ``trtllm``, ``generic``, ``llama_cpp``), backend-neutral.
- :class:`ExternalEndpoint`: the EndpointProvider of ``deployment: none``, for every executor.
- :func:`local_endpoint`: where a server started on the jobs' own host answers.
- :func:`tune_deployment`: a deployment's unset server settings chosen from the CPUs this
  process may use (:func:`host_cpus`: affinity and cgroup quota); explicit values win.
"""

from __future__ import annotations

from collections.abc import Callable

from nel_core.deployments.external import ExternalEndpoint
from nel_core.deployments.servers import (
    CHECKPOINT_MOUNT,
    plan_container_server,
    plan_llama_cpp,
    plan_none,
)
from nel_core.deployments.tuning import HostCpus, ServerTuning, host_cpus, tune_deployment, tuning_data
from nel_core.models.config import DeploymentConfig, RunConfig
from nel_core.models.domain import Endpoint, EndpointSpec

__all__ = [
    "BUILTIN_PLANS",
    "CHECKPOINT_MOUNT",
    "ExternalEndpoint",
    "HostCpus",
    "PlanServer",
    "ServerTuning",
    "host_cpus",
    "local_endpoint",
    "plan_container_server",
    "plan_llama_cpp",
    "plan_none",
    "tune_deployment",
    "tuning_data",
]

#: A deployment type's plan: the server to start for a deployment config (None: nothing).
PlanServer = Callable[[RunConfig, DeploymentConfig], "EndpointSpec | None"]

BUILTIN_PLANS: dict[str, PlanServer] = {
    "none": plan_none,
    "vllm": plan_container_server,
    "sglang": plan_container_server,
    "nim": plan_container_server,
    "trtllm": plan_container_server,
    "generic": plan_container_server,
    "llama_cpp": plan_llama_cpp,
}


def local_endpoint(spec: EndpointSpec, host: str = "127.0.0.1") -> Endpoint:
    """The endpoint of ``spec``'s server running on ``host`` (the jobs' own host by default)."""
    return Endpoint(
        base_url=f"http://{host}:{spec.port}",
        model_id=spec.served_model_name,
        endpoints={kind: path for kind, path in spec.endpoints.items() if kind != "health"},
    )
