"""URL handling for requests: userinfo taken out of the URL, paths quoted once.

Userinfo is a credential: ``kit.auth.resolve`` reads it from the URL it is given; here it only
leaves the URL that is sent.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from kit.auth import origin_of
from kit.errors import KitError
from kit.io.http.messages import shown

__all__ = ["request_url", "split_root"]

#: Characters left as they are in a path: RFC 3986 sub-delims, ':', '@', and '%' escapes.
_PATH_SAFE = "/%:@!$&'()*+,;=~"


def split_root(url: str) -> tuple[str, str]:
    """(base URL ending in '/' without userinfo, '?query' or ''); KitError if malformed."""
    if not isinstance(url, str):
        raise KitError(f"HttpStore needs a URL string, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise KitError("HttpStore needs an http:// or https:// URL", where=shown(url))
    origin_of(url)  # raises KitError without a host or with a bad port
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    base = urlunsplit((parts.scheme.lower(), netloc, path, "", ""))
    return base, (f"?{parts.query}" if parts.query else "")


def request_url(url: str) -> str:
    """``url`` ready to send: no userinfo, path quoted where needed.

    A refs document may write paths unquoted ("with space.bin"); escapes already in it stay.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    path = quote(parts.path, safe=_PATH_SAFE)
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))
