"""The detached supervisor of a local invocation: ``python -m nel_executor_local.supervise DIR JOB_DIR...``.

It rebuilds the local executor from the invocation's ``supervisor.json`` (the recorded
execution config and server spec) and runs core's supervisor: the deployment once, through the
deployment type's EndpointProvider, then the jobs, then teardown.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from nel_core.host.supervisor import Deployment, supervise

__all__ = ["main"]

#: The invocation's recorded settings (written by ``nel_executor_local.executor``).
SUPERVISOR_CONFIG = "supervisor.json"


def main(argv: list[str] | None = None) -> int:
    """Supervise the jobs of ``argv[1:]`` in the invocation folder ``argv[0]``."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m nel_executor_local.supervise INVOCATION_DIR [JOB_DIR...]", file=sys.stderr)
        return 2
    invocation_dir = Path(args[0]).resolve()
    recorded = json.loads((invocation_dir / SUPERVISOR_CONFIG).read_text())
    deployment = None
    if recorded["endpoint_spec"] is not None:
        deployment = _deployment(recorded, invocation_dir)
    job_dirs = [Path(arg) for arg in args[1:]]
    return supervise(job_dirs, deployment=deployment, parallel=int(recorded["parallel"]), env=os.environ)


def _deployment(recorded: dict[str, Any], invocation_dir: Path) -> Deployment:
    """The server to start, through the executor's provider (imported only for a run that deploys)."""
    from nel_core.converter import converter, structure
    from nel_core.models.config import DeploymentConfig
    from nel_core.models.domain import EndpointSpec
    from nel_core.store import default_home
    from nel_executor_local.config import LocalExecutionConfig
    from nel_executor_local.executor import LocalExecutor

    execution = structure(recorded["execution"], LocalExecutionConfig, path="execution")
    executor = LocalExecutor(execution, home=default_home())
    config = converter.structure(recorded["deployment"], DeploymentConfig)
    return Deployment(
        provider=executor.endpoint_provider(config),
        spec=converter.structure(recorded["endpoint_spec"], EndpointSpec),
        workdir=invocation_dir,
    )


if __name__ == "__main__":
    sys.exit(main())
