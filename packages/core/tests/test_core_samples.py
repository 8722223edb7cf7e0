"""Per-sample results: NEL's JSON-lines format, the legacy nel_bench file, nemo-evaluator's cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nel_core.layout import SAMPLES_FILE
from nel_core.results import (
    LEGACY_NEL_BENCH_SAMPLES,
    Sample,
    TokenCounts,
    evaluator_samples,
    keep_samples,
    prompt_hash,
    read_samples,
    sample_from_record,
    sample_record,
    write_samples,
)

CACHE_FIXTURE = Path(__file__).parent / "fixtures" / "evaluator-cache"

_text = st.text(max_size=20)
_counts = st.none() | st.integers(min_value=0, max_value=10**6)
samples = st.builds(
    Sample,
    id=st.text(min_size=1, max_size=10),
    task=_text,
    subset=_text,
    prompt=st.none() | _text,
    prompt_hash=st.none() | _text,
    expected=st.lists(_text, max_size=3),
    response=st.none() | _text,
    score=st.none() | st.floats(min_value=0, max_value=1),
    latency_s=st.none() | st.floats(min_value=0, max_value=1e4),
    tokens=st.none() | st.builds(TokenCounts, prompt=_counts, completion=_counts, total=st.integers(0, 10**6)),
    error=st.none(),
    error_status=st.none(),
)


@given(samples)
def test_a_sample_survives_its_json_line(sample: Sample) -> None:
    """Writing a sample as a JSON line and reading it back gives the same sample."""
    line = json.dumps(sample_record(sample))
    assert sample_from_record(json.loads(line)) == sample


def test_a_failed_request_has_no_score_whatever_the_line_says() -> None:
    """A record with an error is an infrastructure failure: its score is dropped, its outcome is error."""
    sample = sample_from_record({"id": 3, "score": 0.0, "error": "HTTP 503", "error_status": 503})
    assert sample is not None
    assert (sample.id, sample.score, sample.outcome, sample.error_status) == ("3", None, "error", 503)


@pytest.mark.parametrize(
    ("record", "outcome"),
    [({"score": 1.0}, "correct"), ({"score": True}, "correct"), ({"score": 0.4}, "wrong"), ({}, "unscored")],
)
def test_outcome_follows_the_score(record: dict[str, object], outcome: str) -> None:
    """Score 1 is correct, below 1 wrong, none unscored."""
    sample = sample_from_record({"id": "a", **record})
    assert sample is not None and sample.outcome == outcome


def test_malformed_fields_are_dropped_and_lines_without_id_skipped(tmp_path: Path) -> None:
    """Bad field types become None and lines that are not samples are counted as skipped."""
    (tmp_path / SAMPLES_FILE).write_text(
        '{"id": "a", "score": "high", "tokens": {"total": -1}, "latency_s": "fast", "expected": "x"}\n'
        "not json\n"
        '{"score": 1}\n'
        "\n"
        '{"id": "b", "tokens": 12}\n'
    )
    found = read_samples(tmp_path)
    assert [s.id for s in found.samples] == ["a", "b"] and found.skipped == 2
    first, second = found.samples
    assert (first.score, first.tokens, first.latency_s, first.expected) == (None, None, None, ["x"])
    assert second.tokens == TokenCounts(total=12) and second.tokens.sum == 12
    assert found.source == SAMPLES_FILE and found.note == ""


def test_the_old_nel_bench_file_is_read_in_the_present_format(tmp_path: Path) -> None:
    """nel_bench_samples.jsonl (question, answers, correct) reads as prompt, expected, score."""
    lines = [
        {"id": "cap-001", "subset": "capitals", "question": "Q?", "answers": ["Paris"], "response": "Paris",
         "correct": True, "error": None, "latency_s": 0.5},
        {"id": "cap-002", "subset": "capitals", "question": "R?", "answers": ["Rome"], "response": None,
         "correct": False, "error": "HTTP 503", "latency_s": 0.1},
    ]  # fmt: skip
    (tmp_path / LEGACY_NEL_BENCH_SAMPLES).write_text("".join(json.dumps(line) + "\n" for line in lines))
    right, failed = read_samples(tmp_path).samples
    assert (right.prompt, right.prompt_hash, right.expected, right.score) == ("Q?", prompt_hash("Q?"), ["Paris"], 1.0)
    assert (failed.outcome, failed.score) == ("error", None)


def _copy_cache(tmp_path: Path) -> Path:
    artifacts = tmp_path / "artifacts"
    shutil.copytree(CACHE_FIXTURE, artifacts)
    return artifacts


def test_the_proxy_cache_of_a_real_run_gives_its_answers_and_failed_requests(tmp_path: Path) -> None:
    """nemo-evaluator's cache gives one record per answer (prompt when kept, tokens, server time) and per 503."""
    found = evaluator_samples(_copy_cache(tmp_path))
    answers = [s for s in found if not s.failed]
    failures = [s for s in found if s.failed]
    assert len(answers) == 6 and len(failures) == 3
    assert {s.response for s in answers} == {"Paris"}
    with_prompt = [s for s in answers if s.prompt is not None]
    assert len(with_prompt) == 4
    assert all(s.id == s.prompt_hash == prompt_hash(s.prompt or "") for s in with_prompt)
    assert all("capital of" in (s.prompt or "") for s in with_prompt)
    assert all(s.score is None and s.expected == [] for s in answers)
    assert all(s.error == "HTTP 503 Service Unavailable" and s.error_status == 503 for s in failures)
    assert len({s.id for s in found}) == 9


def test_keep_samples_writes_the_derived_file_once_and_never_over_a_harness_file(tmp_path: Path) -> None:
    """A cache-only job gets samples.jsonl (marked derived); a harness's own file is left alone."""
    artifacts = _copy_cache(tmp_path)
    assert read_samples(artifacts).source == "cache/"
    assert keep_samples(artifacts) is True
    kept = read_samples(artifacts)
    assert kept.source == SAMPLES_FILE and "no expected answers" in kept.note and len(kept.samples) == 9
    assert keep_samples(artifacts) is False
    own = tmp_path / "own"
    shutil.copytree(CACHE_FIXTURE, own)
    write_samples(own / SAMPLES_FILE, [Sample(id="x", score=1.0)])
    old = os.stat(own / "cache" / "responses" / "cache.db").st_mtime - 100
    os.utime(own / SAMPLES_FILE, (old, old))  # older than the cache: still the harness's word
    assert keep_samples(own) is False
    assert [s.id for s in read_samples(own).samples] == ["x"]


def test_a_derived_file_older_than_the_cache_is_derived_again(tmp_path: Path) -> None:
    """A job re-run in place (its cache newer than the derived file) is read from the cache again."""
    artifacts = _copy_cache(tmp_path)
    write_samples(artifacts / SAMPLES_FILE, [Sample(id="stale")], derived=True)
    old = os.stat(artifacts / "cache" / "responses" / "cache.db").st_mtime - 100
    os.utime(artifacts / SAMPLES_FILE, (old, old))
    assert len(read_samples(artifacts).samples) == 9
    assert keep_samples(artifacts) is True
    assert len(read_samples(artifacts).samples) == 9


def test_a_job_without_samples_has_an_empty_set(tmp_path: Path) -> None:
    """No samples file and no cache: no samples, no source, and keep_samples writes nothing."""
    assert read_samples(tmp_path).samples == [] and read_samples(tmp_path).source == ""
    assert keep_samples(tmp_path) is False and not (tmp_path / SAMPLES_FILE).exists()
