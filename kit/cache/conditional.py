"""What a backend that can revalidate answers: the protocol between the cache and a store.

A store with ``get_if_changed`` (``HttpStore``: If-None-Match / If-Modified-Since) lets the
cache reuse its bytes on a 304; any other store is read again once per session instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Answer", "ConditionalStore"]


@dataclass(frozen=True)
class Answer:
    """A whole-object read: bytes (None: missing), the validators that came with them, or
    ``not_modified`` (the copy the validators describe is still current)."""

    data: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


@runtime_checkable
class ConditionalStore(Protocol):
    async def get_if_changed(self, key: str, *, etag: str | None,
                             last_modified: str | None) -> Answer:
        """``key`` whole, or ``Answer(None, not_modified=True)`` when the validators match."""
        ...
