"""The namespace of a cached dataset: its origin and path, never a credential or signature.

``scheme://host:port/path/`` (lower-case scheme and host, default ports dropped by the
origin rules) without userinfo, query string or fragment: two users with different
credentials, or a presigned URL renewed with a new signature, name the same entries.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kit.auth import origin_of

__all__ = ["namespace"]


def namespace(url: str, *, endpoint: str | None = None) -> str:
    """The cache namespace of the dataset at ``url`` (an object store's ``endpoint`` added)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if scheme in ("http", "https"):
        authority = str(origin_of(url))
    else:
        authority = f"{scheme}://{parts.netloc.rpartition('@')[2].lower()}"
    prefix = f"[{namespace(endpoint)}]" if endpoint else ""
    return prefix + authority.rstrip("/") + path
