"""HTTP for the kit: one client per process, and the zarr store on top of it.

- ``client``: ``HttpClient`` / ``http_client()``: session, proxies, retries, redirects, limits;
- ``policy``: retry, timeout and size defaults (module constants) and ``RequestPolicy``;
- ``ranges``: the Range header and the checks a range answer must pass;
- ``read``: one GET answered as bytes, a missing key or a typed error;
- ``messages``: plain-words failures and typed status errors, the one place URLs become text;
- ``proxy``, ``urls``: proxies from the environment; userinfo and quoting of request URLs;
- ``store``: ``HttpStore``, the read-only zarr store.
"""

from kit.io.http.client import HttpClient, OriginHeaders, Reply, http_client
from kit.io.http.policy import BodyLimit, RequestPolicy
from kit.io.http.proxy import proxy_for
from kit.io.http.read import get_bytes
from kit.io.http.store import HttpStore

__all__ = [
    "BodyLimit",
    "HttpClient",
    "HttpStore",
    "OriginHeaders",
    "Reply",
    "RequestPolicy",
    "get_bytes",
    "http_client",
    "proxy_for",
]
