"""How hard one HTTP request tries and how much it may take: retries, timeouts, limits.

The defaults are module constants, read when a request starts, so a deployment can change one
for the whole process (``kit.io.http.policy.MIN_THROUGHPUT = 256.0``); a store or a
client call can override each for itself.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from kit.errors import KitError

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_REDIRECTS",
    "MAX_RETRY_AFTER",
    "MIN_THROUGHPUT",
    "BodyLimit",
    "RequestPolicy",
    "retry_after",
    "retryable",
]

MAX_REDIRECTS = 5
MAX_BACKOFF = 10.0  # seconds; one retry never waits longer than this
MAX_RETRY_AFTER = 10.0  # a server's Retry-After is honoured up to this many seconds
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 0.05  # seconds before the first retry; doubles with each further one
DEFAULT_TIMEOUT = 30.0  # seconds for connecting, and for each wait for data
#: Bytes per second a body must average once its first ``timeout`` seconds are over, so a
#: server trickling a byte a second is cut off instead of holding a read forever.
MIN_THROUGHPUT = 1024.0

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RequestPolicy:
    """Retries with capped, jittered exponential backoff; timeouts; the throughput floor.

    ``min_throughput=None`` means ``MIN_THROUGHPUT`` as it is when a request starts. ``sleep``
    waits between attempts (tests inject a fake one instead of sleeping for real).
    """

    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    timeout: float = DEFAULT_TIMEOUT
    min_throughput: float | None = None
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0 or self.timeout <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeout > 0")
        if self.min_throughput is not None and self.min_throughput <= 0:
            raise ValueError("min_throughput must be > 0 bytes per second")

    @property
    def attempts(self) -> int:
        return self.retries + 1

    @property
    def throughput(self) -> float:
        return MIN_THROUGHPUT if self.min_throughput is None else self.min_throughput

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (0-based), at least the Retry-After."""
        backoff = min(self.backoff * 2**attempt, MAX_BACKOFF) * random.uniform(0.75, 1.0)
        return max(backoff, retry_after(headers)) if headers is not None else backoff


@dataclass(frozen=True)
class BodyLimit:
    """At most ``max_bytes`` of body; past it, ``exceeded(where, max_bytes, size)`` is raised
    (``size``: the declared Content-Length, None when the body just grew past the limit)."""

    max_bytes: int
    exceeded: Callable[[str, int, int | None], KitError]


def retry_after(headers: Mapping[str, str]) -> float:
    """A 429/503's Retry-After in seconds (delta or HTTP date), capped at MAX_RETRY_AFTER."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)  # delta-seconds (fractions accepted)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    if math.isnan(seconds):
        return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retryable(status: int) -> bool:
    """Statuses worth another try: timeouts, throttling and server errors (not 501)."""
    return status in (408, 429) or (status >= 500 and status != 501)
