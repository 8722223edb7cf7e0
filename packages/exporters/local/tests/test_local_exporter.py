"""The ``local`` exporter: JSON and CSV summaries field by field, upserts, filters, copies, atomicity."""

from __future__ import annotations

import ast
import csv
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import tomllib
from nel_exporter_local import LocalExporter
from nel_exporter_local import _files as files
from nel_exporter_local._tables import CSV_COLUMNS

from nel_core.errors import ConfigError, ExportError
from nel_core.models.domain import Invocation, Job, JobState
from nel_core.ports.result_exporter import ResultExporter
from nel_core.services import export_results
from nel_core.testing import make_invocation, make_jobs, write_results
from nel_core.testing.contracts import ResultExporterContract
from nel_core.yaml_io import dump

PACKAGE = Path(__file__).resolve().parents[1]


def _json_document(exporter: ResultExporter) -> dict[str, Any]:
    assert isinstance(exporter, LocalExporter)
    if not exporter.summary.exists():
        return {"benchmarks": {}}
    document: dict[str, Any] = json.loads(exporter.summary.read_text())
    return document


def _json_entries(exporter: ResultExporter) -> list[dict[str, Any]]:
    from nel_exporter_local._tables import json_entries

    return json_entries(_json_document(exporter))


def _csv_rows(exporter: ResultExporter) -> list[dict[str, str]]:
    assert isinstance(exporter, LocalExporter)
    if not exporter.summary.exists():
        return []
    with exporter.summary.open(newline="") as stream:
        return list(csv.DictReader(stream))


class TestLocalJsonContract(ResultExporterContract):
    """The local exporter with a JSON summary passes core's exporter contract."""

    @pytest.fixture
    def exporter(self, tmp_path: Path) -> ResultExporter:
        return LocalExporter({"output_dir": str(tmp_path / "export"), "format": "json"})

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        return [(entry["job_id"], entry["scores"]) for entry in _json_entries(exporter)]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        return {entry["job_id"]: entry for entry in _json_entries(exporter)}


class TestLocalCsvContract(ResultExporterContract):
    """The local exporter with a CSV summary passes core's exporter contract."""

    @pytest.fixture
    def exporter(self, tmp_path: Path) -> ResultExporter:
        return LocalExporter({"output_dir": str(tmp_path / "export"), "format": "csv"})

    def stored(self, exporter: ResultExporter) -> list[tuple[str, dict[str, float]]]:
        rows = _csv_rows(exporter)
        return [(row["Job ID"], {k: float(v) for k, v in row.items() if k not in CSV_COLUMNS and v}) for row in rows]

    def stored_fields(self, exporter: ResultExporter) -> dict[str, Mapping[str, str]]:
        rows = _csv_rows(exporter)
        return {r["Job ID"]: {"invocation_id": r["Invocation ID"], "task": r["Task Name"]} for r in rows}


def _run(tmp_path: Path, invocation_id: str, scores: list[dict[str, float]]) -> tuple[Invocation, list[Job]]:
    """An invocation whose jobs succeeded with ``scores`` (one dict per job), as a real run leaves them."""
    config = {"target": {"api_endpoint": {"model_id": "llama-3.1-8b"}}, "execution": {"type": "local"}}
    folder = str(tmp_path / invocation_id)
    invocation = make_invocation(invocation_id, executor="local", output_dir=folder, config=config)
    jobs = make_jobs(invocation, len(scores), states=[JobState.SUCCESS] * len(scores), root=tmp_path / invocation_id)
    for job, job_scores in zip(jobs, scores):
        folder = Path(job.job_dir)
        write_results(folder / "artifacts", f"task{job.index}", job_scores)
        (folder / "artifacts" / "eval_factory_metrics.json").write_text("{}")
        (folder / "artifacts" / "cache").mkdir()
        (folder / "artifacts" / "cache" / "responses.db").write_text("x")
        (folder / "artifacts" / "samples.jsonl").write_text("{}\n")
        (folder / "run_config.yml").write_text(dump({"target": {"api_endpoint": {"model_id": "llama-3.1-8b"}}}))
        (folder / "job.log").write_text(f"log of {job.id}\n")
    return invocation, jobs


def test_json_summary_field_by_field(tmp_path: Path) -> None:
    """Each entry holds model, harness, task, executor, ids and the flat metrics, under task and model."""
    invocation, jobs = _run(tmp_path, "aaaa0001", [{"accuracy": 0.5, "f1.macro": 0.25}])
    out = tmp_path / "export"
    report = export_results(LocalExporter({"output_dir": str(out), "format": "json"}), [(invocation, jobs)])
    assert report.location == str((out / "processed_results.json").resolve())
    document = json.loads((out / "processed_results.json").read_text())
    [entry] = document["benchmarks"]["harness.task0"]["models"]["llama-3.1-8b"]
    assert {k: v for k, v in entry.items() if k != "timestamp"} == {
        "model": "llama-3.1-8b",
        "harness": "harness",
        "task": "harness.task0",
        "executor": "local",
        "invocation_id": "aaaa0001",
        "job_id": "aaaa0001.0",
        "scores": {
            "task0_accuracy_accuracy": 0.5,
            "task0_accuracy_accuracy_stderr": 0.0,
            "task0_f1_macro": 0.25,
            "task0_f1_macro_stderr": 0.0,
        },
    }


def test_csv_summary_field_by_field_and_columns_grow(tmp_path: Path) -> None:
    """The CSV has NeMo Evaluator Launcher's columns, one row per job; a new metric adds a column."""
    first, first_jobs = _run(tmp_path, "aaaa0001", [{"accuracy": 0.5}])
    second, second_jobs = _run(tmp_path, "bbbb0002", [{"accuracy": 0.75}, {"bleu": 0.125}])
    settings = {"output_dir": str(tmp_path / "export"), "format": "csv", "output_filename": "all.csv"}
    export_results(LocalExporter(settings), [(first, first_jobs)])
    export_results(LocalExporter(settings), [(second, second_jobs)])
    with (tmp_path / "export" / "all.csv").open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == [
        "Model Name", "Harness", "Task Name", "Executor", "Invocation ID", "Job ID",
        "task0_accuracy_accuracy", "task0_accuracy_accuracy_stderr", "task1_bleu_bleu", "task1_bleu_bleu_stderr",
    ]  # fmt: skip
    assert rows[1:] == [
        ["llama-3.1-8b", "harness", "harness.task0", "local", "aaaa0001", "aaaa0001.0", "0.5", "0.0", "", ""],
        ["llama-3.1-8b", "harness", "harness.task0", "local", "bbbb0002", "bbbb0002.0", "0.75", "0.0", "", ""],
        ["llama-3.1-8b", "harness", "harness.task1", "local", "bbbb0002", "bbbb0002.1", "", "", "0.125", "0.0"],
    ]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_re_export_updates_rows_and_keeps_the_others(tmp_path: Path, fmt: str) -> None:
    """A job exported again after new results replaces its row; other invocations' rows stay."""
    settings = {"output_dir": str(tmp_path / "export"), "format": fmt}
    other, other_jobs = _run(tmp_path / "o", "cccc0003", [{"accuracy": 0.1}])
    export_results(LocalExporter(settings), [(other, other_jobs)])
    invocation, jobs = _run(tmp_path / "a", "aaaa0001", [{"accuracy": 0.5}])
    export_results(LocalExporter(settings), [(invocation, jobs)])
    write_results(Path(jobs[0].job_dir) / "artifacts", "task0", {"accuracy": 0.9})
    export_results(LocalExporter(settings), [(invocation, jobs)])
    exporter = LocalExporter(settings)
    if fmt == "json":
        stored = {e["job_id"]: e["scores"]["task0_accuracy_accuracy"] for e in _json_entries(exporter)}
    else:
        stored = {r["Job ID"]: float(r["task0_accuracy_accuracy"]) for r in _csv_rows(exporter)}
    assert stored == {"cccc0003.0": 0.1, "aaaa0001.0": 0.9}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_metric_filter_reaches_the_summary(tmp_path: Path, fmt: str) -> None:
    """``log_metrics`` keeps only the matching metrics (with their stderr) in the summary."""
    invocation, jobs = _run(tmp_path, "aaaa0001", [{"accuracy": 0.5, "f1.macro": 0.25}])
    exporter = LocalExporter({"output_dir": str(tmp_path / "export"), "format": fmt, "log_metrics": ["*_macro"]})
    export_results(exporter, [(invocation, jobs)])
    if fmt == "json":
        assert set(_json_entries(exporter)[0]["scores"]) == {"task0_f1_macro", "task0_f1_macro_stderr"}
    else:
        assert [k for k, v in _csv_rows(exporter)[0].items() if v and k.startswith("task0")] == [
            "task0_f1_macro", "task0_f1_macro_stderr"
        ]  # fmt: skip


def test_copies_follow_copy_artifacts_only_required_and_copy_logs(tmp_path: Path) -> None:
    """Required files by default; all but caches with only_required false; logs with copy_logs; none at all."""
    invocation, jobs = _run(tmp_path, "aaaa0001", [{"accuracy": 0.5}])
    out = tmp_path / "export"
    folder = out / "aaaa0001" / "aaaa0001.0"

    def listed(sub: str) -> list[str]:
        base = folder / sub
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()) if base.exists() else []

    export_results(LocalExporter({"output_dir": str(out)}), [(invocation, jobs)])
    assert listed("artifacts") == ["eval_factory_metrics.json", "results.yml"]
    assert listed("logs") == []
    assert json.loads((folder / "job_metadata.json").read_text())["job_id"] == "aaaa0001.0"
    everything = LocalExporter({"output_dir": str(out), "only_required": False, "copy_logs": True})
    export_results(everything, [(invocation, jobs)])
    assert listed("artifacts") == ["eval_factory_metrics.json", "results.yml", "samples.jsonl"]
    assert listed("logs") == ["job.log"]
    clean = tmp_path / "clean"
    export_results(LocalExporter({"output_dir": str(clean), "copy_artifacts": False}), [(invocation, jobs)])
    assert not (clean / "aaaa0001" / "aaaa0001.0" / "artifacts").exists()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_failed_write_leaves_the_previous_file_intact(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When writing the summary fails midway, the previous file is unchanged and no partial file is left."""
    settings = {"output_dir": str(tmp_path / "export"), "format": fmt}
    invocation, jobs = _run(tmp_path, "aaaa0001", [{"accuracy": 0.5}])
    export_results(LocalExporter(settings), [(invocation, jobs)])
    summary = tmp_path / "export" / f"processed_results.{fmt}"
    before = summary.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    other, other_jobs = _run(tmp_path / "b", "bbbb0002", [{"accuracy": 0.7}])
    with pytest.raises(ExportError, match="No space left on device"):
        export_results(LocalExporter(settings), [(other, other_jobs)])
    assert summary.read_bytes() == before
    assert sorted(p.name for p in summary.parent.iterdir() if p.is_file()) == [summary.name]


def test_a_summary_of_something_else_is_refused_untouched(tmp_path: Path) -> None:
    """An existing file that is not this exporter's summary is not overwritten."""
    out = tmp_path / "export"
    out.mkdir()
    (out / "processed_results.csv").write_text("a,b\n1,2\n")
    invocation, jobs = _run(tmp_path, "aaaa0001", [{"accuracy": 0.5}])
    with pytest.raises(ExportError, match="not a summary of this exporter"):
        export_results(LocalExporter({"output_dir": str(out), "format": "csv"}), [(invocation, jobs)])
    assert (out / "processed_results.csv").read_text() == "a,b\n1,2\n"


def test_settings_are_checked() -> None:
    """An unknown key or format is refused naming export.local.<key>."""
    with pytest.raises(ConfigError, match=r"^export.local.fromat: unknown setting"):
        LocalExporter({"fromat": "csv"})
    with pytest.raises(ConfigError, match=r"^export.local.format: expected one of csv, json"):
        LocalExporter({"format": "xml"})


def test_needs_nothing_beyond_core_and_the_standard_library() -> None:
    """The package depends on nel-core alone and imports only it and the standard library."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["nel-core==0.1.0"]
    imported = set()
    for source in (PACKAGE / "src" / "nel_exporter_local").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"nel_core", "nel_exporter_local"}
