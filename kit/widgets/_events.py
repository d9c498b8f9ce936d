"""A tiny in-process signal: "credentials for this origin were just registered by kit.login()".

A browser opened before its user signed in shows "needs credentials"; when the login prompt
succeeds for the same origin, the browser reloads itself. Listeners are held weakly so a closed
browser is not kept alive by the prompt.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from kit.auth import Origin

__all__ = ["subscribe", "announce_login"]

_lock = threading.Lock()
_listeners: list[weakref.WeakMethod] = []


def subscribe(method: Callable[[Origin], object]) -> None:
    """Call the bound ``method(origin)`` after every successful ``kit.login`` (held weakly)."""
    with _lock:
        _listeners.append(weakref.WeakMethod(method))


def announce_login(origin: Origin) -> None:
    """Tell live listeners that ``origin`` now has a registered credential."""
    with _lock:
        alive = [ref for ref in _listeners if ref() is not None]
        _listeners[:] = alive
        methods = [ref() for ref in alive]
    for method in methods:
        if method is not None:
            method(origin)
