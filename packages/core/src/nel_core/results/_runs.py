"""Runs to look at: invocations from the store, or folders of jobs copied from any executor.

A :class:`RunView` is one invocation with, per job, what its folder says: state, scores, request
statistics, times, model. It is built from the store's records (:func:`run_view`) or from plain
directories (:func:`load_run_dirs`): an invocation's folder (``<id>/<n>-<task>/...``), one job's
folder (``run_config.yml``, ``artifacts/``), or a harness's output folder (``results.yml``).
NeMo Evaluator Launcher's folders (``<id>/<task>/artifacts/results.yml``) read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from nel_core.errors import NotFoundError
from nel_core.layout import ARTIFACTS_DIR, CONFIG_FILE, EXIT, PRE_START, RESULTS_FILE, RUN_CONFIG_FILE
from nel_core.models.domain import Invocation, Job, JobState, StateReport
from nel_core.models.results import JobResults, RequestStats
from nel_core.results._read import SampleSet, read_samples
from nel_core.services.outcome import judge
from nel_core.services.requests import read_request_stats
from nel_core.services.stages import combine, read_markers, read_results
from nel_core.yaml_io import YamlError, load

__all__ = ["JobView", "RunView", "load_run_dirs", "run_view"]

_JOB_FOLDER = re.compile(r"^(\d+)-(.+)$")


@attrs.frozen(kw_only=True)
class JobView:
    """One job as its results show it.

    Args:
        id: The job's id (``<invocation>.<n>``).
        task: The task's catalog name (``harness.task``).
        state: Its state (as recorded, or as its folder says).
        reason: Why it failed, when it did.
        job_dir: Its folder.
        artifacts: The harness's output folder.
        model: The model it was evaluated on.
        results: Its scores.
        requests: Its request statistics (failed requests are the endpoint's failures).
        started_at: When its script started (Unix time), when known.
        ended_at: When it ended, when known.
    """

    id: str
    task: str
    state: JobState
    reason: str = ""
    job_dir: Path
    artifacts: Path
    model: str = ""
    results: JobResults = attrs.Factory(JobResults)
    requests: RequestStats | None = None
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, when both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)

    def samples(self) -> SampleSet:
        """Its samples (read from its artifacts when asked)."""
        return read_samples(self.artifacts)


@attrs.frozen(kw_only=True)
class RunView:
    """One invocation and its jobs.

    Args:
        id: The invocation's id (a folder's name for plain directories).
        jobs: Its jobs, in order.
        executor: The executor that ran it, when known.
        created_at: When it was launched (Unix time), when known.
        model: Its model (the jobs' one, or ``a, b`` when they differ).
        source: ``store``, or the directory it was read from.
    """

    id: str
    jobs: list[JobView] = attrs.Factory(list)
    executor: str = ""
    created_at: float | None = None
    model: str = ""
    source: str = "store"


def _yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlError):
        return {}
    return data if isinstance(data, Mapping) else {}


def _at(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None  # type: ignore[assignment]
    return data


def _times(job_dir: Path) -> tuple[float | None, float | None]:
    """The job's start (its pre-start marker holds the time) and end (its exit marker's mtime)."""
    started = ended = None
    try:
        started = float((job_dir / PRE_START).read_text().strip())
    except (OSError, ValueError):
        pass
    try:
        ended = (job_dir / EXIT).stat().st_mtime
    except OSError:
        pass
    return started, ended


def _model(run_configs: Sequence[Mapping[str, Any]], fallback: str = "") -> str:
    for run_config in run_configs:
        model = _at(run_config, "target", "api_endpoint", "model_id")
        if isinstance(model, str) and model:
            return model
    return fallback


def _run_model(jobs: Sequence[JobView], fallback: str = "") -> str:
    models = list(dict.fromkeys(job.model for job in jobs if job.model))
    return ", ".join(models) or fallback


def _config_model(config: Mapping[str, Any]) -> str:
    for keys in (("target", "api_endpoint", "model_id"), ("deployment", "served_model_name")):
        value = _at(config, *keys)
        if isinstance(value, str) and value:
            return value
    return ""


def run_view(invocation: Invocation, jobs: Sequence[Job]) -> RunView:
    """The view of a recorded invocation and its (refreshed) jobs."""
    fallback = _config_model(invocation.config)
    views = []
    for job in jobs:
        job_dir = Path(job.job_dir)
        artifacts = job_dir / ARTIFACTS_DIR
        started, ended = _times(job_dir)
        views.append(
            JobView(
                id=job.id,
                task=job.task_name,
                state=job.state,
                reason=job.reason,
                job_dir=job_dir,
                artifacts=artifacts,
                model=_model([_yaml(job_dir / RUN_CONFIG_FILE), _yaml(artifacts / RUN_CONFIG_FILE)], fallback),
                results=read_results(artifacts)[0],
                requests=read_request_stats(artifacts),
                started_at=started,
                ended_at=ended if job.state.is_terminal else None,
            )
        )
    return RunView(
        id=invocation.id,
        jobs=views,
        executor=invocation.executor,
        created_at=invocation.created_at,
        model=_run_model(views, fallback),
    )


def _is_job_folder(path: Path) -> bool:
    return (path / RUN_CONFIG_FILE).is_file() or (path / ARTIFACTS_DIR / RESULTS_FILE).is_file()


def _folder_job(path: Path, run_id: str, position: int, fallback_model: str) -> JobView:
    """A job from its folder alone: its state is what its markers, results and requests say."""
    artifacts = path / ARTIFACTS_DIR if (path / ARTIFACTS_DIR).is_dir() else path
    match = _JOB_FOLDER.match(path.name)
    index = int(match.group(1)) if match else position
    run_configs = [_yaml(path / RUN_CONFIG_FILE), _yaml(artifacts / RUN_CONFIG_FILE)]
    task = next((t for c in run_configs if isinstance(t := _at(c, "config", "type"), str) and t), "")
    if not task:
        task = match.group(2) if match else path.name
    markers = read_markers(path)
    results, why = read_results(artifacts)
    requests = read_request_stats(artifacts)
    if markers.exit_code == 0 and not markers.killed:
        # What combine() concludes for an exit code 0, from the files already read.
        report = judge(
            results, why, requests, max_failure_rate=markers.max_failure_rate, endpoint_url=markers.endpoint_url
        )
    else:
        report = combine(StateReport(state=JobState.UNKNOWN, reason="no exit marker"), markers, artifacts)
    if report.state is JobState.UNKNOWN and not markers.pre_start and results.has_scores:
        # A harness's output copied without NEL's markers: its scores are its word.
        report = StateReport(state=JobState.SUCCESS)
    started, ended = _times(path)
    return JobView(
        id=f"{run_id}.{index}",
        task=task,
        state=report.state,
        reason=report.reason if report.state is not JobState.SUCCESS else "",
        job_dir=path,
        artifacts=artifacts,
        model=_model(run_configs, fallback_model),
        results=results,
        requests=requests,
        started_at=started,
        ended_at=ended,
    )


def _load_dir(path: Path) -> RunView:
    if (path / RESULTS_FILE).is_file() or _is_job_folder(path):
        folders = [path]
        run_dir = path.parent if _JOB_FOLDER.match(path.name) else path
    else:
        folders = sorted(
            (p for p in path.iterdir() if p.is_dir() and _is_job_folder(p)),
            key=lambda p: (int(m.group(1)) if (m := _JOB_FOLDER.match(p.name)) else 1 << 30, p.name),
        )
        run_dir = path
    if not folders:
        raise NotFoundError(
            f"{path}: no job folder in it (none holds {RUN_CONFIG_FILE} or {ARTIFACTS_DIR}/{RESULTS_FILE})"
        )
    config = _yaml(run_dir / CONFIG_FILE)
    fallback = _config_model(config)
    run_id = run_dir.name or str(run_dir)
    jobs = [_folder_job(folder, run_id, n, fallback) for n, folder in enumerate(folders)]
    executor = _at(config, "execution", "type")
    starts = [job.started_at for job in jobs if job.started_at is not None]
    return RunView(
        id=run_id,
        jobs=jobs,
        executor=executor if isinstance(executor, str) else "",
        created_at=min(starts) if starts else None,
        model=_run_model(jobs, fallback),
        source=str(path),
    )


def load_run_dirs(paths: Sequence[str | Path]) -> list[RunView]:
    """Runs from plain directories (see the module's docstring), one per path.

    Raises:
        NotFoundError: a path is not a directory, or holds no job.
    """
    runs = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise NotFoundError(f"{raw}: no such directory")
        runs.append(_load_dir(path.resolve()))
    return runs
