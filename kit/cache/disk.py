"""The on-disk store of cache entries: one file per entry, written atomically, evicted LRU.

Why files and not SQLite: every kernel of a user (and a relay) shares the folder; a file is
written to a temporary name in its own folder and ``os.replace``d into place, so a reader sees
the old entry, the new one, or none, and a writer killed with ``kill -9`` leaves only a
``.tmp-`` file that nobody reads (removed by the next eviction scan once it is stale).

Each entry carries a header with its length and a BLAKE2 digest of its bytes: a truncated or
corrupt file is detected on read, removed, and reported as a miss (refetched, never returned).
Entry names are hashes of (namespace, name): no URL, key or credential appears in a path, and
the header holds only validators (ETag, Last-Modified), never request headers.

LRU: a hit bumps the file's mtime; when the folder grows past ``max_bytes`` the oldest entries
are removed until it is under 90% of it. The size is counted from a scan, kept up to date by
this process's writes and scanned again after every ``max_bytes / 8`` written, so other
processes' writes are seen; the bound is exceeded at most by what others wrote since then.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DiskCache", "Entry", "entry_id"]

MAGIC = b"NGFFKIT-CACHE1\n"
_HEADER_LEN = struct.Struct(">I")
_MAX_HEADER = 1 << 16
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600.0  # a temporary file older than this belongs to a dead writer
LOW_WATER = 0.9  # eviction goes down to this fraction of max_bytes


def entry_id(namespace: str, name: str) -> str:
    """The file name of an entry: a hash, so no URL or key is readable on disk."""
    return hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A cached answer: bytes (None: the origin said the key is missing) and its validators."""

    data: bytes | None
    etag: str | None = None
    last_modified: str | None = None


class DiskCache:
    """A folder of entries shared by processes; every method is safe to call concurrently."""

    def __init__(self, root: str | os.PathLike[str], max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("cache_size must be > 0 bytes")
        self.root = Path(root).expanduser()
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._size: int | None = None  # bytes in the folder, from the last scan plus our writes
        self._since_scan = 0

    def __repr__(self) -> str:
        return f"DiskCache({str(self.root)!r}, max_bytes={self.max_bytes})"

    def __getstate__(self) -> dict[str, Any]:  # a dask worker counts its own writes
        return {"root": self.root, "max_bytes": self.max_bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        DiskCache.__init__(self, state["root"], state["max_bytes"])

    def _path(self, eid: str) -> Path:
        return self.root / eid[:2] / eid

    # -- reading

    def read(self, eid: str) -> Entry | None:
        """The entry, or None when absent or unreadable (a corrupt entry is also removed)."""
        path = self._path(eid)
        try:
            with path.open("rb") as f:
                raw = f.read()
        except OSError:
            return None
        entry = _decode(raw)
        if entry is None:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # LRU: a hit is a use
        return entry

    # -- writing

    def write(self, eid: str, entry: Entry) -> None:
        """Store ``entry`` atomically (temporary file in the same folder, then ``os.replace``)."""
        blob = _encode(entry)
        folder = self._path(eid).parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self._path(eid))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._account(len(blob))

    def _account(self, written: int) -> None:
        with self._lock:
            if self._size is None or self._since_scan + written > self.max_bytes // 8:
                self._size, self._since_scan = self._scan_size(), 0
            else:
                self._size += written
                self._since_scan += written
            over = self._size > self.max_bytes
        if over:
            self.evict()

    # -- size, eviction, clearing

    def _files(self) -> list[tuple[Path, os.stat_result]]:
        found: list[tuple[Path, os.stat_result]] = []
        if not self.root.is_dir():
            return found
        for sub in os.scandir(self.root):
            if not sub.is_dir(follow_symlinks=False) or len(sub.name) != 2:
                continue
            with contextlib.suppress(OSError):
                for item in os.scandir(sub.path):
                    with contextlib.suppress(OSError):
                        found.append((Path(item.path), item.stat(follow_symlinks=False)))
        return found

    def _scan_size(self) -> int:
        return sum(st.st_size for _, st in self._files())

    def evict(self) -> int:
        """Remove least recently used entries (and dead writers' temporary files) until the
        folder is under ``LOW_WATER * max_bytes``; returns how many entries were removed."""
        now, removed = time.time(), 0
        entries, total = [], 0
        for path, st in self._files():
            if path.name.startswith(TMP_PREFIX):
                if now - st.st_mtime > STALE_TMP_SECONDS:
                    with contextlib.suppress(OSError):
                        path.unlink()
                    continue
            else:
                entries.append((st.st_mtime, st.st_size, path))
            total += st.st_size
        entries.sort()
        target = int(self.max_bytes * LOW_WATER)
        for _, size, path in entries:
            if total <= target:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
            total -= size
        with self._lock:
            self._size, self._since_scan = total, 0
        return removed

    def info(self) -> tuple[int, int]:
        """(bytes, entries) in the folder now."""
        files = [(p, st) for p, st in self._files() if not p.name.startswith(TMP_PREFIX)]
        return sum(st.st_size for _, st in files), len(files)

    def clear(self) -> int:
        """Remove every entry (and temporary file); returns how many entries were removed."""
        removed = 0
        for path, _ in self._files():
            with contextlib.suppress(OSError):
                path.unlink()
                removed += not path.name.startswith(TMP_PREFIX)
        with self._lock:
            self._size, self._since_scan = 0, 0
        return removed


def _encode(entry: Entry) -> bytes:
    data = entry.data or b""
    header = json.dumps({"size": len(data), "digest": digest(data),
                         "missing": entry.data is None, "etag": entry.etag,
                         "last_modified": entry.last_modified}).encode()
    return MAGIC + _HEADER_LEN.pack(len(header)) + header + data


def _decode(raw: bytes) -> Entry | None:
    """The entry in ``raw``, or None when it is not a whole, intact entry."""
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + _HEADER_LEN.size:
        return None
    start = len(MAGIC) + _HEADER_LEN.size
    (n,) = _HEADER_LEN.unpack_from(raw, len(MAGIC))
    if n > _MAX_HEADER or len(raw) < start + n:
        return None
    try:
        header = json.loads(raw[start:start + n])
        size, missing = int(header["size"]), bool(header["missing"])
        expected = str(header["digest"])
        etag, modified = header.get("etag"), header.get("last_modified")
    except (ValueError, KeyError, TypeError):
        return None
    data = raw[start + n:]
    if len(data) != size or digest(data) != expected:
        return None
    return Entry(None if missing else data,
                 etag if isinstance(etag, str) else None,
                 modified if isinstance(modified, str) else None)
