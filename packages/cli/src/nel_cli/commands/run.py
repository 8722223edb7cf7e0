"""``nel run``: compose, structure, plan, then dry-run or launch."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from nel_cli import context
from nel_cli.output import emit_json
from nel_core.errors import NelError

if TYPE_CHECKING:
    from nel_core.ports.executor import Executor
    from nel_core.services import Plan

__all__ = ["Interrupted", "run_command"]


class Interrupted(NelError):
    """The user pressed Ctrl-C while ``nel run --wait`` waited: the jobs go on without it."""

    exit_code = 130


def run_command(
    config: str | None,
    config_dir: str | None,
    config_name: str | None,
    overrides: Sequence[str],
    dry_run: bool,
    tasks: Sequence[str],
    wait: bool,
    json_output: bool,
) -> None:
    """Run (or dry-run) the config; print the invocation and the next commands."""
    from nel_cli.compose import compose, config_location
    from nel_core.catalog import load_catalog
    from nel_core.converter import structure_run_config
    from nel_core.errors import ConfigError
    from nel_core.plugins import load_executor
    from nel_core.services import launch, make_plan

    path = config_location(config, config_dir, config_name)
    data = compose(path, overrides)
    execution = data.get("execution")
    if not isinstance(execution, dict) or not execution.get("type"):
        raise ConfigError(
            "execution.type: not set",
            hint="add '- execution: local' (or slurm/default, lepton/default) to the config's defaults",
        )
    spec = load_executor(str(execution["type"]))
    run_config = structure_run_config(data, spec.config_type)
    executor = spec.factory(run_config.execution, context.home())
    plan = make_plan(
        run_config, executor=executor, catalog=load_catalog(), store=context.store(), task_filter=tasks
    )
    if dry_run:
        _dry_run(plan, executor, json_output)
        return
    context.store().check_writable()  # before the backend is contacted at all
    launched = launch(plan, executor=executor, store=context.store(), environ=os.environ)
    invocation = launched.invocation
    if json_output:
        emit_json(
            {
                "invocation_id": invocation.id,
                "output_dir": invocation.output_dir,
                "jobs": [{"id": j.id, "task": j.task_name, "job_dir": j.job_dir} for j in launched.jobs],
            }
        )
    else:
        typer.echo(f"invocation {invocation.id}: {len(launched.jobs)} job(s) on '{invocation.executor}'")
        for job in launched.jobs:
            typer.echo(f"  {job.id}  {job.task_name}")
        typer.echo(f"output: {invocation.output_dir}")
        if not wait:
            typer.echo("next:")
            typer.echo(f"  nel status {invocation.id}")
            typer.echo(f"  nel logs {launched.jobs[0].id} --follow")
            typer.echo(f"  nel kill {invocation.id}")
    if wait:
        from nel_cli.commands.jobs import wait_and_report

        try:
            wait_and_report(invocation.id, quiet=json_output)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: the jobs of {invocation.id} go on running; "
                f"stop them with 'nel kill {invocation.id}', follow them with 'nel status {invocation.id}'"
            ) from None


def _dry_run(plan: Plan, executor: Executor, json_output: bool) -> None:
    """Print what the run would write; fail, naming every problem, when the run would fail."""
    from nel_core.errors import Problems
    from nel_core.services import dry_run, dry_run_data, dry_run_text

    problems: list[NelError] = []
    try:
        context.store().check_writable()
    except NelError as exc:
        problems.append(exc)
    result = dry_run(plan, executor, os.environ, shown_root=executor.output_root(), problems=problems)
    if json_output:
        emit_json(dry_run_data(result))
    else:
        sys.stdout.write(dry_run_text(result))
    sys.stdout.flush()
    Problems.raise_any(result.problems)
