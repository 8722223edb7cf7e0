"""``nel status``, ``kill``, ``logs``, ``info``, ``resume``, and waiting for a run."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from nel_cli import context
from nel_cli.output import ago, emit_json, table
from nel_cli.progress import WaitDisplay, job_progress, progress_cell, progress_fields

if TYPE_CHECKING:
    from nel_core.models.domain import Invocation, Job

__all__ = [
    "info_command",
    "kill_command",
    "logs_command",
    "resume_command",
    "status_command",
    "wait_and_report",
]


def _selected(ids: Sequence[str]) -> list[tuple[Invocation, list[Job]]]:
    store = context.store()
    if ids:
        return [store.resolve(i) for i in ids]
    latest = store.list_invocations()[:1]
    if not latest:
        from nel_core.errors import NotFoundError

        raise NotFoundError("no runs recorded", hint="start one with 'nel run --config FILE'")
    return [(latest[0], store.jobs(latest[0].id))]


def _refreshed(ids: Sequence[str]) -> list[tuple[Invocation, list[Job]]]:
    from nel_core.services import refresh

    selected = _selected(ids)
    jobs = refresh(context.store(), context.executor_for, selected)
    by_invocation: dict[str, list[Job]] = {}
    for job in jobs:
        by_invocation.setdefault(job.invocation_id, []).append(job)
    return [(inv, by_invocation.get(inv.id, [])) for inv, _ in selected]


def _scores(job: Job) -> dict[str, float]:
    from nel_core.services import read_results

    results, _ = read_results(Path(job.job_dir) / "artifacts")
    return results.as_dict()


def _requests(job: Job) -> dict[str, object]:
    """The job's request statistics (None each when its harness counted none)."""
    from nel_core.services.status import REQUEST_KEYS

    return {key: job.data.get(key) for key in REQUEST_KEYS}


def _failed_requests(job: Job) -> str:
    """``1 of 100 (1.0%)``, or empty when unknown."""
    requests = _requests(job)
    total, failed, rate = requests["requests"], requests["failed_requests"], requests["failure_rate"]
    if not isinstance(total, int) or not isinstance(failed, int):
        return ""
    share = f" ({rate:.1%})" if isinstance(rate, float) else ""
    return f"{failed} of {total}{share}"


def status_command(ids: Sequence[str], json_output: bool) -> None:
    """Print the jobs' states (asking each backend once)."""
    selected = _refreshed(ids)
    if json_output:
        emit_json(
            [
                {
                    "invocation_id": inv.id,
                    "executor": inv.executor,
                    "jobs": [
                        {
                            "id": j.id,
                            "task": j.task_name,
                            "state": j.state.value,
                            "reason": j.reason,
                            "exit_code": j.exit_code,
                            "handle": j.handle,
                            "job_dir": j.job_dir,
                            **_requests(j),
                            "progress": progress_fields(job_progress(j)),
                        }
                        for j in jobs
                    ],
                }
                for inv, jobs in selected
            ]
        )
        return
    rows = [
        (j.id, j.task_name, j.state.value, _progress_cell(j), _failed_requests(j) or "-", j.reason)
        for _, jobs in selected
        for j in jobs
    ]
    typer.echo(table(["job", "task", "state", "progress", "failed requests", "reason"], rows))


def _progress_cell(job: Job) -> str:
    return progress_cell(job_progress(job), running=not job.state.is_terminal)


def kill_command(id: str) -> None:
    """Kill an invocation or a job."""
    from nel_core.services import kill

    # Current states first: a job that ended since the last look must stay ended, not "killed".
    invocation, jobs = _refreshed([id])[0]
    killed = kill(context.store(), context.executor_for, invocation, jobs)
    if not killed:
        typer.echo(f"{id}: nothing to kill (every job has ended)")
        return
    for job in killed:
        typer.echo(f"killed {job.id}  {job.task_name}")


def logs_command(id: str, follow: bool) -> None:
    """Print (and follow) the log of a job, or of every job of an invocation."""
    store = context.store()
    invocation, jobs = store.resolve(id)
    executor = context.executor_for(invocation)
    for job in jobs:
        if len(jobs) > 1:
            typer.echo(f"===== {job.id} {job.task_name} =====")
        for line in executor.logs(job, follow=follow):
            sys.stdout.write(line)
            sys.stdout.flush()


def info_command(id: str, json_output: bool) -> None:
    """Describe an invocation: where it ran, its jobs, their states and scores."""
    from nel_core.layout import CONFIG_FILE
    from nel_core.yaml_io import dump

    invocation, jobs = _refreshed([id])[0]
    execution = invocation.config.get("execution", {})
    try:
        locations = context.executor_for(invocation).locations(invocation)
    except Exception:  # noqa: BLE001 - info still shows what the store holds
        locations = {}
    data = {
        "invocation_id": invocation.id,
        "executor": invocation.executor,
        "created_at": ago(invocation.created_at),
        "output_dir": invocation.output_dir,
        **locations,
        "deployment": (invocation.config.get("deployment") or {}).get("type", "none"),
        "execution": execution,
        "config": invocation.config,
        "config_file": str(Path(invocation.output_dir) / CONFIG_FILE),
        "jobs": [
            {
                "id": j.id,
                "task": j.task_name,
                "state": j.state.value,
                "reason": j.reason,
                "job_dir": j.job_dir,
                "scores": _scores(j),
                **_requests(j),
                "auto_export": j.data.get("auto_export") or {},
            }
            for j in jobs
        ],
    }
    if json_output:
        emit_json(data)
        return
    for key in ("invocation_id", "executor", "created_at", "output_dir", *locations, "deployment"):
        typer.echo(f"{key}: {data[key]}")
    for job, described in zip(jobs, data["jobs"]):
        typer.echo(f"\n{job.id}  {job.task_name}  {job.state.value}  {job.reason}")
        typer.echo(f"  dir: {job.job_dir}")
        failed = _failed_requests(job)
        if failed:
            error = job.data.get("request_error")
            typer.echo(f"  failed requests: {failed}" + (f"; {error}" if error else ""))
        for name, value in sorted(described["scores"].items()):
            typer.echo(f"  {name}: {value:.4f}")
        for dest, outcome in sorted(described["auto_export"].items()):
            where = outcome.get("location") or f"not exported: {outcome.get('error') or outcome.get('skipped')}"
            typer.echo(f"  auto-export {dest}: {where}")
    typer.echo(f"\nconfig (as composed and run; also in {data['config_file']}):")
    typer.echo(textwrap.indent(dump(invocation.config).rstrip("\n"), "  "))


def resume_command(id: str) -> None:
    """Resume the failed or killed jobs of an invocation (or one job)."""
    from nel_core.services import resume

    store = context.store()
    invocation, jobs = _refreshed([id])[0]
    if "." in id:
        jobs = [j for j in jobs if j.id == store.get_job(id).id]
    for job in resume(store, context.executor_for, invocation, jobs):
        typer.echo(f"resumed {job.id}  {job.task_name}")
    typer.echo(f"next: nel status {invocation.id}")


def wait_and_report(invocation_id: str, *, quiet: bool = False, poll: float = 0.2) -> None:
    """Wait until every job of the invocation has ended; print states and scores.

    Meanwhile the jobs' states and progress go to stderr (see ``nel_cli.progress.WaitDisplay``).

    Exits non-zero when a job did not succeed.
    """
    display = None if quiet else WaitDisplay(sys.stderr)
    while True:
        invocation, jobs = _refreshed([invocation_id])[0]
        if display is not None:
            display.update(jobs)
        if all(j.state.is_terminal for j in jobs):
            break
        time.sleep(poll)
    if display is not None:
        display.close()
    rows = []
    for job in jobs:
        scores = _scores(job)
        # A job can fail with scores (its endpoint failed too many requests): say why too.
        if not scores or job.reason and job.state.value != "success":
            rows.append((job.id, job.task_name, job.state.value, "-", job.reason or "-"))
        for name, value in sorted(scores.items()):
            rows.append((job.id, job.task_name, job.state.value, name, f"{value:.4f}"))
    if not quiet:
        typer.echo("")
        typer.echo(table(["job", "task", "state", "score", "value"], rows))
    if any(j.state.value != "success" for j in jobs):
        raise typer.Exit(1)
