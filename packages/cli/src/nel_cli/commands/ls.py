"""``nel ls tasks``, ``nel ls task``, ``nel ls runs``, ``nel version``."""

from __future__ import annotations

import re
import time

import typer

from nel_cli.output import ago, emit_json, table
from nel_cli.progress import progress_fields, running_progress, runs_cell

__all__ = ["ls_runs_command", "ls_task_command", "ls_tasks_command", "parse_since", "version_command"]


def ls_tasks_command(json_output: bool) -> None:
    """List every task of the catalog."""
    from nel_core.catalog import load_catalog

    catalog = load_catalog()
    if json_output:
        emit_json(
            [
                {
                    "task": t.qualified_name,
                    "harness": t.harness,
                    "name": t.name,
                    "endpoint_types": t.endpoint_types,
                    "container": t.container,
                    "pip_package": t.pip_package,
                }
                for t in catalog
            ]
        )
        return
    rows = [(t.qualified_name, ",".join(t.endpoint_types), t.container) for t in catalog]
    typer.echo(table(["task", "endpoint", "container"], rows))
    typer.echo(f"\n{len(rows)} tasks in {len(catalog.harnesses)} harnesses")


def ls_task_command(name: str, json_output: bool) -> None:
    """Show one task."""
    from nel_core.catalog import load_catalog

    catalog = load_catalog()
    task = catalog.resolve(name)
    harness = catalog.harnesses[task.harness]
    data = {
        "task": task.qualified_name,
        "harness": task.harness,
        "endpoint_types": task.endpoint_types,
        "container": task.container,
        "container_digest": harness.container_digest,
        "pip_package": task.pip_package,
        "defaults": task.defaults,
    }
    if json_output:
        emit_json(data)
        return
    for key, value in data.items():
        if value is None or value == {} or value == []:
            continue  # absent (a harness without a pinned digest or a PyPI package): not shown
        if key == "defaults":
            typer.echo("defaults:")
            for param, default in sorted(value.items()):  # type: ignore[union-attr]
                typer.echo(f"  {param}: {default}")
        else:
            shown = ",".join(value) if isinstance(value, list) else value
            typer.echo(f"{key}: {shown}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> float:
    """``30m``, ``12h``, ``1d``, ``2w`` → a timestamp that long ago.

    Raises:
        ConfigError: on another form.
    """
    from nel_core.errors import ConfigError

    match = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if not match:
        raise ConfigError(f"--since: cannot read '{text}'", hint="write e.g. 30m, 12h, 1d or 2w")
    return time.time() - int(match.group(1)) * _UNITS[match.group(2)]


def ls_runs_command(since: str | None, executor: str | None, json_output: bool) -> None:
    """List invocations, newest first."""
    from nel_cli import context

    store = context.store()
    invocations = store.list_invocations(
        since=parse_since(since) if since else None, executor=executor
    )
    rows = []
    for invocation in invocations:
        jobs = store.jobs(invocation.id)
        states: dict[str, int] = {}
        for job in jobs:
            states[job.state.value] = states.get(job.state.value, 0) + 1
        rows.append((invocation, jobs, states, running_progress(jobs)))
    if json_output:
        emit_json(
            [
                {
                    "invocation_id": inv.id,
                    "executor": inv.executor,
                    "created_at": inv.created_at,
                    "output_dir": inv.output_dir,
                    "jobs": len(jobs),
                    "states": states,
                    "tasks": [j.task_name for j in jobs],
                    "progress": {job_id: progress_fields(p) for job_id, p in readings.items()},
                }
                for inv, jobs, states, readings in rows
            ]
        )
        return
    if not rows:
        typer.echo("no runs recorded")
        return
    typer.echo(
        table(
            ["invocation", "created", "executor", "jobs", "states (recorded)", "progress (running jobs)"],
            [
                (inv.id, ago(inv.created_at), inv.executor, len(jobs),
                 " ".join(f"{k}:{v}" for k, v in sorted(states.items())),
                 runs_cell(list(readings.values())))
                for inv, jobs, states, readings in rows
            ],
        )
    )


def version_command() -> None:
    """NEL's version and the installed adapters (names only: no plugin is imported)."""
    from nel_cli import __version__
    from nel_core.plugins import deployment_type_names, executor_names, exporter_names, runtime_names

    typer.echo(f"nel {__version__}")
    typer.echo("executors: " + (", ".join(executor_names()) or "none"))
    typer.echo("exporters: " + (", ".join(exporter_names()) or "none"))
    typer.echo("runtimes: " + (", ".join(runtime_names()) or "none"))
    typer.echo("deployment types: " + ", ".join(deployment_type_names()))
