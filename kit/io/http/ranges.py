"""Byte ranges: the ``Range`` header for a zarr ``ByteRequest``, and the answer checked against it.

A range answer is only trusted when it adds up: a 206 must carry a ``Content-Range`` that starts
where the request starts, ends where the request (or the object) ends, and covers exactly the
body sent; a 416 is an empty answer only when its ``Content-Range`` shows the range really lies
past the end. Anything else is a ``RemoteError``: short data would silently become wrong pixels
in an array without checksums. A 200 (a server ignoring ``Range``) is sliced locally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    SuffixByteRequest,
)

from kit.cache.byterange import range_header  # re-exported: one spelling of a ByteRequest
from kit.errors import RemoteError
from kit.io.http.messages import shown

__all__ = ["check_unsatisfiable", "exact_range", "range_header"]

_CONTENT_RANGE = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
_UNSATISFIED = re.compile(r"\s*bytes\s+\*/(\d+)\s*$")


def _wanted(byte_range: ByteRequest, total: int | None) -> tuple[int, int] | None:
    """Absolute [start, end) the caller asked for, clipped to ``total`` when known."""
    big = total if total is not None else 2**63
    if isinstance(byte_range, RangeByteRequest):
        return byte_range.start, min(byte_range.end, big)
    if isinstance(byte_range, OffsetByteRequest):
        return byte_range.offset, big
    if total is None:  # a suffix needs the total size
        return None
    return max(total - byte_range.suffix, 0), total


def _asked(byte_range: ByteRequest) -> str:
    return (range_header(byte_range) or "").removeprefix("bytes=")


def exact_range(status: int, headers: Mapping[str, str], body: bytes,
                byte_range: ByteRequest, url: str) -> bytes:
    """The requested bytes of a 200 or 206 answer; ``RemoteError`` when a 206 does not add up."""
    if status == 200:
        want = _wanted(byte_range, len(body))
        return body[want[0]: want[1]] if want else body
    content_range = headers.get("Content-Range", "")
    match = _CONTENT_RANGE.match(content_range)
    if not match:
        raise RemoteError(f"HTTP 206 without a valid Content-Range (got {content_range[:80]!r})",
                          where=shown(url))
    first, last = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    if last < first or (total is not None and last >= total):
        raise RemoteError(f"the server sent an impossible Content-Range {content_range!r}",
                          where=shown(url))
    if len(body) != last - first + 1:
        raise RemoteError(
            f"the server sent {len(body)} bytes for Content-Range bytes {first}-{last} "
            f"({last - first + 1} bytes): the answer was cut short or padded", where=shown(url))
    want = _wanted(byte_range, total)
    if want is None:  # a suffix of an object of unknown size: the body is all we can check
        return body
    start, end = want
    if first != start or last + 1 < end:
        of = f" of {total}" if total is not None else ""
        raise RemoteError(
            f"asked for bytes {_asked(byte_range)} but the server sent bytes {first}-{last}{of}",
            where=shown(url))
    return body[start - first: end - first]


def check_unsatisfiable(headers: Mapping[str, str], byte_range: ByteRequest | None,
                        url: str) -> None:
    """Accept a 416 only for a range past the end (when the server says the size at all)."""
    match = _UNSATISFIED.match(headers.get("Content-Range", ""))
    if match is None or byte_range is None:
        return  # no size given (S3 sends none): nothing to check it against
    total = int(match[1])
    if isinstance(byte_range, SuffixByteRequest):
        satisfiable = byte_range.suffix > 0 and total > 0
    else:
        want = _wanted(byte_range, None)
        satisfiable = want is not None and want[0] < total
    if satisfiable:
        raise RemoteError(
            f"the server answered HTTP 416 (range not satisfiable) to bytes "
            f"{_asked(byte_range)} of a {total}-byte object", where=shown(url))
