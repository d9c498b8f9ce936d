"""Request counters: the one kind every HTTP user of the kit reports into.

The kit promises the fewest round trips; these counters let tests (and curious users) check it.
The HTTP client records each request in its own process-wide ``stats`` and in the caller's
(``HttpStore.stats``, ``RefsStore.stats``, ``DandiResolver.stats``). They are only updated on
the kit loop, so plain attributes suffice.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["RequestStats"]


class RequestStats:
    """HTTP requests sent (retries and redirect hops included), bytes received, statuses."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes_received = 0
        self.statuses: Counter[int] = Counter()
        self.errors = 0  # requests that got no response: resets, timeouts, refused connections

    def record_request(self) -> None:
        self.requests += 1

    def record_response(self, status: int, nbytes: int = 0) -> None:
        self.statuses[status] += 1
        self.bytes_received += nbytes

    def record_error(self) -> None:
        self.errors += 1

    def reset(self) -> None:
        """Start counting from zero (e.g. after opening, before the read under test)."""
        self.requests = 0
        self.bytes_received = 0
        self.statuses.clear()
        self.errors = 0

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "bytes_received": self.bytes_received,
            "statuses": dict(self.statuses),
            "errors": self.errors,
        }

    def __repr__(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"RequestStats(requests={self.requests}, bytes_received={self.bytes_received}, "
            f"statuses={{{statuses}}}, errors={self.errors})"
        )
