"""``--parallelism auto``: ramping up while throughput grows, backing off when servers are full."""

from __future__ import annotations

import json
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from core_evals.nel_bench import REQUESTS_FILE, RESULTS_FILE
from core_evals.nel_bench.concurrency import AdaptiveLimiter, Limiter
from core_evals.nel_bench.runner import main
from nel_harness_stub import answer_key, openai_answer


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _simulate(
    limiter: Limiter, clock: _Clock, *, capacity: int, rounds: int = 40, throttle: bool
) -> list[int]:
    """Send ``limiter.limit`` requests at once per round to a server of ``capacity`` slots.

    Past its capacity the server either answers 429 (``throttle``) or queues (each round then
    takes longer in proportion). Returns the limit of each round.
    """
    limits = []
    for _ in range(rounds):
        width = limiter.limit
        limits.append(width)
        with ExitStack() as stack:
            slots = [stack.enter_context(limiter.slot()) for _ in range(width)]
            clock.now += 1.0 if throttle else max(1.0, width / capacity)
            for index, slot in enumerate(slots):
                if throttle and index >= capacity:
                    slot.status = 429
                else:
                    slot.tokens = 10
    return limits


def test_settles_at_a_throttling_servers_capacity() -> None:
    """Against servers that answer 429 past 1, 2 or 4 requests, the limit settles at that count."""
    for capacity in (1, 2, 4):
        clock = _Clock()
        limiter = AdaptiveLimiter(16, clock=clock)
        limits = _simulate(limiter, clock, capacity=capacity, throttle=True)
        assert limiter.chosen() == capacity
        assert limits[-10:] == [capacity] * 10


def test_stops_ramping_when_throughput_stops_growing() -> None:
    """A server that queues past 2 requests gains nothing from more: the limit stays at 2."""
    clock = _Clock()
    limiter = AdaptiveLimiter(16, clock=clock)
    limits = _simulate(limiter, clock, capacity=2, throttle=False)
    assert limiter.chosen() == 2
    assert limits[-5:] == [2] * 5
    assert max(limits) <= 4


def test_never_exceeds_the_maximum() -> None:
    """However well throughput scales, the limit stays within the server's slots."""
    clock = _Clock()
    limiter = AdaptiveLimiter(3, clock=clock)
    limits = _simulate(limiter, clock, capacity=64, throttle=False)
    assert max(limits) == 3
    assert limiter.chosen() == 3


def test_a_throttle_that_lowers_the_limit_marks_its_attempt_eased() -> None:
    """A 429 the limiter answers with a lower limit marks the attempt; at the lowest, none."""
    clock = _Clock()
    limiter = AdaptiveLimiter(8, clock=clock)
    for _ in range(2):  # a window at limit 1 (two answers) that pays off: the limit doubles
        with limiter.slot() as slot:
            clock.now += 1.0
            slot.tokens = 10
        assert not slot.eased
    assert limiter.limit == 2
    with limiter.slot() as slot:
        slot.status = 429
    assert slot.eased and limiter.limit == 1
    with limiter.slot() as slot:
        slot.status = 429
    assert not slot.eased and limiter.limit == 1


def test_a_throttle_sent_under_a_level_since_left_is_eased_too() -> None:
    """Two attempts out at limit 2; the first one's 429 lowers the limit, the second's (sent under
    the level just left, say nothing new) is eased all the same; a fixed limiter eases nothing."""
    clock = _Clock()
    limiter = AdaptiveLimiter(8, clock=clock)
    for _ in range(2):
        with limiter.slot() as slot:
            clock.now += 1.0
            slot.tokens = 10
    assert limiter.limit == 2
    with ExitStack() as stack:
        second = stack.enter_context(limiter.slot())
        first = stack.enter_context(limiter.slot())
        first.status = second.status = 429
    assert first.eased and second.eased and limiter.limit == 1
    fixed = Limiter(2)
    with ExitStack() as stack:
        slots = [stack.enter_context(fixed.slot()) for _ in range(2)]
        for slot in slots:
            slot.status = 429
    assert not any(slot.eased for slot in slots)


def test_fixed_limiter_reports_tokens_per_second() -> None:
    """A fixed limiter keeps its limit and reports completion tokens per second of the run."""
    clock = _Clock()
    limiter = Limiter(2, clock=clock)
    _simulate(limiter, clock, capacity=2, rounds=5, throttle=False)
    assert limiter.summary() == {"mode": "fixed", "parallelism": 2, "tokens_per_s": 20.0}


def test_runner_auto_finds_a_stand_in_servers_capacity(stub_server, tmp_path: Path) -> None:
    """Through HTTP, auto mode settles at 2 against a server that answers 429 past 2 requests."""
    in_flight = 0
    lock = threading.Lock()

    def respond(path: str, headers: dict, body: dict) -> tuple:
        nonlocal in_flight
        with lock:
            if in_flight >= 2:
                return 429, {"error": "full"}
            in_flight += 1
        try:
            time.sleep(0.03)
            answer = openai_answer(body, answer_key(body))
            answer["usage"] = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
            return 200, answer
        finally:
            with lock:
                in_flight -= 1

    server = stub_server(respond)
    argv = [
        "--task", "arithmetic", "--output-dir", str(tmp_path), "--model-url", server.base_url,
        "--model-id", "stub", "--model-type", "chat", "--limit-samples", "60",
        "--parallelism", "auto", "--max-parallelism", "8", "--max-retries", "6",
    ]  # fmt: skip
    assert main(argv) == 0
    counts = json.loads((tmp_path / REQUESTS_FILE).read_text())
    assert counts["failed"] == 0
    assert counts["parallelism_mode"] == "auto"
    assert counts["parallelism"] == 2
    assert counts["tokens_per_s"] > 0


def test_a_rerun_in_place_asks_only_what_was_not_answered(stub_server, tmp_path: Path) -> None:
    """Answers are cached in the output dir: a second run sends no request for them."""
    server = stub_server(lambda path, headers, body: (200, openai_answer(body, answer_key(body))))
    argv = [
        "--task", "capitals", "--output-dir", str(tmp_path), "--model-url", server.base_url,
        "--model-id", "stub", "--model-type", "chat", "--limit-samples", "4",
    ]  # fmt: skip
    assert main(argv) == 0
    assert len(server.requests) == 4
    assert main([*argv[:-1], "6"]) == 0
    assert len(server.requests) == 6
    summary = json.loads((tmp_path / RESULTS_FILE).read_text())["summary"]
    assert (summary["cached_answers"], summary["correct"]) == (4, 6)
