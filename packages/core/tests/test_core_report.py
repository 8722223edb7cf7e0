"""Runs read from folders of any executor, and the report document built from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nel_core.errors import NotFoundError
from nel_core.models.domain import JobState
from nel_core.results import load_run_dirs, report_document, run_view
from nel_core.store import SqliteInvocationStore
from nel_core.testing import ERROR, make_invocation, make_jobs, write_run


def test_an_invocation_folder_reads_as_a_run_with_its_jobs_models_and_states(tmp_path: Path) -> None:
    """Each <n>-<task> folder is a job: its task, model, state (from its markers) and scores."""
    run_dir = write_run(tmp_path, "aaaa1111", {"nel_bench.capitals": [1.0, 0.0], "nel_bench.mini": [ERROR, ERROR]})
    (run := load_run_dirs([run_dir])[0])
    assert (run.id, run.executor, run.model, run.source) == ("aaaa1111", "local", "test-model", str(run_dir))
    capitals, mini = run.jobs
    assert (capitals.id, capitals.task, capitals.state) == ("aaaa1111.0", "nel_bench.capitals", JobState.SUCCESS)
    assert capitals.results.as_dict() == {"capitals.accuracy.correct": 0.5}
    assert capitals.requests is not None and capitals.requests.failed == 0
    assert mini.state is JobState.FAILED and "2 of 2 requests" in mini.reason
    assert capitals.duration_s == 1.5


def test_a_job_folder_and_a_bare_results_folder_are_runs_of_one_job(tmp_path: Path) -> None:
    """A single job's folder, or a harness's output folder without NEL's markers, is a one-job run."""
    run_dir = write_run(tmp_path, "bbbb2222", {"nel_bench.arithmetic": [1.0, 1.0]})
    job = load_run_dirs([run_dir / "0-nel_bench.arithmetic"])[0]
    assert [j.id for j in job.jobs] == ["bbbb2222.0"]
    bare = tmp_path / "copied"
    shutil.copytree(run_dir / "0-nel_bench.arithmetic" / "artifacts", bare)
    (copied,) = load_run_dirs([bare])[0].jobs
    assert copied.state is JobState.SUCCESS and copied.results.as_dict() == {"arithmetic.accuracy.correct": 1.0}


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_folder_without_jobs_is_a_clear_error(tmp_path: Path, make: str) -> None:
    """A path that is not a folder, or holds no job, fails naming the path."""
    path = tmp_path / "nothing"
    if make == "empty":
        path.mkdir()
    with pytest.raises(NotFoundError, match="nothing"):
        load_run_dirs([path])


def test_a_recorded_invocation_reads_its_jobs_from_their_folders(tmp_path: Path) -> None:
    """run_view takes states from the store and results from the job folders."""
    config = {"target": {"api_endpoint": {"model_id": "m1"}}}
    invocation = make_invocation("cccc3333", output_dir=str(tmp_path), config=config)
    jobs = make_jobs(invocation, 1, states=[JobState.SUCCESS], root=tmp_path)
    write_run(tmp_path, "source", {"x.task0": [1.0, 0.0, 1.0]})
    shutil.rmtree(jobs[0].job_dir)
    shutil.copytree(tmp_path / "source" / "0-x.task0", jobs[0].job_dir)
    store = SqliteInvocationStore(tmp_path / "home")
    store.add(invocation, jobs)
    run = run_view(*store.resolve("cccc3333"))
    assert run.source == "store" and run.jobs[0].state is JobState.SUCCESS
    assert run.jobs[0].results.as_dict() == {"task0.accuracy.correct": pytest.approx(0.666667)}
    assert len(run.jobs[0].samples().samples) == 3


def test_the_report_document_counts_wrong_answers_apart_from_failed_requests(tmp_path: Path) -> None:
    """Scores carry intervals; samples are counted right, wrong and request-failed; runs sum them up."""
    base = write_run(tmp_path, "base0001", {"nel_bench.capitals": [1.0] * 24 + [0.0] * 5 + [ERROR]})
    document = report_document(load_run_dirs([base]))
    (run,) = document["runs"]
    assert (run["jobs"], run["succeeded"], run["requests"], run["failed_requests"], run["samples"]) == (1, 1, 30, 1, 30)
    assert run["tokens"] == 29 * 12 and run["duration_s"] == 8.5
    (job,) = document["jobs"]
    assert job["samples"] == {"source": "samples.jsonl", "note": "", "count": 30, "correct": 24, "wrong": 5,
                              "errors": 1, "unscored": 0}  # fmt: skip
    (score,) = job["scores"]
    assert score["value"] == 0.8 and 0 <= score["low"] < 0.8 < score["high"] <= 1
    outcomes = [row[2] for row in document["samples"]["base0001.0"]]
    assert outcomes.count("error") == 1 and outcomes.count("wrong") == 5
    (metric,) = document["metrics"]
    assert metric["values"]["base0001"]["value"] == 0.8
    json.dumps(document, allow_nan=False)


def test_long_texts_are_cut_and_samples_can_be_left_out(tmp_path: Path) -> None:
    """--max-text cuts prompts and responses; samples=False keeps only their counts."""
    base = write_run(tmp_path, "base0002", {"t.long": [1.0]})
    runs = load_run_dirs([base])
    cut = report_document(runs, max_text=5)["samples"]["base0002.0"][0]
    assert cut[6].startswith("Quest") and "more characters" in cut[6]
    lean = report_document(runs, samples=False)
    assert lean["samples"] == {} and lean["jobs"][0]["samples"]["count"] == 1
