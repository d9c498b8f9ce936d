"""A bounded in-memory LRU of upstream answers (bytes or "missing"), counted in bytes.

Only final answers go in: data, or a 404 from the upstream. Errors are never stored, so a
failing upstream is asked again by the next student.

Over the persistent cache (``--cache DIR``) it is a small hot layer, not a second copy of the
dataset: the disk holds everything and survives a restart; the memory holds the few hundred
answers a lesson repeats (30 students asking for the same preview chunks within seconds), each
with its ETag computed once, so those are answered without a thread hop, a file read and two
digests each. Without a disk cache it is the only cache, so it is larger (``size_for``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_BYTES = 512 * 2**20  # alone: a teaching dataset's answers (a chunk over a quarter: skipped)
HOT_BYTES = 64 * 2**20  # over a disk cache: a lesson's working set
MISSING_COST = 64  # bytes an absent key is counted as


@dataclass(frozen=True)
class Entry:
    """An upstream answer: ``data`` None means the key does not exist upstream."""

    data: bytes | None
    etag: str | None


def size_for(store: object) -> int:
    """The memory layer's size over ``store`` (the upstream ``KitStore``): small over a disk
    cache, larger when it is the only cache."""
    from kit.cache.store import CachedStore

    return HOT_BYTES if isinstance(getattr(store, "inner", None), CachedStore) else DEFAULT_BYTES


class MemoryCache:
    """Least recently used entries are dropped once the total passes ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        cost = _cost(entry)
        if cost > self.max_bytes // 4:
            return  # one huge object must not flush the class's working set
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= _cost(old)
        self._entries[key] = entry
        self.size += cost
        while self.size > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self.size -= _cost(dropped)

    def __len__(self) -> int:
        return len(self._entries)


def _cost(entry: Entry) -> int:
    return MISSING_COST if entry.data is None else len(entry.data) + MISSING_COST
