"""The host toolkit: what every executor needs from the machine its jobs run on.

Compose these; never copy them. Each module works from a job's directory (see
:mod:`nel_core.layout`) and plain handles, so any process can use them, not only the one that
started the job.

- :mod:`nel_core.host.processes`: process handles safe against pid reuse (``pid:start time``),
  detached spawning, stopping a process group.
- :mod:`nel_core.host.scheduler`: :class:`HostScheduler`, a Scheduler of detached scripts.
- :mod:`nel_core.host.containers`: the paths a job sees, its harness container, the server's container.
- :mod:`nel_core.host.job_script`: a job's entry script, writing its stage markers.
- :mod:`nel_core.host.jobs`: start, stop, mark and reset one job in its directory.
- :mod:`nel_core.host.health`: wait for a server's health path.
- :mod:`nel_core.host.supervisor`: one deployment, the jobs it serves, teardown.

The markers' reader is :mod:`nel_core.services.stages`; the deployment types' server specs and
the external endpoint are in :mod:`nel_core.deployments`.
"""

from nel_core.host.health import answers, wait_healthy
from nel_core.host.job_script import adapter_port_line, render_job_script
from nel_core.host.jobs import (
    end_job,
    is_finished,
    job_running,
    mark_killed,
    on_host,
    reset_job,
    start_job,
    stop_job,
)
from nel_core.host.processes import alive, handle_of, running, signal_group, spawn_detached, stop_group
from nel_core.host.scheduler import HostScheduler
from nel_core.host.supervisor import Deployment, supervise

__all__ = [
    "Deployment",
    "HostScheduler",
    "adapter_port_line",
    "alive",
    "answers",
    "end_job",
    "handle_of",
    "is_finished",
    "job_running",
    "mark_killed",
    "on_host",
    "render_job_script",
    "reset_job",
    "running",
    "signal_group",
    "spawn_detached",
    "start_job",
    "stop_group",
    "stop_job",
    "supervise",
    "wait_healthy",
]
