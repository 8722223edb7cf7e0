"""Dry run: what a run would do, rendered in memory, secrets redacted, with every problem found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from nel_core.converter import unstructure
from nel_core.deployments.tuning import ServerTuning, tuning_data
from nel_core.errors import NelError
from nel_core.models.domain import Endpoint, EndpointSpec
from nel_core.ports.executor import Executor
from nel_core.services.materialize import RenderedFile, render_files, unset_problems
from nel_core.services.plan import Plan

__all__ = ["DryRun", "dry_run", "dry_run_data", "dry_run_text", "render_dry_run"]


@attrs.frozen(kw_only=True)
class DryRun:
    """What a run would write and start, and why it would fail (``problems``, empty if it would not)."""

    invocation_id: str
    executor: str
    jobs: int
    root: Path
    files: list[RenderedFile]
    endpoint: Endpoint
    deployment: EndpointSpec | None
    tuning: ServerTuning | None
    problems: list[NelError]


def dry_run(
    plan: Plan,
    executor: Executor,
    environ: Mapping[str, str],
    *,
    shown_root: Path | None = None,
    problems: Sequence[NelError] = (),
) -> DryRun:
    """Render every file a run would write, in memory: touches no backend, writes nothing.

    An unset ``host:`` variable is shown as such in the files and listed among the problems
    (once per variable, however many jobs need it), after the caller's own ``problems``.
    """
    root = shown_root or executor.output_root()
    return DryRun(
        invocation_id=plan.invocation_id,
        executor=executor.name,
        jobs=len(plan.jobs),
        root=root,
        files=render_files(plan, executor, root, environ, redact=True),
        endpoint=plan.endpoint,
        deployment=plan.endpoint_spec,
        tuning=plan.tuning,
        problems=[*problems, *unset_problems(plan, environ)],
    )


def dry_run_text(result: DryRun) -> str:
    """The dry run for people: a header, then each file under its path (problems are not in it)."""
    endpoint = result.endpoint
    out = [
        f"# dry run of invocation {result.invocation_id}: {result.jobs} job(s) on executor "
        f"'{result.executor}'",
        f"# endpoint: {endpoint.base_url} (model {endpoint.model_id})",
    ]
    if result.deployment is not None:
        spec = result.deployment
        out.append(f"# deployment: {spec.type}, started once for all jobs: {spec.command}")
    if result.tuning is not None:
        tuning = result.tuning
        chosen = ", ".join(f"{key}={value}" for key, value in tuning.values.items()) or "none"
        out.append(f"# server settings: {chosen}; parallel slots {tuning.slots or 'unknown'} ({tuning.reason})")
    for file in sorted(result.files, key=lambda f: f.path):
        out.append(f"\n===== {file.path.relative_to(result.root)} =====")
        out.append(file.text.rstrip("\n"))
    return "\n".join(out) + "\n"


def dry_run_data(result: DryRun) -> dict[str, Any]:
    """The dry run for programs: plain data ready for JSON (secrets redacted as in the files)."""
    return {
        "invocation_id": result.invocation_id,
        "executor": result.executor,
        "output_dir": str(result.root / result.invocation_id),
        "jobs": result.jobs,
        "endpoint": {
            "base_url": result.endpoint.base_url,
            "model_id": result.endpoint.model_id,
            "endpoints": dict(result.endpoint.endpoints),
        },
        "deployment": None if result.deployment is None else unstructure(result.deployment),
        **tuning_data(result.tuning),
        "files": [
            {"path": str(file.path), "mode": f"{file.mode:04o}", "text": file.text}
            for file in sorted(result.files, key=lambda f: f.path)
        ],
        "problems": [{"message": problem.message, "hint": problem.hint} for problem in result.problems],
        "ok": not result.problems,
    }


def render_dry_run(
    plan: Plan, executor: Executor, environ: Mapping[str, str], *, shown_root: Path | None = None
) -> str:
    """:func:`dry_run_text` of :func:`dry_run`: every file a run would write, as text."""
    return dry_run_text(dry_run(plan, executor, environ, shown_root=shown_root))

