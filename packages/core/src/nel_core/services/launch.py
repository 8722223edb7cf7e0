"""Launch: plan, preflight, record, materialize, submit — crash-safe at every step.

The protocol, so that a CLI killed at any instant, or a store or disk that fails at any write,
leaves either nothing or an invocation that ``status`` shows truthfully and ``kill`` stops:

1. Preflight and render every file in memory (an unset secret fails here, before anything).
2. Record the invocation (status ``submitting``, with the launching process) and its jobs.
3. Write the files into a hidden folder and rename it into place.
4. Submit; record the handles; mark the invocation ``submitted``.

A failure in 3 or 4 rolls back: what was submitted is killed, the folder removed, the record
deleted. A process killed outright leaves a ``submitting`` record whose launcher is gone: status
then asks the executor (which can find its jobs from their folders) and says what it found.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from nel_core.catalog import Catalog
from nel_core.converter import unstructure
from nel_core.deployments.tuning import host_cpus, tuning_data
from nel_core.errors import NelError
from nel_core.host.processes import handle_of
from nel_core.models.config import RunConfig
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.capabilities import Capability
from nel_core.ports.executor import Executor
from nel_core.ports.invocation_store import InvocationStore
from nel_core.services.auto_export import check_destinations
from nel_core.services.crash import crash_point
from nel_core.services.ids import job_id, new_invocation_id
from nel_core.services.materialize import job_dir_name, materialize, partial_dir, render_files
from nel_core.services.plan import Plan, plan_run
from nel_core.services.redact import redacted_config

__all__ = ["SUBMITTED", "SUBMITTING", "Launched", "launch", "make_plan"]

SUBMITTING = "submitting"
SUBMITTED = "submitted"


@attrs.frozen(kw_only=True)
class Launched:
    """A recorded invocation and its jobs."""

    invocation: Invocation
    jobs: list[Job]


def make_plan(
    config: RunConfig,
    *,
    executor: Executor,
    catalog: Catalog,
    store: InvocationStore,
    task_filter: Sequence[str] = (),
) -> Plan:
    """Plan a run with a fresh invocation id (reads the store, writes nothing)."""
    taken = store.invocation_ids()
    # Where the server starts on this host, its defaults come from this host's CPUs.
    local = Capability.SERVES_ON_PLANNING_HOST in executor.capabilities
    auxiliary = None
    if Capability.AUXILIARY_DEPLOYMENTS in executor.capabilities:
        auxiliary = {
            name: executor.auxiliary_provider(name, deployment)
            for name, deployment in config.auxiliary_deployments.items()
        }
    return plan_run(
        config,
        catalog=catalog,
        provider=executor.endpoint_provider(config.deployment),
        invocation_id=new_invocation_id(taken.__contains__),
        task_filter=task_filter,
        cpus=host_cpus() if local else None,
        auxiliary_providers=auxiliary,
    )


def launch(
    plan: Plan, *, executor: Executor, store: InvocationStore, environ: Mapping[str, str]
) -> Launched:
    """Preflight, record, materialize and submit ``plan`` (see the module's protocol).

    Raises:
        NelError: the first problem met (preflight, env, disk, store, submission); nothing is
            left behind by it.
    """
    if plan.config.execution.auto_export.destinations:
        check_destinations(unstructure(plan.config))
    executor.preflight(plan)
    root = executor.output_root()
    files = render_files(plan, executor, root, environ)  # an unset secret fails here
    invocation_dir = root / plan.invocation_id
    # The outermost folder this launch creates: removed again if the launch fails.
    created = next((p for p in reversed((root, *root.parents)) if not p.exists()), None)
    now = time.time()
    invocation = Invocation(
        id=plan.invocation_id,
        executor=executor.name,
        output_dir=str(invocation_dir),
        created_at=now,
        config=redacted_config(unstructure(plan.config)),
        data={"launcher": handle_of(os.getpid()), **tuning_data(plan.tuning)},
        status=SUBMITTING,
    )
    jobs = [
        Job(
            id=job_id(plan.invocation_id, spec.index),
            invocation_id=plan.invocation_id,
            index=spec.index,
            task_name=spec.task_name,
            executor=executor.name,
            job_dir=str(invocation_dir / job_dir_name(spec)),
            state=JobState.PENDING,
            updated_at=now,
        )
        for spec in plan.jobs
    ]
    store.add(invocation, jobs)
    crash_point("recorded")
    submitted = False
    try:
        rendered = materialize(plan, executor, root, environ, files)
        crash_point("written")
        handles = executor.submit(plan, rendered)
        submitted = True
        crash_point("submitted")
        jobs = [attrs.evolve(job, handle=handles.get(job.id, "")) for job in jobs]
        for job in jobs:
            store.update_job(job)
        crash_point("handles")
        store.set_invocation_status(invocation.id, SUBMITTED)
    except BaseException as exc:
        _roll_back(executor, store, invocation, jobs, submitted=submitted, created=created, root=root)
        if isinstance(exc, OSError) and not isinstance(exc, NelError):
            raise NelError(f"cannot launch {invocation.id}: {exc}") from exc
        raise
    return Launched(invocation=attrs.evolve(invocation, status=SUBMITTED), jobs=jobs)


def _roll_back(
    executor: Executor,
    store: InvocationStore,
    invocation: Invocation,
    jobs: Sequence[Job],
    *,
    submitted: bool,
    created: Path | None,
    root: Path,
) -> None:
    """Undo a launch that failed half-way: stop its jobs, remove its files and its record."""
    if submitted or Path(invocation.output_dir).exists():
        try:  # the executor finds its jobs from their folders when handles were not recorded
            executor.kill(invocation, jobs)
        except Exception as exc:  # noqa: BLE001 - the rollback goes on; say what was left
            print(f"warning: jobs of {invocation.id} may still run: {exc}", file=sys.stderr)
    shutil.rmtree(invocation.output_dir, ignore_errors=True)
    shutil.rmtree(partial_dir(root, invocation.id), ignore_errors=True)
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
    try:
        store.remove(invocation.id)
    except Exception as exc:  # noqa: BLE001 - status shows it as an interrupted launch
        print(f"warning: invocation {invocation.id} stays recorded as never started: {exc}", file=sys.stderr)
