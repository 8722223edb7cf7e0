"""``nel compare BASE CANDIDATE``: paired per sample where both runs kept scored samples, else by score."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import typer

from nel_cli.commands.results import load_runs

if TYPE_CHECKING:
    from nel_core.results import Comparison, Flip, PairedDelta, RunView

__all__ = ["comparison_data", "compare_command", "render_comparison"]

FORMATS = ("text", "md", "json")


def _signed(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:+.{digits}f}"


def _plain(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2e}" if 0 < value < 1e-4 else f"{value:.4f}"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"[{low:+.3f}, {high:+.3f}]"


def _short(text: str | None, limit: int = 60) -> str:
    if text is None:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else "..." + flat[-(limit - 3) :]


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool) -> list[str]:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    if markdown:
        escape = [[c.replace("|", "\\|") for c in row] for row in cells]
        return ["| " + " | ".join(escape[0]) + " |", "|" + " --- |" * len(headers)] + [
            "| " + " | ".join(row) + " |" for row in escape[1:]
        ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _flip_rows(flips: Sequence[Flip], limit: int) -> list[list[Any]]:
    return [
        [f.id, f"{f.base_score:g} -> {f.candidate_score:g}", _short(" | ".join(f.expected), 30),
         _short(f.base_response, 30), _short(f.candidate_response, 30), _short(f.prompt)]
        for f in flips[:limit]
    ]  # fmt: skip


def _label(run: RunView) -> str:
    return f"{run.id} ({run.model})" if run.model else run.id


def render_comparison(
    comparison: Comparison, base: RunView, candidate: RunView, *, markdown: bool, flips: int
) -> str:
    """The comparison as aligned text or Markdown."""
    title = f"{_label(base)} -> {_label(candidate)}, {comparison.confidence:.0%} confidence"
    lines = [f"## nel compare: {title}" if markdown else f"compare {title}", ""]
    if comparison.paired:
        lines += ["Paired per sample (samples both runs scored; failed requests left out):", ""]
        lines += _table(
            ["task", "pairs", "base", "candidate", "delta", "interval", "p", "right->wrong", "wrong->right",
             "request failed", "verdict"],
            [[p.task, p.n, _plain(p.base_mean), _plain(p.candidate_mean), _signed(p.delta), _interval(p.low, p.high),
              _p(p.p_value), p.regressed, p.improved, p.errors, p.verdict] for p in comparison.paired],
            markdown,
        )  # fmt: skip
        lines.append("")
    if comparison.aggregate:
        paired = {p.task for p in comparison.paired}
        lines += ["By score (results.yml values and stderr):", ""]
        lines += _table(
            ["task", "score", "base", "candidate", "delta", "interval", "p", "verdict"],
            [[a.task, a.key, _stderr(a.base, a.base_stderr), _stderr(a.candidate, a.candidate_stderr),
              _signed(a.delta), _interval(a.low, a.high), _p(a.p_value),
              a.verdict + (" (paired decides)" if a.task in paired else "")] for a in comparison.aggregate],
            markdown,
        )  # fmt: skip
        lines.append("")
    for task, why in comparison.failed.items():
        lines.append(f"not compared: {task}: {why}")
    if comparison.only_base:
        lines.append("only in the base run: " + ", ".join(comparison.only_base))
    if comparison.only_candidate:
        lines.append("only in the candidate run: " + ", ".join(comparison.only_candidate))
    for paired_task in comparison.paired:
        lines += _flips(paired_task, markdown, flips)
    lines += ["", f"verdict: {comparison.verdict}"]
    return "\n".join(lines).rstrip() + "\n"


def _flips(paired: PairedDelta, markdown: bool, limit: int) -> list[str]:
    if not paired.flips or limit <= 0:
        return []
    worse = [f for f in paired.flips if f.candidate_score < f.base_score]
    better = [f for f in paired.flips if f.candidate_score > f.base_score]
    lines = [""]
    headers = ["sample", "score", "expected", "base response", "candidate response", "prompt (end)"]
    for name, group in (("worse in the candidate", worse), ("better in the candidate", better)):
        if group:
            more = f" (first {limit})" if len(group) > limit else ""
            lines += [f"{paired.task}: {len(group)} {name}{more}:", ""]
            lines += _table(headers, _flip_rows(group, limit), markdown) + [""]
    return lines


def _stderr(value: float, stderr: float | None) -> str:
    return f"{value:.3f}" + (f" ± {stderr:.3f}" if stderr is not None else "")


def comparison_data(comparison: Comparison) -> dict[str, Any]:
    """The comparison as plain data (``--format json``)."""
    data = attrs.asdict(comparison)
    data["verdict"] = comparison.verdict
    return data


def compare_command(base: str, candidate: str, output_format: str, confidence: float, flips: int) -> None:
    """Compare ``candidate`` with ``base`` and print the comparison."""
    from nel_core.errors import ConfigError
    from nel_core.results import compare_runs

    if output_format not in FORMATS:
        raise ConfigError(f"--format {output_format}: expected one of {', '.join(FORMATS)}")
    if not 0.5 <= confidence < 1.0:
        raise ConfigError(f"--confidence {confidence}: expected a number in [0.5, 1), such as 0.95")
    base_run, candidate_run = load_runs([base, candidate])
    comparison = compare_runs(base_run, candidate_run, confidence=confidence)
    if output_format == "json":
        typer.echo(json.dumps(comparison_data(comparison), indent=2))
        return
    text = render_comparison(comparison, base_run, candidate_run, markdown=output_format == "md", flips=flips)
    typer.echo(text, nl=False)
