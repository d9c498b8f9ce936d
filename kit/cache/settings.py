"""Which cache folder a ``kit.open`` uses, and how big it may grow.

``cache=None`` follows the environment: ``NGFF_KIT_CACHE=path`` turns the cache on there, and
offline mode uses the default folder (there is nothing else to read from). ``cache=True`` is the
default folder (``NGFF_KIT_CACHE``, else ``$XDG_CACHE_HOME/ngff-kit/data``, else
``~/.cache/ngff-kit/data``); a path is that folder; ``False`` turns it off. One ``DiskCache`` per
folder per process, so size accounting is shared by every store using it.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from kit.auth.env import ENV_CACHE
from kit.cache.disk import DiskCache
from kit.cache.offline import is_offline
from kit.errors import KitError

__all__ = ["DEFAULT_SIZE", "choose", "default_dir", "disk_cache", "parse_size"]

DEFAULT_SIZE = 5 * 10**9  # 5 GB: a course's datasets, not a disk
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_caches: dict[tuple[str, int], DiskCache] = {}
_lock = threading.Lock()


def default_dir() -> Path:
    env = os.environ.get(ENV_CACHE, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "ngff-kit" / "data"


def parse_size(size: int | str | None) -> int:
    """Bytes from an int or a string like ``"2GB"``, ``"500 MiB"`` (None: ``DEFAULT_SIZE``)."""
    if size is None:
        return DEFAULT_SIZE
    if isinstance(size, bool):
        raise KitError(f"cache_size must be a number of bytes or a size like '2GB', not {size!r}")
    if isinstance(size, int):
        value = size
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(size))
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _UNITS:
            raise KitError(f"cache_size {size!r} is not a size (e.g. 5000000000, '2GB', '500MiB')")
        value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise KitError(f"cache_size must be more than 0 bytes, not {size!r}")
    return value


def disk_cache(path: str | os.PathLike[str] | None = None, size: int | str | None = None
               ) -> DiskCache:
    """The process's ``DiskCache`` for ``path`` (None: the default folder)."""
    root = Path(path).expanduser() if path is not None else default_dir()
    key = (str(root.resolve()), parse_size(size))
    with _lock:
        if key not in _caches:
            _caches[key] = DiskCache(root, key[1])
        return _caches[key]


def choose(cache: Any, cache_size: int | str | None) -> DiskCache | None:
    """The cache a ``kit.open(..., cache=..., cache_size=...)`` reads through, or None."""
    if cache is None:
        if os.environ.get(ENV_CACHE, "").strip() or is_offline():
            return disk_cache(None, cache_size)
        return None
    if cache is False:
        return None
    if cache is True:
        return disk_cache(None, cache_size)
    if isinstance(cache, (str, os.PathLike)):
        return disk_cache(cache, cache_size)
    raise KitError(f"cache= takes True, False, None or a folder path, not {type(cache).__name__}")
