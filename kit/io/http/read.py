"""A GET of a whole object or a byte range, answered as bytes, a missing key, or a typed error.

The one reading rule shared by ``HttpStore`` and refs range reads: 200/206 are data (ranges
verified, see ``ranges``), 404/410 (and 403 where a store says so) are missing, a 416 past the
end is empty, everything else is the typed error ``messages.status_error`` makes.
"""

from __future__ import annotations

from zarr.abc.store import ByteRequest

from kit.errors import KitError
from kit.io.http.client import OriginHeaders, Reply, http_client
from kit.io.http.messages import shown, status_error
from kit.io.http.policy import BodyLimit, RequestPolicy
from kit.io.http.ranges import check_unsatisfiable, exact_range, range_header
from kit.io.stats import RequestStats

__all__ = ["get_bytes", "reply_error"]


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
