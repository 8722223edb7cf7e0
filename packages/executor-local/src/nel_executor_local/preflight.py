"""Preflight checks of the local executor: what must hold before anything is recorded."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from nel_core.errors import PreflightError
from nel_core.host.health import answers
from nel_core.services.plan import Plan

__all__ = ["check_plan"]


def check_plan(plan: Plan, output_dir: str) -> None:
    """Output dir writable, dataset dirs present, endpoint answering or deployment port free.

    Raises:
        PreflightError: naming the key at fault.
    """
    output = Path(output_dir).expanduser()
    probe_dir = next((p for p in [output, *output.parents] if p.exists()), Path("/"))
    if not os.access(probe_dir, os.W_OK):
        raise PreflightError(f"execution.output_dir: {output} is not writable")
    for spec in plan.jobs:
        for mount in spec.mounts:
            if not Path(mount.source).exists():
                raise PreflightError(f"evaluation.tasks[{spec.index}].dataset_dir: {mount.source} does not exist")
    if plan.endpoint_spec is None:
        url = plan.endpoint.base_url
        if not answers(url, timeout=5, any_status=True):
            raise PreflightError(
                f"target.api_endpoint.url: {url} does not answer",
                hint="start the model server first, or deploy one (deployment: llama_cpp, vllm, ...)",
            )
        return
    port = plan.endpoint_spec.port
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise PreflightError(
                f"deployment.port: port {port} is already in use on this host",
                hint="stop what listens there, or set -o deployment.port=<free port>",
            )
