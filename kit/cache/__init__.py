"""The persistent cache: metadata documents and chunks on disk, shared by a user's kernels.

    kit.open(url, cache=True)            # or cache="/path", or NGFF_KIT_CACHE=/path
    with kit.cache.offline():            # or NGFF_KIT_OFFLINE=1: the cache only
        kit.open(url, cache=True)
    kit.cache.info(), kit.cache.clear()

One module per job: ``disk`` (atomic entries, LRU), ``store`` (the zarr Store wrapper and its
revalidation rules), ``keys`` (namespaces without credentials), ``conditional`` (what a
backend that can answer 304 offers), ``offline``, ``settings`` (folders and sizes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kit.cache.conditional import Answer, ConditionalStore
from kit.cache.disk import DiskCache
from kit.cache.keys import namespace
from kit.cache.offline import is_offline, offline
from kit.cache.settings import DEFAULT_SIZE, default_dir, disk_cache, parse_size
from kit.cache.store import CachedStore
from kit.errors import NotCached

__all__ = [
    "DEFAULT_SIZE", "Answer", "CacheInfo", "CachedStore", "ConditionalStore", "DiskCache",
    "NotCached", "clear", "default_dir", "disk_cache", "info", "is_offline", "namespace",
    "offline", "parse_size",
]


@dataclass(frozen=True)
class CacheInfo:
    """What a cache folder holds now."""

    path: Path
    size: int  # bytes on disk
    entries: int


def info(path: str | os.PathLike[str] | None = None) -> CacheInfo:
    """Size and entry count of the cache at ``path`` (None: the default folder)."""
    cache = disk_cache(path)
    size, entries = cache.info()
    return CacheInfo(cache.root, size, entries)


def clear(path: str | os.PathLike[str] | None = None) -> int:
    """Remove every entry of the cache at ``path`` (None: the default folder); how many."""
    return disk_cache(path).clear()
