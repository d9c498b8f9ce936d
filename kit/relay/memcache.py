"""A bounded in-memory LRU of upstream answers (bytes or "missing"), counted in bytes.

Only final answers go in: data, or a 404 from the upstream. Errors are never stored, so a
failing upstream is asked again by the next student.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_BYTES = 512 * 2**20  # the answers of a teaching dataset; a chunk over a quarter is skipped
MISSING_COST = 64  # bytes an absent key is counted as


@dataclass(frozen=True)
class Entry:
    """An upstream answer: ``data`` None means the key does not exist upstream."""

    data: bytes | None
    etag: str | None


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
