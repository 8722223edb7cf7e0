"""The ``nemo-evaluator-launcher`` / ``nel`` program.

Commands import what they need when they run, so ``--help``, ``--version`` and ``ls tasks``
stay fast and never import Hydra or any adapter's SDK.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from nel_cli import __version__
from nel_cli.command import NelCommand, NelGroup, ReaderGone

app = typer.Typer(
    name="nel",
    cls=NelGroup,
    help="NEL: launch LLM benchmark evaluations and keep track of them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
ls_app = typer.Typer(help="List tasks or runs.", no_args_is_help=True, rich_markup_mode=None, cls=NelGroup)
app.add_typer(ls_app, name="ls")

_state = {"verbose": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nel {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    _state["verbose"] = verbose


@app.command(cls=NelCommand)
def run(
    config: Optional[str] = typer.Option(None, "--config", "-c", metavar="FILE", help="Config file (YAML)."),
    config_dir: Optional[str] = typer.Option(None, "--config-dir", metavar="DIR", help="Directory of configs."),
    config_name: Optional[str] = typer.Option(
        None, "--config-name", metavar="NAME", help="Config name in --config-dir."
    ),
    override: Optional[list[str]] = typer.Option(
        None, "-o", "--override", metavar="KEY=VALUE", help="Hydra override key=value (repeatable)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Print what would run; touch nothing."),
    task: Optional[list[str]] = typer.Option(
        None, "-t", "--task", metavar="TASK", help="Run only this task (repeatable)."
    ),
    wait: bool = typer.Option(False, "--wait", "-w", help="Wait for the jobs and print their results."),
    json_output: bool = typer.Option(
        False, "--json", help="Print the invocation as JSON (with --dry-run: the files, endpoint and problems)."
    ),
) -> None:
    """Run the benchmarks of a config."""
    from nel_cli.commands.run import run_command

    run_command(config, config_dir, config_name, override or [], dry_run, task or [], wait, json_output)


@ls_app.command("tasks", cls=NelCommand)
def ls_tasks(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the tasks of the catalog."""
    from nel_cli.commands.ls import ls_tasks_command

    ls_tasks_command(json_output)


@ls_app.command("task", cls=NelCommand)
def ls_task(
    name: str = typer.Argument(..., metavar="TASK", help="A task name (harness.task, or a unique bare name)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show one task of the catalog."""
    from nel_cli.commands.ls import ls_task_command

    ls_task_command(name, json_output)


@ls_app.command("runs", cls=NelCommand)
def ls_runs(
    since: Optional[str] = typer.Option(
        None, "--since", metavar="AGE", help="Only runs newer than this (30m, 1d, 2w)."
    ),
    executor: Optional[str] = typer.Option(None, "--executor", metavar="NAME", help="Only runs of this executor."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List recorded invocations, newest first."""
    from nel_cli.commands.ls import ls_runs_command

    ls_runs_command(since, executor, json_output)


@app.command(cls=NelCommand)
def status(
    ids: Optional[list[str]] = typer.Argument(None, metavar="ID", help="Invocation or job ids (prefixes work)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the state of invocations and jobs (the latest invocation when no id is given)."""
    from nel_cli.commands.jobs import status_command

    status_command(ids or [], json_output)


@app.command(cls=NelCommand)
def kill(id: str = typer.Argument(..., metavar="ID", help="Invocation or job id.")) -> None:
    """Stop an invocation's jobs (or one job) and the deployment they use."""
    from nel_cli.commands.jobs import kill_command

    kill_command(id)


@app.command(cls=NelCommand)
def logs(
    id: str = typer.Argument(..., metavar="ID", help="Invocation or job id."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Follow until the job ends."),
) -> None:
    """Print a job's log."""
    from nel_cli.commands.jobs import logs_command

    logs_command(id, follow)


@app.command(cls=NelCommand)
def info(
    id: str = typer.Argument(..., metavar="ID", help="Invocation or job id."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show an invocation: config, jobs, paths and results."""
    from nel_cli.commands.jobs import info_command

    info_command(id, json_output)


@app.command(cls=NelCommand)
def resume(id: str = typer.Argument(..., metavar="ID", help="Invocation or job id.")) -> None:
    """Re-run failed or killed jobs in place."""
    from nel_cli.commands.jobs import resume_command

    resume_command(id)


@app.command(cls=NelCommand)
def export(
    ids: Optional[list[str]] = typer.Argument(None, metavar="ID", help="Invocation or job ids (prefixes work)."),
    dest: str = typer.Option(
        "local", "--dest", "-d", metavar="NAME", help="Exporter: local, mlflow, wandb, gsheets."
    ),
    override: Optional[list[str]] = typer.Option(
        None, "-o", "--override", metavar="KEY=VALUE",
        help="Exporter setting: export.NAME.key=value, or key=value (repeatable).",
    ),
    output_format: Optional[str] = typer.Option(
        None, "--format", metavar="FORMAT", help="local: the summary file's format (json or csv)."
    ),
    output_dir: Optional[str] = typer.Option(None, "--output-dir", metavar="DIR", help="local: where to write."),
    output_filename: Optional[str] = typer.Option(
        None, "--output-filename", metavar="NAME", help="local: the summary file's name."
    ),
    copy_logs: Optional[bool] = typer.Option(None, "--copy-logs", help="Also export the jobs' logs."),
    only_required: Optional[bool] = typer.Option(
        None, "--only-required/--all-artifacts", help="Export only the result files that matter, or all of them."
    ),
    log_metrics: Optional[list[str]] = typer.Option(
        None, "--log-metrics", metavar="PATTERN", help="Export only metrics matching PATTERN (repeatable)."
    ),
    job_dirs: Optional[list[str]] = typer.Option(
        None, "--job-dirs", metavar="DIR", help="Read jobs from this folder instead of the store (repeatable)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Export finished jobs' results (invocations or single jobs)."""
    from nel_cli.commands.export import export_command

    flags = {
        "format": output_format,
        "output_dir": output_dir,
        "output_filename": output_filename,
        "copy_logs": copy_logs,
        "only_required": only_required,
        "log_metrics": log_metrics or None,
    }
    export_command(ids or [], dest, override or [], flags, job_dirs or [], json_output)


@app.command(cls=NelCommand)
def report(
    ids: Optional[list[str]] = typer.Argument(
        None, metavar="ID", help="Invocation or job ids, or folders of runs (the latest run when none)."
    ),
    output: Optional[str] = typer.Option(
        None, "--output", "-o", metavar="FILE", help="Where to write (default report.html; stdout for md and json)."
    ),
    output_format: str = typer.Option("html", "--format", "-f", metavar="FORMAT", help="html, md or json."),
    job_dirs: Optional[list[str]] = typer.Option(
        None, "--job-dirs", metavar="DIR", help="A folder of an invocation or a job, from any executor (repeatable)."
    ),
    samples: bool = typer.Option(True, "--samples/--no-samples", help="Include the samples (HTML, JSON)."),
    max_text: int = typer.Option(
        2000, "--max-text", metavar="N", help="Cut each prompt, response and expected answer to N characters."
    ),
) -> None:
    """Report on runs side by side: scores with intervals, charts, failures, samples."""
    from nel_cli.commands.report import report_command

    report_command(ids or [], output, output_format, job_dirs or [], samples, max_text)


@app.command(cls=NelCommand)
def compare(
    base: str = typer.Argument(..., metavar="BASE", help="The base run: an invocation or job id, or a folder."),
    candidate: str = typer.Argument(..., metavar="CANDIDATE", help="The run to judge against it."),
    output_format: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help="text, md or json."),
    confidence: float = typer.Option(0.95, "--confidence", metavar="LEVEL", help="Of the intervals and tests."),
    flips: int = typer.Option(20, "--flips", metavar="N", help="List at most N flipped samples each way per task."),
) -> None:
    """Compare two runs: per sample where both kept scored samples (McNemar), else by score."""
    from nel_cli.commands.compare import compare_command

    compare_command(base, candidate, output_format, confidence, flips)


@app.command(cls=NelCommand)
def gate(
    base: str = typer.Argument(..., metavar="BASE", help="The base run: an invocation or job id, or a folder."),
    candidate: str = typer.Argument(..., metavar="CANDIDATE", help="The run to release or not."),
    policy: Optional[str] = typer.Option(None, "--policy", "-p", metavar="FILE", help="The release policy (YAML)."),
    output_format: str = typer.Option("md", "--format", "-f", metavar="FORMAT", help="md or json."),
    summary: Optional[str] = typer.Option(
        None, "--summary", metavar="FILE", help="Also append the Markdown summary to FILE (a CI job summary)."
    ),
) -> None:
    """Judge a candidate run against a base run by a release policy: exit 0 GO, 1 NO-GO, 2 INCONCLUSIVE."""
    from nel_cli.commands.gate import gate_command

    raise typer.Exit(gate_command(policy, base, candidate, output_format, summary))


@app.command(cls=NelCommand)
def version() -> None:
    """Print the version of NEL and of its installed adapters."""
    from nel_cli.commands.ls import version_command

    version_command()


def main() -> None:
    """Entry point: run the app; NEL errors become one line each and an exit code."""
    from nel_core.errors import NelError

    try:
        # Without standalone mode click returns the code of typer.Exit instead of exiting.
        code = app(standalone_mode=False)
    except NelError as exc:
        if _state["verbose"]:
            import traceback

            traceback.print_exc()
        for problem in getattr(exc, "problems", None) or (exc,):
            typer.echo(f"error: {problem.message}", err=True)
            if problem.hint:
                typer.echo(f"hint: {problem.hint}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (BrokenPipeError, ReaderGone):
        _reader_went_away()
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click's usage errors and anything unexpected
        _usage_or_crash(exc)
    try:
        sys.stdout.flush()  # what is still buffered, before the exit would find the pipe closed
    except BrokenPipeError:
        _reader_went_away()
    sys.exit(code if isinstance(code, int) else 0)


def _reader_went_away() -> None:
    """``nel logs ID | head``: the reader has all it wanted, which is success, and quiet."""
    import os

    # Python flushes stdout again at exit, into the closed pipe: point it at /dev/null first.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _usage_or_crash(exc: Exception) -> None:
    code = getattr(exc, "exit_code", None)
    if hasattr(exc, "format_message") and code is not None:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `nel` or `nel ls` alone: the help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(code)
        # Click's usage errors, in the one-line form of every other error.
        message = " ".join(exc.format_message().split())
        typer.echo(f"error: {message}", err=True)
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            typer.echo(f"hint: see '{ctx.command_path} --help'", err=True)
            if ctx.info_name == "gate":  # 2 is gate's INCONCLUSIVE: a gate that cannot judge exits 3
                code = 3
        sys.exit(code)
    if _state["verbose"]:
        raise exc
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    typer.echo("hint: run again with --verbose for the traceback", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
