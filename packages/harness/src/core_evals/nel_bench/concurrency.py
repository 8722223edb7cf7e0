"""Concurrency that finds the endpoint's best: ``--parallelism auto``.

The runner's workers each take a slot of a :class:`Limiter` for every attempt they send. A fixed
limiter is a plain semaphore; :class:`AdaptiveLimiter` changes its limit as answers come back:

- it estimates the throughput of each limit (completion tokens per second, or answers per
  second when the server reports no usage) by Little's law, from a window of one answer per slot
  (two at least): ``limit x units / latency`` summed over the window's answers. Counting answers
  over the window's wall time instead would mix in the attempts still in flight from the limit
  before, and take more answers to be fair: the ramp is what a short run pays for;
- it doubles the limit while throughput grows (by at least ``GAIN``), then probes one slot
  more than the best level until that stops paying off;
- a 429 or 503 (the server says it is full), or latency that rises with no throughput to show
  for it, brings it back to the best level found (one below, when full at that level) and never
  past that again;
- it never exceeds ``maximum``: the server's parallel slots where NEL knows them;
- an attempt throttled while the limit was higher than it is now, or sent under a level the
  limiter has left since, is retried without the client's back-off sleep: waiting for a slot
  under the current level is the back-off (a throttle at the lowest limit still sleeps).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["THROTTLED", "AdaptiveLimiter", "Limiter", "Slot"]

#: Relative throughput gain that justifies more requests in flight.
GAIN = 1.05
#: Latency past this multiple of the best level's, with no gain, means the server is saturated.
LATENCY_LIMIT = 1.5
#: Statuses by which a server says it is full.
THROTTLED = frozenset({429, 503})


@dataclass
class Slot:
    """One attempt's outcome, filled in by the worker that holds the slot."""

    status: int | None = None
    tokens: int | None = None
    generation: int = 0
    #: The limit in force when the attempt was sent.
    limit: int = 0
    #: Set when the limiter has answered for this attempt's throttle by the time it ended: it
    #: lowered its limit below ``limit``, or (an adaptive limiter) it changed its level while the
    #: attempt was out, so the attempt was sent under a level that is gone. A throttled attempt
    #: may then be retried at once: the current level is the back-off.
    eased: bool = False


@dataclass
class _Level:
    limit: int
    throughput: float
    latency: float


class Limiter:
    """At most ``limit`` attempts in flight (a fixed limit)."""

    #: Whether the limit follows the answers (a throttle sent under a level since left is eased).
    adaptive = False

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(1, limit)
        self.maximum = self.limit
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._generation = 0
        self.tokens = 0
        self.answers = 0
        self.started_at: float | None = None

    @contextmanager
    def slot(self) -> Iterator[Slot]:
        """Hold one slot for one attempt; fill in the yielded :class:`Slot` before leaving."""
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
            if self.started_at is None:
                self.started_at = self._clock()
            slot = Slot(generation=self._generation, limit=self.limit)
        began = self._clock()
        try:
            yield slot
        except BaseException:
            if slot.status is None:
                slot.status = -1  # no answer at all (timeout, dropped connection, bad body)
            raise
        finally:
            latency = self._clock() - began
            with self._cond:
                self._in_flight -= 1
                if slot.status is None or 200 <= slot.status < 300:
                    self.answers += 1
                    self.tokens += slot.tokens or 0
                stale = slot.generation != self._generation
                self._observe(slot, latency)
                slot.eased = self.limit < slot.limit or (stale and self.adaptive)
                self._cond.notify_all()

    def _observe(self, slot: Slot, latency: float) -> None:
        """Called under the lock after each attempt (a fixed limiter ignores it)."""

    def chosen(self) -> int:
        """The limit the run settled on."""
        return self.limit

    def tokens_per_s(self) -> float | None:
        """Completion tokens per second over the whole run (None when the server reported none)."""
        if not self.tokens or self.started_at is None:
            return None
        elapsed = self._clock() - self.started_at
        return self.tokens / elapsed if elapsed > 0 else None

    def summary(self) -> dict[str, object]:
        """What the run records of its concurrency."""
        rate = self.tokens_per_s()
        return {
            "mode": "fixed",
            "parallelism": self.chosen(),
            "tokens_per_s": None if rate is None else round(rate, 2),
        }


class AdaptiveLimiter(Limiter):
    """A limit that ramps up while throughput grows and backs off when the server is full.

    Args:
        maximum: The most attempts ever in flight (the server's parallel slots).
    """

    adaptive = True

    def __init__(self, maximum: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(1, clock=clock)
        self.maximum = max(1, maximum)
        self._ceiling = self.maximum + 1  # the lowest limit known not to pay off
        self._doubling = True
        self._best: _Level | None = None
        self._window_units = 0.0
        self._window_latencies: list[float] = []
        self.history: list[dict[str, float]] = []

    def _window_size(self) -> int:
        return max(2, self.limit)

    def _set(self, limit: int) -> None:
        self.limit = max(1, min(limit, self.maximum, self._ceiling - 1))
        self._generation += 1
        self._window_units = 0.0
        self._window_latencies = []

    def _observe(self, slot: Slot, latency: float) -> None:
        if slot.generation != self._generation:
            return  # sent under an earlier limit: says nothing of this one
        if slot.status in THROTTLED:
            self._ceiling = min(self._ceiling, self.limit)
            self._doubling = False
            self.history.append({"limit": self.limit, "throttled": slot.status})
            if self._best is not None and self._best.limit < self.limit:
                self._set(self._best.limit)
            else:  # full at the best level itself: the server's capacity shrank
                self._best = None
                self._set(self.limit - 1)
            return
        if slot.status is not None and not 200 <= slot.status < 300:
            return
        self._window_units += slot.tokens or 1
        self._window_latencies.append(latency)
        if len(self._window_latencies) >= self._window_size():
            self._decide()

    def _decide(self) -> None:
        busy = max(sum(self._window_latencies), 1e-9)
        level = _Level(
            self.limit,
            self.limit * self._window_units / busy,
            statistics.median(self._window_latencies),
        )
        self.history.append(
            {
                "limit": level.limit,
                "throughput": round(level.throughput, 2),
                "latency_s": round(level.latency, 3),
            }
        )
        best = self._best
        if best is None or (
            level.throughput > best.throughput * GAIN and level.limit != best.limit
        ):
            self._best = level
            step = level.limit * 2 if self._doubling else level.limit + 1
            self._set(step)
            return
        if level.limit == best.limit:
            # The best level again: keep its freshest figures (the server's load changes).
            self._best = level
            self._set(level.limit + 1)
            return
        # More in flight, no more throughput (latency rose for nothing): not worth it.
        self._ceiling = min(self._ceiling, level.limit)
        self._doubling = False
        saturated = level.latency > best.latency * LATENCY_LIMIT
        self._set(best.limit if saturated or best.limit + 1 >= self._ceiling else best.limit + 1)

    def chosen(self) -> int:
        """The best level measured (the current limit before any was)."""
        return self._best.limit if self._best else self.limit

    def summary(self) -> dict[str, object]:
        return {
            **super().summary(),
            "mode": "auto",
            "maximum": self.maximum,
            "levels": list(self.history),
        }
