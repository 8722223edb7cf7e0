"""Per-request records from what nemo-evaluator's adapter proxy keeps in a job's output dir.

Every eval-factory harness sends its requests through nemo-evaluator's adapter proxy (its
default ``server`` mode). With nemo-evaluator 0.1.95 the proxy keeps, under ``config.output_dir``:

- ``cache/responses/cache.db``: every successful answer's body (JSON), keyed by the request's
  cache key (SHA-256 of the request body, model and sampling parameters included);
- ``cache/requests/cache.db``: the request bodies under the same keys, but only the first
  ``target.api_endpoint.adapter_config.html_report_size`` ones (default 5; ``null`` keeps all);
- ``cache/headers/cache.db``: the answers' HTTP headers (``openai-processing-ms``, when the
  server sends it, is its processing time);
- ``response_stats_cache/cache.db``: one entry per response by request id (HTTP status, tokens),
  answers that failed included, but with no link to the cache key.

These are SQLite files of nemo-evaluator's disk cache (table ``Cache``: ``key``, ``value`` as
JSON bytes). They are read here with :mod:`sqlite3`, read-only. A record is a request, not a
dataset sample: a harness may send several requests per sample, and each failed attempt is its
own record. There is no expected answer and no score: those stay in each harness's own files.
"""

from __future__ import annotations

import http
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from nel_core.results._sample import Sample, TokenCounts, prompt_hash

__all__ = ["EVALUATOR_CACHE", "evaluator_samples", "has_evaluator_cache"]

#: The proxy's cache folder inside a job's artifacts.
EVALUATOR_CACHE = "cache"
_RESPONSES = Path(EVALUATOR_CACHE) / "responses" / "cache.db"
_REQUESTS = Path(EVALUATOR_CACHE) / "requests" / "cache.db"
_HEADERS = Path(EVALUATOR_CACHE) / "headers" / "cache.db"
_STATS = Path("response_stats_cache") / "cache.db"
#: Values larger than this are not read (a cache entry is a request or an answer, not a file).
_MAX_VALUE = 16 << 20


def has_evaluator_cache(artifacts: Path) -> bool:
    """Whether the proxy kept answers in ``artifacts``."""
    return (artifacts / _RESPONSES).is_file()


def _rows(db: Path) -> Iterator[tuple[str, Any]]:
    """``(key, decoded value)`` of every entry of a disk-cache file, in insertion order."""
    if not db.is_file():
        return
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT key, value, filename FROM Cache ORDER BY rowid").fetchall()
    except sqlite3.Error:
        return
    for key, value, filename in rows:
        decoded = _decode(value, db.parent / filename if filename else None)
        if decoded is not None:
            yield str(key), decoded


def _decode(value: Any, file: Path | None) -> Any:
    if value is None and file is not None:
        try:
            if file.stat().st_size > _MAX_VALUE:
                return None
            value = file.read_bytes()
        except OSError:
            return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _prompt(request: Any) -> str | None:
    """The prompt of an OpenAI-style request: the completions prompt, or the messages' text."""
    if not isinstance(request, Mapping):
        return None
    prompt = request.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        return "\n".join(prompt)
    messages = request.get("messages")
    if not isinstance(messages, list):
        return None
    parts = []
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):  # content parts: keep the text ones
            parts.extend(str(p.get("text")) for p in content if isinstance(p, Mapping) and "text" in p)
    return "\n".join(parts)


def _answer_text(answer: Any) -> str | None:
    choices = answer.get("choices") if isinstance(answer, Mapping) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return None
    choice = choices[0]
    message = choice.get("message")
    if isinstance(message, Mapping):
        content = message.get("content")
        return content if isinstance(content, str) else ""
    text = choice.get("text")
    return text if isinstance(text, str) else None


def _usage(answer: Any) -> TokenCounts | None:
    usage = answer.get("usage") if isinstance(answer, Mapping) else None
    if not isinstance(usage, Mapping):
        return None

    def count(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    return TokenCounts(
        prompt=count("prompt_tokens"), completion=count("completion_tokens"), total=count("total_tokens")
    )


def _latency(headers: Any) -> float | None:
    """The server's own processing time (``openai-processing-ms``), when it sent one."""
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if str(name).lower() == "openai-processing-ms":
            try:
                return round(float(value) / 1000.0, 3)
            except (TypeError, ValueError):
                return None
    return None


def _describe(status: int) -> str:
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _failures(artifacts: Path) -> Iterator[Sample]:
    """One record per response the proxy passed on with an error status (each attempt counts)."""
    for key, stats in _rows(artifacts / _STATS):
        if not isinstance(stats, Mapping):
            continue
        status = stats.get("status_code")
        if not isinstance(status, int) or isinstance(status, bool) or 200 <= status < 300:
            continue
        usage = _usage({"usage": stats})
        yield Sample(
            id=f"failed-request:{key}",
            error=_describe(status),
            error_status=status,
            tokens=usage if usage != TokenCounts() else None,
        )


def evaluator_samples(artifacts: Path) -> list[Sample]:
    """The proxy's requests in ``artifacts`` as samples (answers first, then failed attempts).

    A sample's id is its prompt's hash when the request was kept (so runs of one dataset under
    different models or settings pair up), else the proxy's cache key; ``prompt`` is kept only
    for the requests the proxy kept.
    """
    requests = dict(_rows(artifacts / _REQUESTS))
    headers = dict(_rows(artifacts / _HEADERS))
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    for key, answer in _rows(artifacts / _RESPONSES):
        prompt = _prompt(requests.get(key))
        digest = prompt_hash(prompt) if prompt is not None else key
        # Two requests with one prompt (other parameters, several turns): keep both, apart.
        seen[digest] = seen.get(digest, 0) + 1
        sample_id = digest if seen[digest] == 1 else f"{digest}#{seen[digest]}"
        samples.append(
            Sample(
                id=sample_id,
                prompt=prompt,
                prompt_hash=digest,
                response=_answer_text(answer),
                latency_s=_latency(headers.get(key)),
                tokens=_usage(answer),
            )
        )
    samples.extend(_failures(artifacts))
    return samples
