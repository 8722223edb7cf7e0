"""``nel export``: hand finished jobs' results to an exporter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from nel_cli import context
from nel_cli.output import emit_json

if TYPE_CHECKING:
    from nel_core.models.domain import Invocation, Job
    from nel_core.ports.result_exporter import ExportReport

__all__ = ["export_command"]


def _from_store_or_dirs(ids: Sequence[str], job_dirs: Sequence[str]) -> list[tuple[Invocation, list[Job]]]:
    """The jobs ``ids`` name: from the store (states refreshed), else from ``job_dirs``."""
    from nel_core.errors import NotFoundError
    from nel_core.services import jobs_from_dirs, refresh, select_jobs

    found_in_dirs = jobs_from_dirs([Path(d) for d in job_dirs]) if job_dirs else []
    if not ids:
        return select_jobs(found_in_dirs, [])
    from_store: list[tuple[Invocation, list[Job]]] = []
    from_dirs: list[str] = []
    for wanted in ids:
        if job_dirs and not context.home().exists():
            from_dirs.append(wanted)  # no store at all: do not create one just to miss in it
            continue
        try:
            from_store.append(context.store().resolve(wanted))
        except NotFoundError:
            if not job_dirs:
                raise
            from_dirs.append(wanted)
    selected: list[tuple[Invocation, list[Job]]] = []
    if from_store:
        jobs = refresh(context.store(), context.executor_for, from_store)
        by_id = {job.id: job for job in jobs}
        selected = [(inv, [by_id.get(j.id, j) for j in inv_jobs]) for inv, inv_jobs in from_store]
    return selected + select_jobs(found_in_dirs, from_dirs)


def _fetch(invocation: Invocation, job: Job, destination: Path) -> Path | None:
    """The job's folder copied here by its executor, when the executor can copy it."""
    from nel_core.errors import NelError
    from nel_core.ports.capabilities import Capability

    try:
        executor = context.executor_for(invocation)
        if Capability.ARTIFACT_COPY not in executor.capabilities:
            return None
        return executor.fetch_job_dir(job, destination)
    except NelError:
        return None


def _report_data(report: ExportReport) -> dict[str, Any]:
    return {
        "destination": report.destination,
        "location": report.location,
        "exported": report.exported,
        "skipped": report.skipped,
        "failed": report.failed,
    }


def export_command(
    ids: Sequence[str],
    dest: str,
    overrides: Sequence[str],
    flags: dict[str, Any],
    job_dirs: Sequence[str],
    json_output: bool,
) -> None:
    """Export the results of ``ids`` (invocations or jobs) to ``dest``.

    Settings: the ``export.<dest>`` block of the invocations' configs, then ``-o`` overrides,
    then the flags (``--format``, ``--output-dir``, ...), the last one winning.
    """
    from nel_core.errors import ConfigError
    from nel_core.exporting import apply_overrides, destination_settings
    from nel_core.plugins import load_exporter
    from nel_core.services import ExportFailed, export_results

    if not ids and not job_dirs:
        raise ConfigError("nel export: give invocation or job ids, or --job-dirs DIR")
    spec = load_exporter(dest)
    selected = _from_store_or_dirs(ids, job_dirs)
    settings: dict[str, Any] = {}
    for invocation, _ in selected:
        settings.update(destination_settings(invocation.config, dest))
    settings = apply_overrides(settings, dest, overrides)
    settings.update({key: value for key, value in flags.items() if value is not None})
    exporter = spec.factory(settings)
    try:
        report = export_results(exporter, selected, fetch=_fetch)
    except ExportFailed as failed:
        if json_output:
            emit_json(_report_data(failed.report))
        raise
    if json_output:
        emit_json(_report_data(report))
        return
    typer.echo(f"exported {len(report.exported)} job(s) to {report.destination}: {report.location}")
    for job_id, reason in sorted(report.skipped.items()):
        typer.echo(f"skipped {job_id}: {reason}")
