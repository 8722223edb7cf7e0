"""Kill and resume invocations or single jobs through their executor."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

from nel_core.errors import NelError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.capabilities import Capability
from nel_core.ports.invocation_store import InvocationStore
from nel_core.services.materialize import partial_dir
from nel_core.services.status import ExecutorFor, inferred, without_request_data

__all__ = ["kill", "resume"]


def kill(
    store: InvocationStore, executor_for: ExecutorFor, invocation: Invocation, jobs: Sequence[Job]
) -> list[Job]:
    """Stop the jobs that have not ended; return them, marked killed."""
    # A job whose end was only inferred may still run (its supervisor died, not the job).
    live = [job for job in jobs if not job.state.is_terminal or inferred(job)]
    if invocation.status == "submitting":
        # A launch that died half-way may have left its files' temporary folder (with secrets).
        root = Path(invocation.output_dir).parent
        shutil.rmtree(partial_dir(root, invocation.id), ignore_errors=True)
    if not live:
        return []
    executor_for(invocation).kill(invocation, live)
    killed = [
        attrs.evolve(
            job,
            state=JobState.KILLED,
            reason="killed by the user",
            updated_at=time.time(),
            data={key: value for key, value in job.data.items() if key != "inferred"},
        )
        for job in live
    ]
    for job in killed:
        store.update_job(job)
    return killed


def resume(
    store: InvocationStore, executor_for: ExecutorFor, invocation: Invocation, jobs: Sequence[Job]
) -> list[Job]:
    """Re-run the failed or killed jobs in place; return them, pending again.

    Raises:
        NelError: when the executor cannot resume, or there is nothing to resume.
    """
    executor = executor_for(invocation)
    if Capability.RESUME not in executor.capabilities:
        raise NelError(f"executor '{executor.name}' cannot resume jobs")
    again = [job for job in jobs if job.state in (JobState.FAILED, JobState.KILLED)]
    if not again:
        raise NelError(
            f"invocation {invocation.id}: no failed or killed job to resume",
            hint="'nel status' shows the jobs' states",
        )
    handles = executor.resume(invocation, again)
    resumed = [
        attrs.evolve(
            job,
            state=JobState.PENDING,
            reason="resumed",
            exit_code=None,
            handle=handles.get(job.id, job.handle),
            data=without_request_data(job.data),
            updated_at=time.time(),
        )
        for job in again
    ]
    for job in resumed:
        store.update_job(job)
    return resumed
