"""A GET of a whole object or a byte range, answered as bytes, a missing key, or a typed error.

The one reading rule shared by ``HttpStore`` and refs range reads: 200/206 are data (ranges
verified, see ``ranges``), 404/410 (and 403 where a store says so) are missing, a 416 past the
end is empty, everything else is the typed error ``messages.status_error`` makes.
"""

from __future__ import annotations

from dataclasses import replace

from zarr.abc.store import ByteRequest

from kit.auth import origin_of
from kit.cache.conditional import Answer
from kit.errors import KitError
from kit.io.http.client import OriginHeaders, Reply, http_client
from kit.io.http.messages import shown, status_error
from kit.io.http.policy import BodyLimit, RequestPolicy
from kit.io.http.ranges import check_unsatisfiable, exact_range, range_header
from kit.io.stats import RequestStats

__all__ = ["get_bytes", "get_if_changed", "reply_error"]


def reply_error(reply: Reply, auth: OriginHeaders | None) -> KitError:
    """The typed error for a final answer that is not data."""
    return status_error(reply.status, shown(reply.url), kind=auth.kind if auth else None,
                        sent_auth=reply.sent_auth, origin=auth.origin if auth else None)


async def get_bytes(url: str, byte_range: ByteRequest | None, *, policy: RequestPolicy,
                    auth: OriginHeaders | None = None, stats: RequestStats | None = None,
                    limit: BodyLimit | None = None, missing_on_403: bool = False) -> bytes | None:
    """The bytes of ``url`` (exactly ``byte_range`` of them), or None when it is missing."""
    reply = await http_client().fetch("GET", url, policy=policy, auth=auth, stats=stats,
                                      range_header=range_header(byte_range), limit=limit)
    if reply.status in (200, 206):
        if byte_range is None:
            return reply.body
        return exact_range(reply.status, reply.headers, reply.body, byte_range, reply.url)
    if reply.status in (404, 410) or (reply.status == 403 and missing_on_403):
        return None
    if reply.status == 416:
        check_unsatisfiable(reply.headers, byte_range, reply.url)
        return b""
    raise reply_error(reply, auth)


async def get_if_changed(url: str, *, etag: str | None, last_modified: str | None,
                         policy: RequestPolicy, auth: OriginHeaders | None = None,
                         stats: RequestStats | None = None, limit: BodyLimit | None = None,
                         missing_on_403: bool = False) -> Answer:
    """A whole GET with If-None-Match / If-Modified-Since: the bytes and their validators, or
    ``not_modified`` on a 304 (the cache's revalidation).

    The validators travel like credential headers, bound to ``url``'s origin: a redirect to
    another origin drops them and gets a full answer.
    """
    conditional = {"If-None-Match": etag} if etag else {}
    if last_modified and not etag:
        conditional["If-Modified-Since"] = last_modified
    sent = auth
    if conditional:
        base = auth or OriginHeaders(origin_of(url), {}, None, _prefix(url))
        sent = replace(base, headers={**base.headers, **conditional})
    reply = await http_client().fetch("GET", url, policy=policy, auth=sent, stats=stats,
                                      limit=limit)
    if reply.status == 304:
        return Answer(None, not_modified=True)
    if reply.status == 200:
        return Answer(reply.body, reply.headers.get("ETag"), reply.headers.get("Last-Modified"))
    if reply.status in (404, 410) or (reply.status == 403 and missing_on_403):
        return Answer(None)
    reply.sent_auth = reply.sent_auth and auth is not None  # validators are no credential
    raise reply_error(reply, auth)


def _prefix(url: str) -> str:
    end = url.find("/", url.find("://") + 3)
    return url[: end + 1] if end > 0 else ""
