"""A token bucket per student: a lesson's bursts pass, a runaway loop is slowed down.

Each identity gets ``burst`` requests at once and ``rate`` more per second; past that the
student is answered 429 with a Retry-After saying when the next request is allowed (the kit's
HTTP client honours it and retries).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

DEFAULT_RATE = 200.0  # requests per second, sustained, per student
DEFAULT_BURST = 1000  # requests at once: a plate overview of a 96-well plate fits


class RateLimiter:
    """Buckets keyed by identity (a student's name, or the client address before login)."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # identity -> (tokens, last time)

    def take(self, identity: str) -> float:
        """0 when the request may go ahead, else the seconds until it may (Retry-After)."""
        now = self.clock()
        tokens, last = self._buckets.get(identity, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[identity] = (tokens - 1.0, now)
            return 0.0
        self._buckets[identity] = (tokens, now)
        return (1.0 - tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds (at least 1: the header has no fractions)."""
    return str(max(1, math.ceil(seconds)))
