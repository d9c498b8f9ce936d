"""Offline mode: reads come only from the cache, and a miss says what is missing.

A process-wide switch (not a context variable): reads run on the kit's loop thread, which does
not see a context variable set in the notebook's thread. ``NGFF_KIT_OFFLINE=1`` turns it on for
a whole process, read at each read, so a kernel restarted with it set needs no code change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kit.auth.env import ENV_OFFLINE

__all__ = ["is_offline", "offline"]

_lock = threading.Lock()
_depth = 0


@contextmanager
def offline() -> Iterator[None]:
    """Within the block, every cached store reads from its cache only (``NotCached`` on a miss)."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def is_offline() -> bool:
    """Whether reads may not touch the network now (``offline()`` or ``NGFF_KIT_OFFLINE``)."""
    return _depth > 0 or os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes",
                                                                             "on")
