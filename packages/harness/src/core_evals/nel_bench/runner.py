"""The nel_bench benchmark runner: ``python -m core_evals.nel_bench.runner``.

framework.yml renders this command from nemo-evaluator's run config. The
runner sends every selected item to the endpoint on a thread pool of
``--parallelism`` workers, scores the answers, and writes three files into
``--output-dir``: the aggregated results (read back by ``output.parse_output``),
one JSON line per sample for inspection, and the request counts (how many
requests failed, and the first error) that NEL reads. While it runs it keeps a
fourth one there, ``progress.json`` (see ``progress``): samples done of the total.

Exit status: 0 when the run completed, even if every request failed (then no
scores are written and nemo-evaluator records an empty result); 2 on bad
arguments or an unknown task.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from . import PROGRESS_FILE, REQUESTS_FILE, RESULTS_FILE, SAMPLES_FILE
from .aggregate import Results, SampleOutcome, build_results, request_counts
from .cache import CACHE_FILE, AnswerCache, cache_key
from .client import EndpointConfig, RequestFailedError, request, request_body
from .concurrency import AdaptiveLimiter, Limiter
from .progress import ProgressFile
from .prompts import Prompt, build_prompt
from .scorers import SCORERS
from .tasks import TASKS, Item, load_items, select_items

__all__ = ["ResultsDocument", "RunArgs", "RunSummary", "main", "parse_args", "run"]


@dataclass(frozen=True)
class RunArgs:
    """The runner's command line, parsed (one field per flag of ``parse_args``)."""

    task: str
    output_dir: str
    model_url: str
    model_id: str
    model_type: str
    api_key_name: str | None
    limit_samples: int | float | None
    parallelism: int | None  # None: auto
    max_parallelism: int
    request_timeout: float
    max_retries: int
    temperature: float | None
    top_p: float | None
    max_new_tokens: int | None


class RunSummary(TypedDict):
    """How the run went, for a reader of the results file (nemo-evaluator ignores it)."""

    task: str
    endpoint_type: str
    samples: int
    correct: int
    failed_requests: int
    first_error: str | None
    elapsed_s: float
    concurrency: dict[str, object]
    cached_answers: int


class ResultsDocument(Results):
    """What the runner writes to ``RESULTS_FILE``: the results plus a summary."""

    summary: RunSummary


def _limit(text: str) -> float | int:
    """Parse limit_samples as nemo-evaluator passes it: an int, or a float fraction."""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _parallelism(text: str) -> int | None:
    """A count of requests in flight, or ``auto`` (None): found while the run goes."""
    if text == "auto":
        return None
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def parse_args(argv: Sequence[str] | None = None) -> RunArgs:
    """Parse the runner's command line (the flags framework.yml renders)."""
    parser = argparse.ArgumentParser(prog="python -m core_evals.nel_bench.runner")
    parser.add_argument("--task", required=True, choices=sorted(TASKS))
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--model-url", required=True)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--model-type", required=True, choices=["chat", "completions"])
    parser.add_argument("--api-key-name", default=None, help="env var holding the API key")
    parser.add_argument("--limit-samples", type=_limit, default=None)
    parser.add_argument("--parallelism", type=_parallelism, default=1, help="a count, or auto")
    parser.add_argument(
        "--max-parallelism",
        type=int,
        default=16,
        help="the most requests in flight with --parallelism auto",
    )
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--max-retries", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    return RunArgs(**vars(parser.parse_args(argv)))


def _api_key(name: str | None) -> str | None:
    """Read the API key from the named env var; warn (not fail) when it is unset."""
    if not name:
        return None
    key = os.environ.get(name)
    if not key:
        # Local servers need no key; a remote one will answer 401, which is clearer.
        print(f"nel_bench: env var {name} is not set; sending no API key", file=sys.stderr)
    return key or None


def _evaluate_item(
    config: EndpointConfig, item: Item, limiter: Limiter, cache: AnswerCache
) -> SampleOutcome:
    """Ask the model one item (unless the cache has its answer) and score it.

    A failed request becomes an outcome (and is not cached: a re-run asks again).
    """
    started = time.monotonic()
    prompt = build_prompt(item, config.endpoint_type)
    key = cache_key(request_body(config, prompt))
    try:
        answer = cache.get(key)
        if answer is None:
            answer = request(config, prompt, limiter=limiter)
            cache.put(key, answer)
    except RequestFailedError as exc:
        return SampleOutcome(
            id=item.id,
            subset=item.subset,
            correct=False,
            error=str(exc),
            latency_s=time.monotonic() - started,
            error_url=exc.url,
            error_status=exc.status,
        )
    correct = SCORERS[item.scorer](answer.text, item.answers)
    return SampleOutcome(
        id=item.id,
        subset=item.subset,
        correct=correct,
        response=answer.text,
        latency_s=time.monotonic() - started,
        tokens=answer.usage,
    )


def _evaluate_all(
    config: EndpointConfig,
    items: Sequence[Item],
    limiter: Limiter,
    progress_path: Path,
    cache: AnswerCache,
) -> list[SampleOutcome]:
    """Evaluate every item on a thread pool, counting finished samples in the progress file.

    The pool has a worker per slot ``limiter`` may ever give; the limiter says how many of them
    have a request in flight. Returns the outcomes in the order of ``items``.
    """
    progress = ProgressFile(progress_path, total=len(items))
    progress.flush()
    finished: queue.SimpleQueue[Future[SampleOutcome]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=limiter.maximum) as pool:
        futures = [pool.submit(_evaluate_item, config, item, limiter, cache) for item in items]
        for future in futures:
            future.add_done_callback(finished.put)
        for _ in futures:
            progress.count(failed=_next_outcome(finished, progress).failed)
            progress.flush()
    progress.flush(force=True)
    return [future.result() for future in futures]


def _next_outcome(
    finished: queue.SimpleQueue[Future[SampleOutcome]], progress: ProgressFile
) -> SampleOutcome:
    """The next finished sample; meanwhile, every half second, a count that is due is written."""
    while True:
        try:
            return finished.get(timeout=0.5).result()
        except queue.Empty:
            progress.flush()


def _prompt_text(prompt: Prompt) -> str:
    """The prompt as sent: the completions text, or the chat messages' contents."""
    if prompt.text is not None:
        return prompt.text
    return "\n".join(message["content"] for message in prompt.messages or ())


def _write_samples(
    path: Path,
    task: str,
    endpoint_type: str,
    items: Sequence[Item],
    outcomes: Sequence[SampleOutcome],
) -> None:
    """Write one JSON line per sample in NEL's per-sample format (see ``SAMPLES_FILE``).

    A failed request has an ``error`` and no ``score``: the endpoint failed, not the model.
    """
    with path.open("w", encoding="utf-8") as handle:
        for item, outcome in zip(items, outcomes, strict=True):
            prompt = _prompt_text(build_prompt(item, endpoint_type))
            record = {
                "id": item.id,
                "task": task,
                "subset": item.subset,
                "prompt": prompt,
                "prompt_hash": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
                "expected": list(item.answers),
                "response": outcome.response,
                "score": None if outcome.failed else float(outcome.correct),
                "latency_s": round(outcome.latency_s, 3),
                "tokens": outcome.tokens,
                "error": outcome.error,
                "error_status": outcome.error_status,
                "scorer": item.scorer,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def run(args: RunArgs) -> ResultsDocument:
    """Run one task end to end and write its files; return the results document."""
    items = select_items(load_items(args.task), args.limit_samples)
    config = EndpointConfig(
        url=args.model_url,
        model_id=args.model_id,
        endpoint_type=args.model_type,
        timeout=args.request_timeout,
        max_retries=args.max_retries,
        temperature=args.temperature,
        top_p=args.top_p,
        max_tokens=args.max_new_tokens,
        api_key=_api_key(args.api_key_name),
    )
    auto = args.parallelism is None
    limiter = AdaptiveLimiter(args.max_parallelism) if auto else Limiter(args.parallelism or 1)
    shown = f"auto (at most {args.max_parallelism})" if auto else str(args.parallelism)
    print(
        f"nel_bench: task={args.task} samples={len(items)} endpoint={args.model_type} "
        f"parallelism={shown}",
        flush=True,
    )
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    cache = AnswerCache(output_dir / CACHE_FILE)
    try:
        outcomes = _evaluate_all(config, items, limiter, output_dir / PROGRESS_FILE, cache)
    finally:
        cache.close()
    elapsed = time.monotonic() - started

    _write_samples(output_dir / SAMPLES_FILE, args.task, args.model_type, items, outcomes)
    failed = [o for o in outcomes if o.failed]
    results = build_results(args.task, outcomes)
    document: ResultsDocument = {
        "tasks": results["tasks"],
        "groups": results["groups"],
        "summary": {
            "task": args.task,
            "endpoint_type": args.model_type,
            "samples": len(outcomes),
            "correct": sum(o.correct for o in outcomes),
            "failed_requests": len(failed),
            "first_error": failed[0].error if failed else None,
            "elapsed_s": round(elapsed, 3),
            "concurrency": limiter.summary(),
            "cached_answers": cache.hits,
        },
    }
    (output_dir / RESULTS_FILE).write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    concurrency = limiter.summary()
    counts_data = {
        **request_counts(outcomes),
        "parallelism": concurrency["parallelism"],
        "parallelism_mode": concurrency["mode"],
        "tokens_per_s": concurrency["tokens_per_s"],
    }
    counts = json.dumps(counts_data, indent=2, ensure_ascii=False)
    (output_dir / REQUESTS_FILE).write_text(counts + "\n", "utf-8")
    return document


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring for the exit status."""
    args = parse_args(argv)
    try:
        document = run(args)
    except ValueError as exc:
        print(f"nel_bench: {exc}", file=sys.stderr)
        return 2
    summary = document["summary"]
    print(
        f"nel_bench: {summary['correct']}/{summary['samples']} correct, "
        f"{summary['failed_requests']} failed requests, {summary['elapsed_s']} s",
        flush=True,
    )
    if not document["tasks"]:
        print(
            f"nel_bench: every request failed; no scores written. "
            f"First error: {summary['first_error']}",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
