"""A job's request statistics: how many of its requests to the endpoint failed.

NEL reads what the harness wrote into its output dir, in this order:

1. ``nel_requests.json`` (:data:`~nel_core.layout.REQUESTS_FILE`), which any harness may
   write and NEL's own benchmark (``nel_bench``) does. It counts requests as the harness
   sees them (a request retried until it failed counts once)::

       {"requests": 10, "failed": 9,
        "first_error": {"status": 503, "url": "http://localhost:3825/completions",
                        "message": "HTTP 503 from ...: ..."},
        "parallelism": 2, "tokens_per_s": 41.5}

   ``first_error`` is null when nothing failed; its ``status`` is null when no HTTP answer
   came (a timeout, a refused or dropped connection). ``parallelism`` (the requests in flight,
   as chosen by ``parallelism: auto``) and ``tokens_per_s`` are optional. ``url`` is the URL the harness called:
   nemo-evaluator's adapter proxy in its default mode, hence NEL names the endpoint of the
   job's ``run_config.yml`` instead.
2. nemo-evaluator's ``eval_factory_metrics.json``: its adapter proxy's ``response_stats``
   count every HTTP response it passed on (``count``) by status (``status_codes``), for any
   harness. Each attempt counts (a harness's retries too), responses replayed from the
   proxy's cache do not, and neither does a request that got no answer at all (the proxy
   then answers 500 itself and counts nothing). With ``parallelism: auto`` the gate in that
   proxy writes ``nel_concurrency.json`` (``parallelism``, ``tokens_per_s``): the level it chose.

A file that is missing or malformed gives no statistics (None), never a guess.
"""

from __future__ import annotations

import http
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from nel_core.layout import CONCURRENCY_FILE, EVAL_FACTORY_METRICS, REQUESTS_FILE
from nel_core.models.results import RequestStats

__all__ = ["clear_request_stats", "describe_status", "read_request_stats"]

#: Where nemo-evaluator's response-stats interceptor keeps its running totals between runs.
_RESPONSE_STATS_CACHE = "response_stats_cache"
#: What nemo-evaluator's adapter proxy answers (HTTP 500) when it got no answer from upstream.
_PROXY_NO_ANSWER = "No adapter interceptor returned response"
_MESSAGE_LIMIT = 160


def read_request_stats(results_dir: Path) -> RequestStats | None:
    """The request statistics the harness wrote into ``results_dir``; None when it wrote none."""
    document = _load_json(results_dir / REQUESTS_FILE)
    if document is not None:
        return _from_nel_requests(document)
    metrics = _load_json(results_dir / EVAL_FACTORY_METRICS)
    if metrics is None:
        return None
    stats = _from_response_stats(metrics.get("response_stats"))
    gate = _load_json(results_dir / CONCURRENCY_FILE)
    if stats is None or gate is None:
        return stats
    return attrs.evolve(stats, parallelism=_count(gate.get("parallelism")) or None, tokens_per_s=_rate(gate))


def clear_request_stats(results_dir: Path) -> None:
    """Forget the request statistics of a previous run before the job runs again in place.

    nemo-evaluator adds each run's responses to the totals of the runs before it (kept in
    ``response_stats_cache/``): a resumed job would be judged by the failures of the run it
    replaces.
    """
    (results_dir / REQUESTS_FILE).unlink(missing_ok=True)
    (results_dir / CONCURRENCY_FILE).unlink(missing_ok=True)
    shutil.rmtree(results_dir / _RESPONSE_STATS_CACHE, ignore_errors=True)
    metrics_file = results_dir / EVAL_FACTORY_METRICS
    metrics = _load_json(metrics_file)
    if metrics is not None and "response_stats" in metrics:
        kept = {key: value for key, value in metrics.items() if key != "response_stats"}
        temp = metrics_file.with_name(f".{metrics_file.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(kept, indent=2))
        os.replace(temp, metrics_file)


def describe_status(status: int) -> str:
    """``HTTP 503 Service Unavailable`` (the code alone when it is not a known status)."""
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _from_nel_requests(document: Mapping[str, Any]) -> RequestStats | None:
    total, failed = _count(document.get("requests")), _count(document.get("failed"))
    if total is None or failed is None or failed > total:
        return None
    first = document.get("first_error")
    error = f"first: {_describe_error(first)}" if failed and isinstance(first, Mapping) else ""
    parallelism = _count(document.get("parallelism")) or None
    return RequestStats(
        total=total,
        failed=failed,
        error=error,
        source=REQUESTS_FILE,
        parallelism=parallelism,
        tokens_per_s=_rate(document),
    )


def _rate(document: Mapping[str, Any]) -> float | None:
    rate = document.get("tokens_per_s")
    return float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate >= 0 else None


def _describe_error(error: Mapping[str, Any]) -> str:
    status, message = error.get("status"), str(error.get("message") or "").strip()
    if _PROXY_NO_ANSWER in message:
        # The harness only saw the proxy's own 500: the endpoint itself never answered.
        return "no answer from the endpoint (the harness's adapter proxy could not reach it; job.log has why)"
    if isinstance(status, int) and not isinstance(status, bool):
        return describe_status(status)
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return message or "no answer from the endpoint"


def _from_response_stats(stats: Any) -> RequestStats | None:
    if not isinstance(stats, Mapping):
        return None
    total, codes = _count(stats.get("count")), stats.get("status_codes")
    if total is None or not isinstance(codes, Mapping):
        return None
    errors: dict[int, int] = {}
    for code, number in codes.items():
        status, seen = _status(code), _count(number)
        if status is None or seen is None:
            return None
        if not 200 <= status < 300 and seen:
            errors[status] = seen
    failed = sum(errors.values())
    if failed > total:
        return None
    by_count = sorted(errors.items(), key=lambda item: (-item[1], item[0]))
    error = ", ".join(f"{describe_status(status)}: {seen}" for status, seen in by_count[:3])
    return RequestStats(total=total, failed=failed, error=error, source=EVAL_FACTORY_METRICS)


def _status(code: Any) -> int | None:
    # JSON keys are strings: nemo-evaluator writes {"200": 1, "503": 9}.
    try:
        return int(code)
    except (TypeError, ValueError):
        return None
