"""Reading a job's samples from its artifacts, whichever harness wrote them.

In this order:

1. ``samples.jsonl`` (:data:`~nel_core.layout.SAMPLES_FILE`): NEL's per-sample format, written
   by NEL's own benchmark, by any harness that knows it, and by NEL itself for eval-factory
   harnesses when their job ends (:func:`keep_samples`);
2. ``nel_bench_samples.jsonl``: what NEL's benchmark wrote before it wrote ``samples.jsonl``;
3. nemo-evaluator's adapter-proxy cache (:mod:`nel_core.results._evaluator`): one record per
   request, without expected answers or scores.

A ``samples.jsonl`` that NEL derived from the cache (its records say ``"derived": "cache"``) is
derived again when the cache has changed since (a job re-run in place).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import attrs

from nel_core.layout import SAMPLES_FILE
from nel_core.results._evaluator import EVALUATOR_CACHE, evaluator_samples, has_evaluator_cache
from nel_core.results._sample import Sample, prompt_hash, sample_from_record, sample_record

__all__ = ["LEGACY_NEL_BENCH_SAMPLES", "SampleSet", "keep_samples", "read_samples", "write_samples"]

#: The per-sample file of NEL's benchmark before it wrote ``samples.jsonl``.
LEGACY_NEL_BENCH_SAMPLES = "nel_bench_samples.jsonl"
#: What a derived record's ``derived`` field holds.
_DERIVED = "cache"
_CACHE_NOTE = (
    "requests as nemo-evaluator's adapter proxy kept them: no expected answers or scores "
    "(the harness's own files hold those)"
)


@attrs.frozen(kw_only=True)
class SampleSet:
    """A job's samples and where they came from.

    Args:
        samples: The samples, in the file's order.
        source: The file or folder they were read from (empty when the job has none).
        note: What they lack, when they lack something (derived records).
        skipped: Lines that were not a sample (malformed JSON, no id).
    """

    samples: list[Sample] = attrs.Factory(list)
    source: str = ""
    note: str = ""
    skipped: int = 0


def _lines(path: Path) -> Iterable[object]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                yield None


def _parse(path: Path, legacy: bool = False) -> SampleSet:
    samples: list[Sample] = []
    skipped = 0
    derived = False
    for record in _lines(path):
        if isinstance(record, dict) and legacy:
            record = _from_legacy(record)
        sample = sample_from_record(record) if isinstance(record, dict) else None
        if sample is None:
            skipped += 1
            continue
        derived = derived or (isinstance(record, dict) and record.get("derived") == _DERIVED)
        samples.append(sample)
    return SampleSet(samples=samples, source=path.name, note=_CACHE_NOTE if derived else "", skipped=skipped)


def _from_legacy(record: dict[str, object]) -> dict[str, object]:
    """An old ``nel_bench_samples.jsonl`` line in the present format."""
    question = record.get("question")
    error = record.get("error")
    correct = record.get("correct")
    return {
        "id": record.get("id"),
        "subset": record.get("subset"),
        "prompt": question,
        "prompt_hash": prompt_hash(question) if isinstance(question, str) else None,
        "expected": record.get("answers"),
        "response": record.get("response"),
        "score": None if error is not None or not isinstance(correct, bool) else float(correct),
        "latency_s": record.get("latency_s"),
        "error": error,
    }


def _derived(samples_file: Path) -> bool:
    """Whether NEL derived the samples file from the proxy's cache (its first record says so)."""
    for record in _lines(samples_file):
        return isinstance(record, dict) and record.get("derived") == _DERIVED
    return False


def _stale(samples_file: Path, artifacts: Path) -> bool:
    """Whether a samples file is older than the proxy's cache (for a derived one: derive again)."""
    try:
        written = samples_file.stat().st_mtime
        cache = max(p.stat().st_mtime for p in (artifacts / EVALUATOR_CACHE).rglob("cache.db"))
    except (OSError, ValueError):
        return False
    return cache > written


def read_samples(artifacts: Path) -> SampleSet:
    """The samples of the job whose output dir is ``artifacts`` (an empty set when none are kept)."""
    samples_file = artifacts / SAMPLES_FILE
    if samples_file.is_file():
        found = _parse(samples_file)
        if not (found.note and _stale(samples_file, artifacts)):
            return found
    legacy = artifacts / LEGACY_NEL_BENCH_SAMPLES
    if legacy.is_file():
        return _parse(legacy, legacy=True)
    if has_evaluator_cache(artifacts):
        return SampleSet(samples=evaluator_samples(artifacts), source=f"{EVALUATOR_CACHE}/", note=_CACHE_NOTE)
    return SampleSet()


def write_samples(path: Path, samples: Iterable[Sample], *, derived: bool = False) -> None:
    """Write ``samples`` to ``path`` as JSON lines, atomically (a temporary file renamed)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temp.open("w", encoding="utf-8") as handle:
        for sample in samples:
            record = sample_record(sample)
            if derived:
                record["derived"] = _DERIVED
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(temp, path)


def keep_samples(artifacts: Path) -> bool:
    """Write ``samples.jsonl`` beside ``results.yml`` when the harness wrote none but left a cache.

    Returns whether a file was written. Never raises for an unreadable or read-only folder: the
    samples can still be derived when they are read.
    """
    samples_file = artifacts / SAMPLES_FILE
    try:
        if samples_file.is_file() and not (_derived(samples_file) and _stale(samples_file, artifacts)):
            return False
        if (artifacts / LEGACY_NEL_BENCH_SAMPLES).is_file() or not has_evaluator_cache(artifacts):
            return False
        write_samples(samples_file, evaluator_samples(artifacts), derived=True)
    except OSError:
        return False
    return True
