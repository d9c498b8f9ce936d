"""The session's per-origin credential registry.

Only ``kit.login()`` and ``kit.credentials.register(...)`` put credentials here; a lookup matches
the exact origin (scheme, host, port) and nothing else, so a credential for one server is never
offered to another port, a subdomain or the plain-HTTP twin of an HTTPS site.
"""

from __future__ import annotations

import threading

from kit.auth.credentials import Credential
from kit.auth.origin import Origin, origin_of
from kit.errors import KitError

__all__ = ["CredentialRegistry", "credentials"]


class CredentialRegistry:
    """Maps origins to credentials; thread-safe (widgets, the kit loop and user code share it)."""

    def __init__(self) -> None:
        self._by_origin: dict[Origin, Credential] = {}
        self._lock = threading.Lock()

    def register(self, url_or_origin: str | Origin, credential: Credential) -> Origin:
        """Bind ``credential`` to the origin of ``url_or_origin`` (replacing any previous one)."""
        if not isinstance(credential, Credential):
            raise TypeError(f"expected a kit credential, got {type(credential).__name__}")
        origin = origin_of(url_or_origin)
        with self._lock:
            self._by_origin[origin] = credential
        return origin

    def lookup(self, url: str | Origin) -> Credential | None:
        """The credential registered for exactly the origin of ``url``, if any."""
        try:
            origin = origin_of(url)
        except KitError:
            return None
        with self._lock:
            return self._by_origin.get(origin)

    def remove(self, url: str | Origin) -> None:
        """Forget the credential of ``url``'s origin (no error when there is none)."""
        try:
            origin = origin_of(url)
        except KitError:
            return
        with self._lock:
            self._by_origin.pop(origin, None)

    def clear(self) -> None:
        """Forget every credential."""
        with self._lock:
            self._by_origin.clear()

    def origins(self) -> list[Origin]:
        """The origins that have a credential."""
        with self._lock:
            return list(self._by_origin)

    def __contains__(self, url: object) -> bool:
        return isinstance(url, (str, Origin)) and self.lookup(url) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_origin)

    def __repr__(self) -> str:
        with self._lock:
            items = ", ".join(f"{o}: {c.kind}" for o, c in self._by_origin.items())
        return f"CredentialRegistry({{{items}}})"

    __str__ = __repr__


#: The session's registry (``kit.credentials``).
credentials = CredentialRegistry()
