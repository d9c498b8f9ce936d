"""Origins: what a credential is bound to.

Credentials belong to an origin (scheme, host, port), as in browsers: they are sent there and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kit.auth.redact import SENSITIVE_NAME_PARTS, redact
from kit.errors import KitError

__all__ = ["SENSITIVE_NAME_PARTS", "Origin", "origin_of"]

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

@dataclass(frozen=True)
class Origin:
    """The (scheme, host, port) a credential is bound to; default ports are filled in."""

    scheme: str
    host: str
    port: int | None = None

    def __post_init__(self) -> None:
        scheme, host = self.scheme.lower(), self.host.lower()
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "host", host)
        if self.port is None and scheme in DEFAULT_PORTS:
            object.__setattr__(self, "port", DEFAULT_PORTS[scheme])

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")


def origin_of(url: str | Origin) -> Origin:
    """The origin of ``url``; raises ``KitError`` when it has no scheme or host."""
    if isinstance(url, Origin):
        return url
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a non-numeric port, broken brackets; the parser's text may quote it
        port, parts = None, None
    if parts is None:
        if "@" in text.partition("://")[2]:
            raise KitError("the user name or password in this URL contains an unescaped '/', "
                           "'?', '#' or '@': percent-encode it, or better pass "
                           "auth=kit.BasicAuth(username, password)", where=redact(text))
        raise KitError("not a valid URL (bad port or brackets)", where=redact(text))
    if not parts.scheme or not parts.hostname:
        raise KitError("not a URL with a scheme and a host", where=redact(text))
    return Origin(parts.scheme, parts.hostname, port)
