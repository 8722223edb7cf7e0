"""The runner's own answer cache: a job re-run in place asks only what is still unanswered.

NEL runs this benchmark with nemo-evaluator's adapter proxy off (its ``client`` mode), so the
proxy's cache is not there to replay answers; this file is. One JSON line per answer, appended
(and flushed) as each arrives, keyed by the SHA-256 of the request body (model and sampling
parameters included, the URL not: a resumed job may reach the same model at another port). A line
cut short by a kill is skipped when read back.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from .client import Completion

__all__ = ["CACHE_FILE", "AnswerCache", "cache_key"]

#: The cache's file in the output dir.
CACHE_FILE = "nel_bench_cache.jsonl"


def cache_key(body: object) -> str:
    """The key of a request body: SHA-256 of its canonical JSON."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AnswerCache:
    """Answers by request key, read from ``path`` and appended to it (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._answers: dict[str, Completion] = {}
        self.hits = 0
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        for line in lines:
            try:
                record: dict[str, Any] = json.loads(line)
                answer = Completion(text=str(record["text"]), usage=record.get("usage"))
                self._answers[str(record["key"])] = answer
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill
        self._handle = path.open("a", encoding="utf-8")

    def get(self, key: str) -> Completion | None:
        """The cached answer of ``key``, if any."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self.hits += 1
            return answer

    def put(self, key: str, answer: Completion) -> None:
        """Keep ``answer`` (in memory and on disk, flushed: a kill loses at most this line)."""
        record = {"key": key, "text": answer.text, "usage": answer.usage}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self._answers[key] = answer
            self._handle.write(line)
            self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._handle.close()
