"""Launch: plan, preflight, materialize, submit, record — or nothing at all."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from nel_core.catalog import Catalog
from nel_core.converter import unstructure
from nel_core.models.config import RunConfig
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.executor import Executor
from nel_core.ports.invocation_store import InvocationStore
from nel_core.services.ids import job_id, new_invocation_id
from nel_core.services.materialize import materialize
from nel_core.services.plan import Plan, plan_run

__all__ = ["Launched", "launch", "make_plan"]


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
    return plan_run(
        config,
        catalog=catalog,
        provider=executor.endpoint_provider(config.deployment),
        invocation_id=new_invocation_id(taken.__contains__),
        task_filter=task_filter,
    )


def launch(
    plan: Plan, *, executor: Executor, store: InvocationStore, environ: Mapping[str, str]
) -> Launched:
    """Preflight, materialize, submit and record ``plan``.

    A failure at any step leaves nothing recorded and no directory behind.

    Raises:
        NelError: the first problem met (preflight, env, submission).
    """
    executor.preflight(plan)
    root = Path(plan.config.execution.output_dir).expanduser().resolve()
    invocation_dir = root / plan.invocation_id
    invocation = Invocation(
        id=plan.invocation_id,
        executor=executor.name,
        output_dir=str(invocation_dir),
        created_at=time.time(),
        config=unstructure(plan.config),
    )
    # The outermost folder this launch creates: removed again if the launch fails.
    created = next((p for p in reversed((root, *root.parents)) if not p.exists()), None)
    try:
        rendered = materialize(plan, executor, root, environ)
        handles = executor.submit(plan, rendered)
    except BaseException:
        shutil.rmtree(invocation_dir, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    jobs = [
        Job(
            id=job_id(plan.invocation_id, spec.index),
            invocation_id=plan.invocation_id,
            index=spec.index,
            task_name=spec.task_name,
            executor=executor.name,
            job_dir=str(rendered_job.job_dir),
            state=JobState.PENDING,
            handle=handles.get(rendered_job.job_id, ""),
            updated_at=invocation.created_at,
        )
        for spec, rendered_job in zip(plan.jobs, rendered)
    ]
    store.add(invocation, jobs)
    return Launched(invocation=invocation, jobs=jobs)
