"""Finished jobs read from plain folders (``nel export --job-dirs``), without the store.

An invocation's folder holds ``config.yaml`` and one folder per job, ``<n>-<task>`` (see
:mod:`nel_core.layout`). A folder given may be a job's, an invocation's, or one that holds
invocations (an ``execution.output_dir``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nel_core.errors import NotFoundError
from nel_core.layout import ARTIFACTS_DIR, CONFIG_FILE, RUN_CONFIG_FILE
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.services.ids import job_id
from nel_core.services.stages import read_markers, read_results
from nel_core.yaml_io import YamlError, load

__all__ = ["jobs_from_dirs", "select_jobs"]

_JOB_DIR = re.compile(r"(\d+)-(.+)")


def _is_job_dir(path: Path) -> bool:
    return bool(_JOB_DIR.fullmatch(path.name)) and (
        (path / ARTIFACTS_DIR).is_dir() or (path / RUN_CONFIG_FILE).is_file()
    )


def _invocation_dirs(root: Path) -> list[Path]:
    if _is_job_dir(root):
        return [root.parent]
    if any(_is_job_dir(child) for child in root.iterdir() if child.is_dir()):
        return [root]
    holders = (child for child in root.iterdir() if child.is_dir())
    return sorted(child for child in holders if any(_is_job_dir(c) for c in child.iterdir() if c.is_dir()))


def _config(invocation_dir: Path) -> dict[str, Any]:
    try:
        data = load((invocation_dir / CONFIG_FILE).read_text())
    except (OSError, UnicodeDecodeError, YamlError):
        return {}
    return dict(data) if isinstance(data, Mapping) else {}


def _task_names(config: Mapping[str, Any]) -> list[str]:
    tasks = (config.get("evaluation") or {}).get("tasks") if isinstance(config.get("evaluation"), Mapping) else None
    names = []
    for task in tasks if isinstance(tasks, list) else []:
        name = task.get("name") if isinstance(task, Mapping) else task
        names.append(str(name) if name else "")
    return names


def _state(job_dir: Path) -> tuple[JobState, str]:
    """What a job's folder says of its end (a folder without markers is judged by its scores)."""
    markers = read_markers(job_dir)
    if markers.killed:
        return JobState.KILLED, "killed"
    if markers.exit_code not in (None, 0):
        return JobState.FAILED, markers.reason or f"the harness exited with code {markers.exit_code}"
    results, why = read_results(job_dir / ARTIFACTS_DIR)
    if results.has_scores:
        return JobState.SUCCESS, ""
    if markers.exit_code is None and markers.pre_start:
        return JobState.RUNNING, "the job has not ended"
    return JobState.FAILED, why


def _read_invocation(invocation_dir: Path) -> tuple[Invocation, list[Job]]:
    config = _config(invocation_dir)
    execution = config.get("execution") if isinstance(config.get("execution"), Mapping) else {}
    executor = str((execution or {}).get("type") or "unknown")
    invocation = Invocation(
        id=invocation_dir.name,
        executor=executor,
        output_dir=str(invocation_dir),
        created_at=invocation_dir.stat().st_mtime,
        config=config,
    )
    names = _task_names(config)
    jobs = []
    for child in sorted(invocation_dir.iterdir()):
        match = _JOB_DIR.fullmatch(child.name)
        if not child.is_dir() or not match or not _is_job_dir(child):
            continue
        index = int(match.group(1))
        state, reason = _state(child)
        jobs.append(
            Job(
                id=job_id(invocation.id, index),
                invocation_id=invocation.id,
                index=index,
                task_name=names[index] if index < len(names) and names[index] else match.group(2),
                executor=executor,
                job_dir=str(child),
                state=state,
                reason=reason,
            )
        )
    jobs.sort(key=lambda job: job.index)
    return invocation, jobs


def jobs_from_dirs(roots: Sequence[Path]) -> list[tuple[Invocation, list[Job]]]:
    """Every invocation found in ``roots`` with its jobs, each judged from its folder.

    Raises:
        NotFoundError: when a folder does not exist or holds no job folder.
    """
    found: dict[Path, tuple[Invocation, list[Job]]] = {}
    for root in roots:
        root = root.expanduser().resolve()
        if not root.is_dir():
            raise NotFoundError(f"--job-dirs {root}: no such directory")
        dirs = _invocation_dirs(root)
        if not dirs:
            raise NotFoundError(
                f"--job-dirs {root}: no job folder found",
                hint="give a job's folder, an invocation's folder, or the execution.output_dir holding them",
            )
        for invocation_dir in dirs:
            if invocation_dir not in found:
                found[invocation_dir] = _read_invocation(invocation_dir)
    return list(found.values())


def select_jobs(
    found: Sequence[tuple[Invocation, list[Job]]], ids: Sequence[str]
) -> list[tuple[Invocation, list[Job]]]:
    """The invocations and jobs named by ``ids`` (ids or prefixes; all of them when none is given).

    Raises:
        NotFoundError: naming an id that matches nothing.
    """
    if not ids:
        return list(found)
    chosen: dict[str, tuple[Invocation, list[Job]]] = {}
    for wanted in ids:
        matched = False
        for invocation, jobs in found:
            if "." in wanted:
                picked = [job for job in jobs if job.id == wanted]
            else:
                picked = list(jobs) if invocation.id.startswith(wanted) else []
            if not picked:
                continue
            matched = True
            _, already = chosen.setdefault(invocation.id, (invocation, []))
            already.extend(job for job in picked if job not in already)
        if not matched:
            raise NotFoundError(f"{wanted}: no such invocation or job in the folders given")
    return list(chosen.values())
