"""``nel gate --policy FILE BASE CANDIDATE``: GO (exit 0), NO-GO (1) or INCONCLUSIVE (2), with a Markdown summary.

Any error that keeps the gate from judging (a bad policy file, an unknown run) exits 3, so that
CI never reads it as a verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import typer

from nel_cli.commands.results import load_runs

if TYPE_CHECKING:
    from nel_core.results import Check, GateResult, RunView

__all__ = ["GATE_ERROR_EXIT", "gate_command", "render_gate"]

#: The exit code of a gate that could not judge (never a verdict's).
GATE_ERROR_EXIT = 3
FORMATS = ("md", "json")


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(check: Check) -> str:
    interval = f"[{check.low:+.3f}, {check.high:+.3f}]" if check.low is not None and check.high is not None else ""
    if check.gain is None and interval:  # the candidate's own interval
        interval = f"[{check.low:.3f}, {check.high:.3f}]"
    cells = [
        check.task, check.tier + ("" if check.blocking else " (non-blocking)"), check.score, _number(check.base),
        _number(check.candidate), _number(check.gain, signed=True), interval, check.rule, check.outcome.upper(),
        check.reason,
    ]  # fmt: skip
    return "| " + " | ".join(_cell(str(c)) for c in cells) + " |"


def _label(run: RunView) -> str:
    return f"`{run.id}` ({run.model})" if run.model else f"`{run.id}`"


def render_gate(result: GateResult, base: RunView, candidate: RunView) -> str:
    """The gate's Markdown summary (for a pull request or a CI job's summary)."""
    lines = [
        f"## Release gate: {result.verdict}",
        "",
        f"Policy `{result.policy}`: candidate {_label(candidate)} against base {_label(base)}, "
        f"{result.confidence:.0%} intervals.",
        "",
    ]
    deciding = result.deciding
    if deciding:
        lines.append("**NO-GO because:**" if result.verdict == "NO-GO" else "**INCONCLUSIVE because:**")
        lines += [f"- {c.task} ({c.tier}, {c.rule}): {c.reason}" for c in deciding]
        lines.append("")
    warnings = [c for c in result.checks if not c.blocking and c.outcome in ("fail", "inconclusive")]
    if warnings:
        lines.append("Non-blocking:")
        lines += [f"- {c.task} ({c.tier}, {c.rule}): {c.outcome}: {c.reason}" for c in warnings]
        lines.append("")
    lines += [
        "| benchmark | tier | score | base | candidate | change | interval | check | result | why |",
        "|" + " --- |" * 10,
        *(_row(check) for check in result.checks),
        "",
        "Exit code: 0 GO, 1 NO-GO, 2 INCONCLUSIVE.",
    ]
    return "\n".join(lines) + "\n"


def gate_data(result: GateResult) -> dict[str, Any]:
    """The gate's result as plain data (``--format json``)."""
    data = attrs.asdict(result)
    data["exit_code"] = result.exit_code
    return data


def gate_command(policy_file: str | None, base: str, candidate: str, output_format: str, summary: str | None) -> int:
    """Judge ``candidate`` against ``base`` by the policy; print the summary; return the exit code."""
    from nel_core.errors import ConfigError, NelError
    from nel_core.results import evaluate_gate, load_policy

    try:
        if not policy_file:
            raise ConfigError("--policy FILE is required (the release policy, YAML)")
        if output_format not in FORMATS:
            raise ConfigError(f"--format {output_format}: expected one of {', '.join(FORMATS)}")
        policy = load_policy(policy_file)
        base_run, candidate_run = load_runs([base, candidate])
    except NelError as exc:
        exc.exit_code = GATE_ERROR_EXIT
        raise
    result = evaluate_gate(policy, base_run, candidate_run)
    markdown = render_gate(result, base_run, candidate_run)
    if summary:
        try:
            with Path(summary).open("a", encoding="utf-8") as handle:
                handle.write(markdown)
        except OSError as exc:
            error = NelError(f"--summary {summary}: cannot write: {exc.strerror or exc}")
            error.exit_code = GATE_ERROR_EXIT
            raise error from exc
    if output_format == "json":
        typer.echo(json.dumps(gate_data(result), indent=2))
    else:
        typer.echo(markdown, nl=False)
    return result.exit_code
