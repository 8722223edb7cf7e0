"""The summary file of the ``local`` exporter: JSON or CSV, one entry per job id, updated in place.

JSON keeps NeMo Evaluator Launcher's layout (``benchmarks.<task>.models.<model>`` lists of
entries); CSV has one row per job with NeMo Evaluator Launcher's column names, and one column per
flat metric name, the columns growing as new metrics appear.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nel_core.errors import ExportError
from nel_core.exporting import ExportRow

__all__ = ["CSV_COLUMNS", "csv_rows", "json_entries", "upsert_csv", "upsert_json"]

#: The CSV's leading columns, and the row field each one shows.
CSV_COLUMNS = ExportRow.COLUMNS


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot read: {exc}") from exc


def json_entries(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every entry of a JSON summary."""
    entries: list[dict[str, Any]] = []
    for bench in (document.get("benchmarks") or {}).values():
        for model_entries in ((bench or {}).get("models") or {}).values():
            entries.extend(e for e in model_entries or [] if isinstance(e, dict))
    return entries


def _load_json(path: Path) -> dict[str, Any]:
    text = _read(path)
    if text is None:
        return {"export_timestamp": _now(), "benchmarks": {}}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ExportError(f"{path}: not a summary of this exporter ({exc})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks", {}), dict):
        raise ExportError(f"{path}: not a summary of this exporter (no 'benchmarks' mapping)")
    return document


def upsert_json(path: Path, rows: Sequence[ExportRow]) -> str:
    """The JSON summary at ``path`` with ``rows`` put in (each replacing its job id's entry).

    Raises:
        ExportError: when the existing file is not such a summary.
    """
    document = _load_json(path)
    benchmarks: dict[str, Any] = document.setdefault("benchmarks", {})
    replaced = {row.job_id for row in rows}
    for bench in benchmarks.values():
        for model, entries in list((bench.get("models") or {}).items()):
            bench["models"][model] = [e for e in entries if e.get("job_id") not in replaced]
    stamp = _now()
    for row in rows:
        entry = {**row.fields(), "scores": row.metrics, "timestamp": stamp}
        models = benchmarks.setdefault(row.task, {}).setdefault("models", {})
        models.setdefault(row.model, []).append(entry)
    for name in list(benchmarks):
        models = benchmarks[name].get("models") or {}
        for model in [m for m, entries in models.items() if not entries]:
            del models[model]
        if not models:
            del benchmarks[name]
    document["export_timestamp"] = stamp
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV summary."""
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def upsert_csv(path: Path, rows: Sequence[ExportRow]) -> str:
    """The CSV summary at ``path`` with ``rows`` put in, keyed by ``Job ID``; new metrics add columns.

    Raises:
        ExportError: when the existing file is not such a summary.
    """
    text = _read(path)
    header, existing = csv_rows(text) if text else (list(CSV_COLUMNS), [])
    if header[: len(CSV_COLUMNS)] != list(CSV_COLUMNS):
        raise ExportError(f"{path}: not a summary of this exporter (its columns are {header[:6]})")
    by_job = {row["Job ID"]: row for row in existing}
    known = set(header)
    for row in rows:
        header.extend(sorted(name for name in row.metrics if name not in known))
        known.update(row.metrics)
        cells = {column: getattr(row, field) for column, field in CSV_COLUMNS.items()}
        cells.update({name: repr(value) for name, value in row.metrics.items()})
        by_job[row.job_id] = cells
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(by_job.values())
    return out.getvalue()
