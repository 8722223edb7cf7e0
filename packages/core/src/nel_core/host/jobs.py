"""A job's life on the host that runs it: start it, end it on purpose, clear it for a re-run.

These work on the job's directory alone (see :mod:`nel_core.layout`), so any process on that
host (a supervisor, a CLI that rebuilt its executor from the store) can use them.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from nel_core.host.processes import alive, stop_group
from nel_core.layout import ARTIFACTS_DIR, EXIT, JOB_LOG, JOB_PID, KILLED, PRE_START, REASON, RUN_SCRIPT, RUNNING
from nel_core.models.domain import JobState, StateReport
from nel_core.services.requests import clear_request_stats

__all__ = ["end_job", "is_finished", "job_running", "mark_killed", "on_host", "reset_job", "start_job", "stop_job"]


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def is_finished(job_dir: Path) -> bool:
    """Whether the job has ended (its exit marker) or was stopped on purpose (killed marker)."""
    return (job_dir / EXIT).exists() or (job_dir / KILLED).exists()


def start_job(job_dir: Path, *, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Run the job's ``run.sh`` in its own session (so it can be stopped alone), output to ``job.log``."""
    with open(job_dir / JOB_LOG, "ab") as log:
        return subprocess.Popen(
            ["bash", RUN_SCRIPT],
            cwd=job_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else dict(env),
        )


def end_job(job_dir: Path, exit_code: int, reason: str) -> bool:
    """Record how a job ended when its script could not (it died, or never started).

    A job that wrote its own exit marker keeps it: the job's word wins. Returns False when the
    markers cannot be written (a full disk): the job's state is then inferred by whoever asks.
    """
    if (job_dir / EXIT).exists():
        return True
    try:
        _write_atomically(job_dir / REASON, reason + "\n")
        _write_atomically(job_dir / EXIT, f"{exit_code}\n")
    except OSError:
        return False
    return True


def on_host(scheduled: StateReport, job_dir: Path) -> StateReport:
    """The scheduler's answer, corrected by the job's own process on this host: a job whose
    scheduling process died (a supervisor, a wrapper) while the job itself runs on is RUNNING."""
    if scheduled.state.is_active or scheduled.state is JobState.UNKNOWN or not job_running(job_dir):
        return scheduled
    return StateReport(state=JobState.RUNNING, reason=f"{scheduled.reason or 'its scheduler ended'}; the job runs on")


def job_running(job_dir: Path) -> bool:
    """Whether the job's process group leader (``job.pid``) still runs on this host."""
    try:
        handle = (job_dir / JOB_PID).read_text().strip()
    except OSError:
        return False
    return bool(handle) and alive(handle)


def mark_killed(job_dir: Path) -> None:
    """Mark the job as stopped on purpose (a supervisor then never starts it); a job whose
    folder was never written has nothing to mark."""
    if job_dir.is_dir():
        _write_atomically(job_dir / KILLED, f"{time.time():.0f}\n")


def stop_job(job_dir: Path, *, grace: float = 10.0) -> None:
    """Mark the job killed and stop its process group, if it runs."""
    mark_killed(job_dir)
    pid_file = job_dir / JOB_PID
    if pid_file.exists():
        handle = pid_file.read_text().strip()
        if handle:
            stop_group(handle, grace=grace)


def reset_job(job_dir: Path) -> None:
    """Clear the job's markers so that it can run again in place.

    Its artifacts stay (the harness replays what it cached), but for the request statistics of
    the run it replaces: the new run is judged by its own requests alone.
    """
    for name in (PRE_START, RUNNING, EXIT, KILLED, REASON, JOB_PID):
        (job_dir / name).unlink(missing_ok=True)
    clear_request_stats(job_dir / ARTIFACTS_DIR)
