"""``nel report``: runs side by side, as one self-contained HTML page, Markdown or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from nel_cli.commands.results import load_runs

__all__ = ["FORMATS", "report_command"]

FORMATS = ("html", "md", "json")


def report_command(
    ids: Sequence[str],
    output: str | None,
    output_format: str,
    job_dirs: Sequence[str],
    samples: bool,
    max_text: int,
) -> None:
    """Write the report on the runs ``ids`` and ``job_dirs`` name (the latest run when none)."""
    from nel_core.errors import ConfigError
    from nel_core.results import report_document

    if output_format not in FORMATS:
        raise ConfigError(f"--format {output_format}: expected one of {', '.join(FORMATS)}")
    if max_text < 1:
        raise ConfigError(f"--max-text {max_text}: expected a positive number of characters")
    runs = load_runs(ids, job_dirs, latest=True)
    document = report_document(runs, samples=samples, max_text=max_text)
    if output_format == "html":
        from nel_cli.report import render_html

        text = render_html(document)
    elif output_format == "md":
        from nel_cli.report import render_markdown

        text = render_markdown(document)
    else:
        text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    target = output or ("report.html" if output_format == "html" else None)
    if target is None or target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"-o {target}: cannot write the report: {exc.strerror or exc}") from exc
    jobs = sum(len(run.jobs) for run in runs)
    rows = sum(len(r) for r in document["samples"].values())
    typer.echo(f"wrote {path} ({len(text.encode()):,} bytes): {len(runs)} run(s), {jobs} job(s), {rows} sample(s)")
