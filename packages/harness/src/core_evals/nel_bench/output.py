"""Read the runner's results back for nemo-evaluator: ``parse_output(output_dir)``.

nemo-evaluator imports ``core_evals.nel_bench.output`` after the runner has
finished and writes what ``parse_output`` returns into results.yml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from . import RESULTS_FILE
from .aggregate import Results

if TYPE_CHECKING:
    # For the annotation only: at run time parse_output imports it when called.
    from nemo_evaluator.api.api_dataclasses import EvaluationResult

__all__ = ["parse_output", "read_results"]


def read_results(output_dir: str | Path) -> Results:
    """Return ``{"tasks": ..., "groups": ...}`` from the runner's results file.

    Plain data, no nemo-evaluator needed, so NEL (or a test) can read it too.
    Only the top level is checked here: the file is the runner's own output, and
    ``parse_output`` has nemo-evaluator's model validate the rest.

    Raises:
        FileNotFoundError: the runner wrote no results file into ``output_dir``.
        ValueError: the file is not a results document.
    """
    path = Path(output_dir) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"nel_bench results file {path} not found: the benchmark runner did not finish"
        )
    try:
        document: object = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), dict):
        raise ValueError(f"{path}: no 'tasks' mapping")
    return {"tasks": document["tasks"], "groups": document.get("groups") or {}}


def parse_output(output_dir: str) -> EvaluationResult:
    """Return the run's results as nemo-evaluator's ``EvaluationResult``.

    An all-failed run gives an ``EvaluationResult`` with no tasks: nemo-evaluator
    then writes ``results: {tasks: {}, groups: {}}`` and exits 0, and NEL fails
    the job for having no score.
    """
    # Imported here, not at module level: the harness's tests and NEL's readers
    # use read_results without nemo-evaluator installed.
    from nemo_evaluator.api.api_dataclasses import EvaluationResult

    return EvaluationResult.model_validate(read_results(output_dir))
