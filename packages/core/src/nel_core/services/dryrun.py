"""Dry run: what a run would do, rendered into a temporary place and printed, secrets redacted."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from nel_core.ports.executor import Executor
from nel_core.services.materialize import materialize
from nel_core.services.plan import Plan

__all__ = ["render_dry_run"]


def render_dry_run(
    plan: Plan, executor: Executor, environ: Mapping[str, str], *, shown_root: Path | None = None
) -> str:
    """Every file a run would write, as text. Touches no backend; leaves nothing behind.

    Raises:
        ConfigError: when a job's env refers to an unset host variable.
    """
    with tempfile.TemporaryDirectory(prefix="nel-dry-run-") as temp:
        root = Path(temp)
        jobs = materialize(plan, executor, root, environ, redact=True)
        invocation_dir = root / plan.invocation_id
        endpoint = plan.endpoint
        out = [
            (
                f"# dry run of invocation {plan.invocation_id}: {len(jobs)} job(s) on executor "
                f"'{executor.name}'"
            ),
            f"# endpoint: {endpoint.base_url} (model {endpoint.model_id})",
        ]
        if plan.endpoint_spec is not None:
            spec = plan.endpoint_spec
            out.append(f"# deployment: {spec.type}, started once for all jobs: {spec.command}")
        for path in sorted(invocation_dir.rglob("*")):
            if path.is_file():
                relative = path.relative_to(root)
                out.append(f"\n===== {relative} =====")
                out.append(path.read_text().rstrip("\n"))
        text = "\n".join(out) + "\n"
        return text.replace(str(root), str(shown_root)) if shown_root else text
