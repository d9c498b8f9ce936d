"""Origins and URL redaction.

Credentials belong to an origin (scheme, host, port), as in browsers: they are sent there and
nowhere else. ``redact_url`` is the only form of a URL that may appear in a repr, a log line or an
exception message, because presigned URLs and userinfo carry secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from kit.errors import KitError

__all__ = ["Origin", "origin_of", "redact_url", "SENSITIVE_QUERY_PARAMS"]

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: Query parameters whose values are secrets (compared case-insensitively).
SENSITIVE_QUERY_PARAMS = frozenset(
    {
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "signature",
        "sig",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "key",
        "api_key",
        "apikey",
        "password",
        "secret",
        "client_secret",
        "policy",
        "key-pair-id",
    }
)


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
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError as exc:  # e.g. a non-numeric port
        raise KitError(f"not a valid URL ({exc})", where=redact_url(str(url))) from None
    if not parts.scheme or not parts.hostname:
        raise KitError("not a URL with a scheme and a host", where=redact_url(str(url)))
    return Origin(parts.scheme, parts.hostname, port)


def _redact_query(query: str) -> str:
    out = []
    for item in query.split("&"):
        name, sep, _value = item.partition("=")
        if sep and name.lower() in SENSITIVE_QUERY_PARAMS:
            item = f"{name}=***"
        out.append(item)
    return "&".join(out)


def redact_url(url: str) -> str:
    """``url`` without userinfo and with the values of secret query parameters replaced by ***."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_query(parts.query), parts.fragment))
