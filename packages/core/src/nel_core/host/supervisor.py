"""A supervisor: one deployment, then the jobs it serves, then teardown, on the host it runs on.

What a local invocation's detached supervisor does, and what a batch job (an sbatch allocation
with NEL on its shared filesystem) can do as well: start the model server once through its
:class:`~nel_core.ports.EndpointProvider`, wait until it is ready, run the jobs (up to
``parallel`` at once, each in its own process group), and stop the server when they are done,
when it is told to stop (SIGTERM, SIGINT), or when something fails.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

import attrs

from nel_core.errors import NelError
from nel_core.host.jobs import end_job, is_finished, start_job
from nel_core.host.processes import handle_of, stop_group
from nel_core.models.domain import EndpointSpec
from nel_core.ports.endpoint_provider import EndpointProvider

__all__ = ["Deployment", "supervise"]

#: Exit code after SIGTERM or SIGINT (128 + SIGTERM).
INTERRUPTED = 143
_POLL = 0.05  # how soon the next job starts after one ends


@attrs.frozen(kw_only=True)
class Deployment:
    """The server a supervisor starts before its jobs: who starts it, what, and where it logs."""

    provider: EndpointProvider
    spec: EndpointSpec
    workdir: Path


class _Stop(BaseException):
    """Raised by the signal handler (a BaseException: no ``except Exception`` swallows it)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def supervise(
    job_dirs: Sequence[Path],
    *,
    deployment: Deployment | None = None,
    parallel: int = 1,
    env: Mapping[str, str] | None = None,
    say: Callable[[str], None] = _say,
) -> int:
    """Run ``job_dirs`` behind ``deployment``; return 0, 1 (the deployment failed) or 143 (stopped).

    Jobs already finished or marked killed are not started. A job whose script dies without
    its exit marker gets one, with the reason.

    Args:
        env: The jobs' environment (default: this process's); the server's own values never reach it.
    """
    handle: str | None = None
    running: dict[Path, str] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    try:
        if deployment is not None:
            handle = _deploy(deployment, job_dirs, say)
            if handle is None:
                return 1
        _run_jobs(job_dirs, parallel=max(parallel, 1), env=env, running=running)
        say("jobs done")
        return 0
    except _Stop as stop:
        say(f"signal {stop.args[0]}: stopping {len(running)} running job(s)")
        for job_handle in running.values():
            stop_group(job_handle, grace=5.0)
        return INTERRUPTED
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut teardown short
            signal.signal(signum, signal.SIG_IGN)
        if deployment is not None and handle is not None:
            say("stopping the deployment")
            deployment.provider.stop(handle)


def _deploy(deployment: Deployment, job_dirs: Sequence[Path], say: Callable[[str], None]) -> str | None:
    """Start the server and wait until it is ready; on failure every job fails with the reason."""
    say("starting deployment")
    handle = None
    try:
        handle = deployment.provider.start(deployment.spec, deployment.workdir)
        deployment.provider.wait_ready(handle, deployment.spec, deployment.spec.readiness_timeout)
    except NelError as exc:
        say(f"deployment failed: {exc.message}")
        for job_dir in job_dirs:
            if not is_finished(job_dir):
                end_job(job_dir, 1, exc.message)
        if handle is not None:
            deployment.provider.stop(handle)
        return None
    say("deployment healthy")
    return handle


def _run_jobs(
    job_dirs: Sequence[Path], *, parallel: int, env: Mapping[str, str] | None, running: dict[Path, str]
) -> None:
    pending = list(job_dirs)
    processes: dict[Path, subprocess.Popen[bytes]] = {}
    while pending or processes:
        while pending and len(processes) < parallel:
            job_dir = pending.pop(0)
            if is_finished(job_dir):  # killed before its turn, or done already
                continue
            try:
                process = start_job(job_dir, env=env)
            except OSError as exc:  # a full disk, say: this job fails, the others go on
                end_job(job_dir, 1, f"the job could not start: {exc}")
                continue
            processes[job_dir] = process
            running[job_dir] = handle_of(process.pid)
        time.sleep(_POLL)
        for job_dir, process in list(processes.items()):
            code = process.poll()
            if code is None:
                continue
            del processes[job_dir]
            running.pop(job_dir, None)
            end_job(job_dir, code, f"the job script ended (code {code}) without writing its exit marker")
