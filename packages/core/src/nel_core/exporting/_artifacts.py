"""Which of a job's files an export carries: result files and, on request, logs."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from nel_core.layout import EVAL_FACTORY_METRICS, JOB_LOG, REQUESTS_FILE, RESULTS_FILE, RUN_CONFIG_FILE

__all__ = ["EXCLUDED_PATTERNS", "REQUIRED_ARTIFACTS", "artifact_files", "log_files"]

#: The result files ``only_required`` keeps, where the harness wrote them.
REQUIRED_ARTIFACTS = (
    RESULTS_FILE,
    EVAL_FACTORY_METRICS,
    RUN_CONFIG_FILE,
    "metadata.yaml",
    "omni-info.json",
    REQUESTS_FILE,
)
#: Never exported: response caches, databases, locks, synthetic data (as NeMo Evaluator Launcher).
EXCLUDED_PATTERNS = ("*cache*", "*.db", "*.lock", "synthetic", "debug.json")


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def artifact_files(
    artifacts_dir: Path, *, only_required: bool = True, exclude: Sequence[str] = ()
) -> list[tuple[Path, str]]:
    """The result files to export, as (file, path relative to ``artifacts_dir``), sorted.

    With ``only_required`` the :data:`REQUIRED_ARTIFACTS` present; otherwise every file but
    those of which a path part matches :data:`EXCLUDED_PATTERNS` or ``exclude``.
    """
    if not artifacts_dir.is_dir():
        return []
    if only_required:
        return [(artifacts_dir / n, n) for n in REQUIRED_ARTIFACTS if (artifacts_dir / n).is_file()]
    patterns = (*EXCLUDED_PATTERNS, *exclude)
    found = []
    for path in sorted(artifacts_dir.rglob("*")):
        relative = path.relative_to(artifacts_dir)
        if path.is_file() and not any(_excluded(part, patterns) for part in relative.parts):
            found.append((path, relative.as_posix()))
    return found


def log_files(job_dir: Path) -> list[tuple[Path, str]]:
    """The job's logs: ``job.log`` and whatever is under its ``logs/`` folder, as (file, name)."""
    found = []
    if (job_dir / JOB_LOG).is_file():
        found.append((job_dir / JOB_LOG, JOB_LOG))
    logs = job_dir / "logs"
    if logs.is_dir():
        found.extend((p, p.relative_to(job_dir).as_posix()) for p in sorted(logs.rglob("*")) if p.is_file())
    return found
