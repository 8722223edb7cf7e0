"""The report as Markdown: runs side by side, their scores with intervals, failures and samples."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["render_markdown"]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _number(value: Any, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _count(value: Any) -> str:
    return "" if value is None else f"{value:,}"


def _seconds(value: Any) -> str:
    return "" if value is None else f"{value:.1f} s"


def _score(point: dict[str, Any] | None) -> str:
    if not point or point.get("value") is None:
        return ""
    text = _number(point["value"])
    if point.get("low") is not None and point.get("high") is not None:
        text += f" [{_number(point['low'])}, {_number(point['high'])}]"
    return text


def render_markdown(document: dict[str, Any]) -> str:
    """The Markdown of a report document."""
    runs = document.get("runs", [])
    jobs = document.get("jobs", [])
    ids = [run["id"] for run in runs]
    lines = ["# NEL report", "", "## Runs", ""]
    fields: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("model", lambda r: r["model"]),
        ("executor", lambda r: r["executor"]),
        ("jobs", lambda r: f"{r['jobs']} ({r['succeeded']} succeeded, {r['failed']} failed)"),
        ("duration", lambda r: _seconds(r["duration_s"])),
        ("tokens", lambda r: _count(r["tokens"])),
        ("requests", lambda r: _count(r["requests"])),
        ("failed requests (endpoint)", lambda r: _count(r["failed_requests"])),
        ("samples", lambda r: _count(r["samples"])),
    ]
    lines += _table(["", *ids], [[name, *(get(run) for run in runs)] for name, get in fields])
    confidence = f"{document.get('confidence', 0.95):.0%}"
    lines += ["", f"## Scores ({confidence} intervals)", ""]
    rows = [
        [m["task"], m["key"], *(_score(m["values"].get(run_id)) for run_id in ids)] for m in document.get("metrics", [])
    ]
    lines += _table(["task", "score", *ids], rows) if rows else ["No scores."]
    trouble = [j for j in jobs if j["state"] != "success" or j.get("failed_requests")]
    if trouble:
        lines += ["", "## Failures", ""]
        lines += _table(
            ["job", "task", "state", "reason", "failed requests (endpoint)"],
            [[j["id"], j["task"], j["state"], j["reason"], _failed(j)] for j in trouble],
        )
    lines += ["", "## Samples", ""]
    lines += _table(
        ["job", "task", "samples", "right", "wrong", "request failed", "read from"],
        [
            [j["id"], j["task"], j["samples"]["count"], j["samples"]["correct"], j["samples"]["wrong"],
             j["samples"]["errors"], j["samples"]["source"]]
            for j in jobs
        ],  # fmt: skip
    )
    return "\n".join(lines) + "\n"


def _failed(job: dict[str, Any]) -> str:
    if not job.get("failed_requests"):
        return ""
    error = f" ({job['request_error']})" if job.get("request_error") else ""
    return f"{job['failed_requests']} of {job['requests']}{error}"
