"""Byte reads for refs targets (HTTP, local files, other fsspec URLs) and range coalescing.

HTTP goes through the kit's one client (``kit.io.http``: its session, retries, hand-followed
redirects and verified ranges), with the credential passed explicitly (``kit.auth.resolve`` in
the refs-target scope decided it, userinfo in the target URL included): nothing here looks one
up by itself, so env and netrc credentials cannot reach a host a refs file merely names. Other
fsspec targets (s3://...) get the S3 log filter of ``kit.io.s3`` before any request.

``Coalescer`` merges the ranges that concurrent reads want from one source: zarr reads chunks as
many concurrent ``get`` calls, so reads that arrive within a few milliseconds of each other are
gathered, sorted, merged when adjacent or separated by a small gap, fetched concurrently and
sliced back out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest

from kit.auth import Credential, redact
from kit.errors import InvalidMetadata, KitError, NotFound
from kit.io.http import OriginHeaders, RequestPolicy, get_bytes
from kit.io.http.urls import request_url
from kit.io.s3 import guard_logs
from kit.io.stats import RequestStats

__all__ = ["Coalescer", "Source", "fsspec_read", "http_read", "local_read"]

DEFAULT_GAP = 16 * 1024  # merge ranges separated by at most this many bytes
DEFAULT_MAX_BLOCK = 32 * 1024 * 1024  # never merge into a request larger than this
DEFAULT_WINDOW = 0.002  # seconds a read waits for companions before its batch is sent
_POLICY = RequestPolicy()


def _shown(url: str) -> str:
    """The one form of a URL this module puts in a message."""
    return redact(url)


async def http_read(url: str, offset: int, length: int | None, credential: Credential | None,
                    *, stats: RequestStats | None = None) -> bytes | None:
    """Bytes ``[offset, offset+length)`` of ``url`` (whole file if length is None); None on 404.

    ``credential`` (as resolved by the caller) goes to ``url``'s origin only, never across
    redirects; None sends nothing. Userinfo in ``url`` is never sent as written.
    """
    target = request_url(url)
    byte_range: ByteRequest | None
    if length is not None:
        if length <= 0:
            return b""
        byte_range = RangeByteRequest(offset, offset + length)
    else:
        byte_range = OffsetByteRequest(offset) if offset else None
    return await get_bytes(target, byte_range, policy=_POLICY, stats=stats,
                           auth=OriginHeaders.bind(target, credential))


def local_path(url: str) -> str:
    """The filesystem path of a ``file://`` URL or a bare path."""
    if url.lower().startswith("file://"):
        return unquote(urlsplit(url).path)
    return os.path.expanduser(url)


def _read_file(path: str, offset: int, length: int | None) -> bytes | None:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read() if length is None else f.read(length)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


async def local_read(url: str, offset: int, length: int | None) -> bytes | None:
    """Bytes of a local file (in a worker thread: the kit loop never blocks on disk)."""
    return await asyncio.to_thread(_read_file, local_path(url), offset, length)


async def fsspec_read(url: str, offset: int, length: int | None,
                      options: dict) -> bytes | None:
    """Bytes of any other fsspec URL (s3://, gs://, ...), with exactly ``options``.

    The options' secrets (and the AWS ones of the environment) are kept out of botocore's,
    aiobotocore's and s3fs's log records before the first request, as for an opened s3:// root
    (once the filesystem is made, so the loggers its import created are covered too).
    """
    def _read() -> bytes | None:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url, **options)
        guard_logs(options)
        end = None if length is None else offset + length
        try:
            return fs.cat_file(path, start=offset, end=end)
        except FileNotFoundError:
            return None

    try:
        return await asyncio.to_thread(_read)
    except (ImportError, ValueError) as exc:
        raise KitError(f"cannot read with fsspec: {redact(exc)}", where=_shown(url)) from None


# --- coalescing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where merged reads go: how (``kind``, e.g. "http", "dandi", "local") and which ``url``."""

    kind: str
    url: str


@dataclass
class _Want:
    offset: int
    length: int
    where: str
    future: asyncio.Future


@dataclass
class _Group:
    start: int
    end: int
    wants: list[_Want] = field(default_factory=list)


Fetch = Callable[[Source, int, int], Awaitable[bytes | None]]


def merge_ranges(wants: list[_Want], gap: int, max_block: int) -> list[_Group]:
    """Sorted groups of wants whose ranges touch or lie within ``gap`` bytes of each other."""
    groups: list[_Group] = []
    for w in sorted(wants, key=lambda w: w.offset):
        end = w.offset + w.length
        g = groups[-1] if groups else None
        if g is not None and w.offset - g.end <= gap and max(end, g.end) - g.start <= max_block:
            g.end = max(g.end, end)
            g.wants.append(w)
        else:
            groups.append(_Group(w.offset, end, [w]))
    return groups


class Coalescer:
    """Gathers concurrent range reads per source and sends merged requests (on the kit loop)."""

    def __init__(self, fetch: Fetch, *, gap: int = DEFAULT_GAP,
                 max_block: int = DEFAULT_MAX_BLOCK, window: float = DEFAULT_WINDOW) -> None:
        self._fetch = fetch
        self.gap, self.max_block, self.window = gap, max_block, window
        self._pending: dict[Source, list[_Want]] = {}
        self._flushes: set[asyncio.Task] = set()  # kept so a pending flush is never collected

    async def read(self, source: Source, offset: int, length: int, *, where: str) -> bytes:
        """Exactly ``length`` bytes at ``offset`` of ``source``; errors name ``where``."""
        future = asyncio.get_running_loop().create_future()
        batch = self._pending.get(source)
        if batch is None:
            batch = self._pending[source] = []
            task = asyncio.ensure_future(self._flush_later(source))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)
        batch.append(_Want(offset, length, where, future))
        return await future

    async def _flush_later(self, source: Source) -> None:
        await asyncio.sleep(self.window)
        wants = self._pending.pop(source, [])
        groups = merge_ranges(wants, self.gap, self.max_block)
        await asyncio.gather(*(self._one(source, g) for g in groups))

    async def _one(self, source: Source, group: _Group) -> None:
        try:
            data = await self._fetch(source, group.start, group.end - group.start)
        except BaseException as exc:
            for w in group.wants:
                if not w.future.done():
                    w.future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        url = _shown(source.url)
        for w in group.wants:
            if w.future.done():
                continue
            if data is None:
                w.future.set_exception(NotFound(
                    f"the file this ref points at does not exist ({url})", where=w.where))
                continue
            lo = w.offset - group.start
            piece = data[lo:lo + w.length]
            if len(piece) < w.length:
                w.future.set_exception(InvalidMetadata(
                    f"ref [{url}, {w.offset}, {w.length}] reaches past the end of "
                    f"its file (got {len(piece)} of {w.length} bytes)", where=w.where))
            else:
                w.future.set_result(piece)
