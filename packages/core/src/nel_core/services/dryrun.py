"""Dry run: what a run would do, rendered in memory and printed, secrets redacted."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nel_core.ports.executor import Executor
from nel_core.services.materialize import render_files
from nel_core.services.plan import Plan

__all__ = ["render_dry_run"]


def render_dry_run(
    plan: Plan, executor: Executor, environ: Mapping[str, str], *, shown_root: Path | None = None
) -> str:
    """Every file a run would write, as text, rendered in memory: touches no backend, writes nothing.

    An unset ``host:`` variable is shown as such, with a warning, rather than failing.
    """
    root = shown_root or Path(plan.config.execution.output_dir)
    files = render_files(plan, executor, root, environ, redact=True)
    endpoint = plan.endpoint
    out = [
        f"# dry run of invocation {plan.invocation_id}: {len(plan.jobs)} job(s) on executor "
        f"'{executor.name}'",
        f"# endpoint: {endpoint.base_url} (model {endpoint.model_id})",
    ]
    if plan.endpoint_spec is not None:
        spec = plan.endpoint_spec
        out.append(f"# deployment: {spec.type}, started once for all jobs: {spec.command}")
    for file in sorted(files, key=lambda f: f.path):
        out.append(f"\n===== {file.path.relative_to(root)} =====")
        out.append(file.text.rstrip("\n"))
    return "\n".join(out) + "\n"
