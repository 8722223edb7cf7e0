"""Stage markers: files a job writes into its own directory as it goes.

A job outlives the CLI, so it records its own progress: ``stage.pre-start`` when its script
starts, ``stage.running`` when the harness starts, ``stage.exit`` holding the exit code when
it ends, and ``stage.killed`` when it was stopped on purpose. Status reads these together with
the scheduler's answer and the harness's results and request statistics (see
:mod:`nel_core.services.outcome`).
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from nel_core.layout import EXIT, KILLED, OUTCOME_FILE, PRE_START, REASON, RESULTS_FILE, RUN_CONFIG_FILE, RUNNING
from nel_core.models.config import DEFAULT_MAX_FAILURE_RATE
from nel_core.models.domain import JobState, StateReport
from nel_core.models.results import JobResults
from nel_core.services.outcome import judge
from nel_core.services.requests import read_request_stats
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
    """What a job's directory says about it.

    Besides the stage markers, what judging its outcome needs once it has ended: the endpoint
    its harness was given (``run_config.yml``) and the failure rate it may have
    (``outcome.yml``; the default for a job written without one).
    """

    pre_start: bool = False
    running: bool = False
    exit_code: int | None = None
    killed: bool = False
    reason: str = ""
    endpoint_url: str = ""
    max_failure_rate: float = DEFAULT_MAX_FAILURE_RATE


def read_markers(job_dir: Path) -> Markers:
    """Read the stage markers of the job in ``job_dir`` (and, once it has ended, its outcome settings)."""
    exit_code = None
    exit_file = job_dir / EXIT
    settings: dict[str, Any] = {}
    if exit_file.exists():
        text = exit_file.read_text().strip()
        exit_code = int(text) if text.lstrip("-").isdigit() else -1
        # Read only for an ended job: a running one is judged by nothing but its markers.
        settings = _outcome_settings(job_dir)
    return Markers(
        pre_start=(job_dir / PRE_START).exists(),
        running=(job_dir / RUNNING).exists(),
        exit_code=exit_code,
        killed=(job_dir / KILLED).exists(),
        reason=_read(job_dir / REASON),
        **settings,
    )


def _outcome_settings(job_dir: Path) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    url = _mapping_at(_load_yaml(job_dir / RUN_CONFIG_FILE), "target", "api_endpoint").get("url")
    if isinstance(url, str):
        settings["endpoint_url"] = url
    rate = _load_yaml(job_dir / OUTCOME_FILE).get("max_failure_rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0.0 <= rate <= 1.0:
        settings["max_failure_rate"] = float(rate)
    return settings


def _load_yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = load(path.read_text())
    except (OSError, UnicodeDecodeError, YamlError):
        return {}
    return data if isinstance(data, Mapping) else {}


def _mapping_at(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        inner = data.get(key)
        data = inner if isinstance(inner, Mapping) else {}
    return data


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def read_results(results_dir: Path) -> tuple[JobResults, str]:
    """The job's parsed ``results.yml`` and, when it holds no score, what is known of why."""
    path = results_dir / RESULTS_FILE
    if not path.exists():
        return JobResults(), "the harness wrote no results.yml"
    try:
        text = path.read_text()
        results = JobResults.from_mapping(load(text))
    except (OSError, YamlError) as exc:
        return JobResults(), f"results.yml is unreadable: {exc}"
    if not results.has_scores:
        return results, "the harness exited 0 but results.yml holds no score"
    return results, ""


def combine(scheduled: StateReport, markers: Markers, results_dir: Path) -> StateReport:
    """The job's state from the scheduler's answer, its markers and its results.

    The markers win where they speak (they are the job's own word); a scheduler that cannot be
    asked gives UNKNOWN, never FAILED. A harness that exited 0 is judged by its scores and its
    request statistics (:func:`nel_core.services.outcome.judge`).
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
        return judge(
            results,
            why,
            read_request_stats(results_dir),
            max_failure_rate=markers.max_failure_rate,
            endpoint_url=markers.endpoint_url,
        )
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
