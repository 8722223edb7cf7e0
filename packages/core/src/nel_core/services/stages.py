"""Stage markers: files a job writes into its own directory as it goes.

A job outlives the CLI, so it records its own progress: ``stage.pre-start`` when its script
starts, ``stage.running`` when the harness starts, ``stage.exit`` holding the exit code when
it ends, and ``stage.killed`` when it was stopped on purpose. Status reads these together with
the scheduler's answer and the harness's results.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import attrs

from nel_core.layout import EXIT, KILLED, PRE_START, REASON, RUNNING
from nel_core.models.domain import JobState, StateReport
from nel_core.models.results import JobResults
from nel_core.yaml_io import YamlError, load

__all__ = [
    "EXIT",
    "KILLED",
    "PRE_START",
    "REASON",
    "RUNNING",
    "Markers",
    "combine",
    "marker_snippets",
    "read_markers",
    "read_results",
]



@attrs.frozen(kw_only=True)
class Markers:
    """What a job's directory says about it."""

    pre_start: bool = False
    running: bool = False
    exit_code: int | None = None
    killed: bool = False
    reason: str = ""


def read_markers(job_dir: Path) -> Markers:
    """Read the stage markers of the job in ``job_dir``."""
    exit_code = None
    exit_file = job_dir / EXIT
    if exit_file.exists():
        text = exit_file.read_text().strip()
        exit_code = int(text) if text.lstrip("-").isdigit() else -1
    return Markers(
        pre_start=(job_dir / PRE_START).exists(),
        running=(job_dir / RUNNING).exists(),
        exit_code=exit_code,
        killed=(job_dir / KILLED).exists(),
        reason=_read(job_dir / REASON),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def read_results(results_dir: Path) -> tuple[JobResults, str]:
    """The job's parsed ``results.yml`` and, when it holds no score, why."""
    path = results_dir / "results.yml"
    if not path.exists():
        return JobResults(), "the harness wrote no results.yml"
    try:
        text = path.read_text()
        results = JobResults.from_mapping(load(text))
    except (OSError, YamlError) as exc:
        return JobResults(), f"results.yml is unreadable: {exc}"
    if not results.has_scores:
        return results, "the harness exited 0 but results.yml holds no score (did every request fail?)"
    return results, ""


def combine(scheduled: StateReport, markers: Markers, results_dir: Path) -> StateReport:
    """The job's state from the scheduler's answer, its markers and its results.

    The markers win where they speak (they are the job's own word); a scheduler that cannot be
    asked gives UNKNOWN, never FAILED.
    """
    if markers.killed:
        return StateReport(state=JobState.KILLED, reason="killed", exit_code=markers.exit_code)
    if markers.exit_code is not None:
        if markers.exit_code != 0:
            return StateReport(
                state=JobState.FAILED,
                reason=markers.reason or f"the harness exited with code {markers.exit_code}",
                exit_code=markers.exit_code,
            )
        results, why = read_results(results_dir)
        if results.has_scores:
            return StateReport(state=JobState.SUCCESS, exit_code=0)
        return StateReport(state=JobState.FAILED, reason=why, exit_code=0)
    if scheduled.state is JobState.UNKNOWN:
        return scheduled
    if scheduled.state.is_active:
        state = JobState.RUNNING if markers.pre_start else scheduled.state
        return StateReport(state=state, reason=scheduled.reason)
    if scheduled.state is JobState.KILLED:
        return scheduled
    reason = scheduled.reason or "the job ended without writing its exit marker"
    full = _full_disk(results_dir.parent)
    if full:
        reason = f"{reason}; {full}"
    return StateReport(state=JobState.FAILED, reason=reason, exit_code=scheduled.exit_code, inferred=True)


#: Free space below which a job's filesystem counts as full (the job could not write its markers).
_FULL_BYTES = 1 << 20


def _full_disk(job_dir: Path) -> str:
    """Why a job may have ended without a word: the disk holding its folder is full ("" if not)."""
    try:
        free = shutil.disk_usage(job_dir).free
    except OSError:
        return ""
    return f"no space left on the disk holding {job_dir} ({free} bytes free)" if free < _FULL_BYTES else ""


def marker_snippets(job_dir: str) -> dict[str, str]:
    """Shell lines a job script uses to write its markers (``job_dir`` as the job sees it).

    ``exit`` expects the exit code in ``$rc``; the marker is written atomically (rename).
    """
    def path(marker: str) -> str:
        return shlex.quote(f"{job_dir}/{marker}")

    return {
        "pre_start": f"date +%s > {path(PRE_START)}",
        "running": f"date +%s > {path(RUNNING)}",
        "exit": f'echo "$rc" > {path(EXIT + ".tmp")} && mv {path(EXIT + ".tmp")} {path(EXIT)}',
    }
