"""Tests of parse_output and read_results (output.py)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from core_evals.nel_bench import RESULTS_FILE
from core_evals.nel_bench.aggregate import SampleOutcome, build_results
from core_evals.nel_bench.output import parse_output, read_results


def _write(directory: Path, document: object) -> None:
    (directory / RESULTS_FILE).write_text(json.dumps(document), "utf-8")


def _document() -> dict:
    outcomes = [SampleOutcome(id="a", subset="capitals", correct=True, response="Paris")]
    return {**build_results("capitals", outcomes), "summary": {"samples": 1}}


def test_read_results_returns_tasks_and_groups_only(tmp_path: Path) -> None:
    """The runner's summary stays out of what nemo-evaluator gets."""
    _write(tmp_path, _document())
    results = read_results(tmp_path)
    assert set(results) == {"tasks", "groups"}
    assert results["tasks"]["capitals"]["metrics"]["accuracy"]["scores"]["correct"]["value"] == 1.0


def test_read_results_of_all_failed_run_is_empty(tmp_path: Path) -> None:
    """An all-failed run reads back as no tasks, not as an error."""
    _write(tmp_path, {"tasks": {}, "groups": {}, "summary": {"failed_requests": 3}})
    assert read_results(tmp_path) == {"tasks": {}, "groups": {}}


def test_read_results_without_file_names_the_missing_path(tmp_path: Path) -> None:
    """A runner that never finished gives a clear FileNotFoundError."""
    with pytest.raises(FileNotFoundError, match=RESULTS_FILE):
        read_results(tmp_path)


@pytest.mark.parametrize("content", ["not json", "[]", '{"groups": {}}'])
def test_read_results_rejects_malformed_files(tmp_path: Path, content: str) -> None:
    """A corrupt results file is a ValueError naming the file."""
    (tmp_path / RESULTS_FILE).write_text(content, "utf-8")
    with pytest.raises(ValueError, match=RESULTS_FILE):
        read_results(tmp_path)


def test_parse_output_hands_the_results_to_evaluation_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """parse_output validates read_results' dict with nemo-evaluator's model (stubbed here)."""

    class FakeEvaluationResult:
        @classmethod
        def model_validate(cls, data: dict) -> tuple:
            return ("validated", data)

    module = types.ModuleType("nemo_evaluator.api.api_dataclasses")
    module.EvaluationResult = FakeEvaluationResult  # type: ignore[attr-defined]
    for name in ("nemo_evaluator", "nemo_evaluator.api"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "nemo_evaluator.api.api_dataclasses", module)
    _write(tmp_path, _document())
    assert parse_output(str(tmp_path)) == ("validated", read_results(tmp_path))


def test_parse_output_with_real_nemo_evaluator(tmp_path: Path) -> None:
    """With nemo-evaluator installed, the results validate as its EvaluationResult."""
    pytest.importorskip("nemo_evaluator.api.api_dataclasses")
    _write(tmp_path, _document())
    result = parse_output(str(tmp_path)).model_dump(exclude_none=True)
    score = result["tasks"]["capitals"]["metrics"]["accuracy"]["scores"]["correct"]
    assert score == {"value": 1.0, "stats": {"count": 1, "mean": 1.0, "stddev": 0.0, "stderr": 0.0}}
    _write(tmp_path, {"tasks": {}, "groups": {}})
    assert parse_output(str(tmp_path)).model_dump(exclude_none=True) == {"tasks": {}, "groups": {}}
