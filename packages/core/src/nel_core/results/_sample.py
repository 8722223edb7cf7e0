"""One sample of a job: NEL's per-sample record and its JSON line (``samples.jsonl``).

Each line of :data:`~nel_core.layout.SAMPLES_FILE` is one JSON object::

    {"id": "cap-001", "task": "capitals", "subset": "capitals",
     "prompt": "What is the capital of France? ...", "prompt_hash": "<sha256 of prompt>",
     "expected": ["Paris"], "response": " Paris", "score": 1.0, "latency_s": 0.83,
     "tokens": {"prompt": 42, "completion": 2, "total": 44},
     "error": null, "error_status": null}

Only ``id`` is required. ``score`` is in [0, 1] (1 is right); it is null when the sample was
not scored, and always null when its request failed: ``error`` then says why (the endpoint
failed, not the model). Fields a harness does not know are null or left out; unknown fields
are ignored.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Sample", "TokenCounts", "prompt_hash", "sample_from_record", "sample_record"]


@attrs.frozen(kw_only=True)
class TokenCounts:
    """Tokens of one request, as the server reported them (None where it did not)."""

    prompt: int | None = None
    completion: int | None = None
    total: int | None = None

    @property
    def sum(self) -> int | None:
        """``total``, or prompt + completion when only those are known."""
        if self.total is not None:
            return self.total
        if self.prompt is None and self.completion is None:
            return None
        return (self.prompt or 0) + (self.completion or 0)


@attrs.frozen(kw_only=True)
class Sample:
    """One sample of a job: what was asked, what was expected, what came back, how it scored.

    Args:
        id: The sample's id within its task (stable across runs of the same dataset).
        task: The harness's task name, when the file says.
        subset: The dataset within a mixed task, when there is one.
        prompt: What was sent (text), when known.
        prompt_hash: SHA-256 (hex) of ``prompt``, or of the request when the text is not kept.
        expected: The accepted answers, when the harness says.
        response: The model's answer text.
        score: In [0, 1]; None when not scored (always None for a failed request).
        latency_s: Seconds the request took, when measured.
        tokens: Tokens the server reported.
        error: Why the request failed (HTTP error, timeout, ...); None when it got an answer.
        error_status: The HTTP status of the failure, when there was one.
    """

    id: str
    task: str = ""
    subset: str = ""
    prompt: str | None = None
    prompt_hash: str | None = None
    expected: list[str] = attrs.Factory(list)
    response: str | None = None
    score: float | None = None
    latency_s: float | None = None
    tokens: TokenCounts | None = None
    error: str | None = None
    error_status: int | None = None

    @property
    def failed(self) -> bool:
        """The request failed (an infrastructure error, not a wrong answer)."""
        return self.error is not None

    @property
    def outcome(self) -> str:
        """``error`` (request failed), ``correct`` (score 1), ``wrong`` (below 1) or ``unscored``."""
        if self.failed:
            return "error"
        if self.score is None:
            return "unscored"
        return "correct" if self.score >= 1.0 else "wrong"


def prompt_hash(text: str) -> str:
    """The SHA-256 (hex) of a prompt's text, as ``prompt_hash`` holds it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The readers below run once per field of every sample of a report (tens of thousands): they test
# the common case (the right type) first.


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return str(value)


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is bool:
        return float(value)
    return None


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _tokens(value: Any) -> TokenCounts | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        prompt = _count(value.get("prompt"))
        completion = _count(value.get("completion"))
        total = _count(value.get("total"))
        if prompt is None and completion is None and total is None:
            return None
        return TokenCounts(prompt=prompt, completion=completion, total=total)
    total = _count(value)
    return TokenCounts(total=total) if total is not None else None


def _expected(value: Any) -> list[str]:
    if value is None:
        return []
    if type(value) is list:
        return [item if type(item) is str else str(item) for item in value]
    if isinstance(value, tuple):
        return [str(item) for item in value]
    return [value if type(value) is str else str(value)]


def sample_from_record(record: Mapping[str, Any]) -> Sample | None:
    """A :class:`Sample` from one JSON object of ``samples.jsonl``; None without a usable ``id``.

    Tolerant: a field of the wrong type is dropped, never fatal. A score outside [0, 1] is kept
    (a harness may score differently) but a boolean becomes 1.0 or 0.0.
    """
    get = record.get
    raw_id = get("id")
    if raw_id is None or isinstance(raw_id, (dict, list)):
        return None
    error = _text(get("error"))
    return Sample(
        id=raw_id if type(raw_id) is str else str(raw_id),
        task=_text(get("task")) or "",
        subset=_text(get("subset")) or "",
        prompt=_text(get("prompt")),
        prompt_hash=_text(get("prompt_hash")),
        expected=_expected(get("expected")),
        response=_text(get("response")),
        score=None if error is not None else _number(get("score")),
        latency_s=_number(get("latency_s")),
        tokens=_tokens(get("tokens")),
        error=error,
        error_status=_count(get("error_status")),
    )


def sample_record(sample: Sample) -> dict[str, Any]:
    """The JSON object of ``sample`` as a line of ``samples.jsonl`` holds it."""
    tokens = sample.tokens
    return {
        "id": sample.id,
        "task": sample.task,
        "subset": sample.subset,
        "prompt": sample.prompt,
        "prompt_hash": sample.prompt_hash,
        "expected": list(sample.expected),
        "response": sample.response,
        "score": sample.score,
        "latency_s": sample.latency_s,
        "tokens": None
        if tokens is None
        else {"prompt": tokens.prompt, "completion": tokens.completion, "total": tokens.total},
        "error": sample.error,
        "error_status": sample.error_status,
    }
