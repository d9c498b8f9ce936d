"""Which proxy a URL goes through: the environment's, read once per session, never for loopback."""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import urlsplit

__all__ = ["proxy_for"]


def proxy_for(url: str, proxies: dict[str, str] | None = None) -> str | None:
    """The HTTP(S)_PROXY for ``url`` honouring NO_PROXY; loopback never goes through a proxy.

    ``proxies`` defaults to the environment's now; the client passes the ones read when its
    session was made (reading the environment per request cost ~10% of the I/O thread).
    """
    proxies = urllib.request.getproxies_environment() if proxies is None else proxies
    if not proxies:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    proxy = proxies.get(parts.scheme)
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if proxy and not bypass(host, proxies):
        return proxy
    return None
