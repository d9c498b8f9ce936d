"""Byte reads for refs targets (HTTP, local files, other fsspec URLs) and range coalescing.

HTTP goes through ``kit.io.http.HttpStore`` (its session, retries, hand-followed redirects and
exact-range handling), with the credential passed explicitly: a store made here never looks
one up by itself, so env and netrc credentials cannot reach a host a refs file merely names.

``Coalescer`` merges the ranges that concurrent reads want from one URL: zarr reads chunks as
many concurrent ``get`` calls, so reads that arrive within a few milliseconds of each other are
gathered, sorted, merged when adjacent or separated by a small gap, fetched concurrently and
sliced back out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from zarr.abc.store import OffsetByteRequest, RangeByteRequest
from zarr.core.buffer import default_buffer_prototype

from kit.auth import BasicAuth, Credential, Headers, redact_url
from kit.errors import InvalidMetadata, KitError, NotFound

__all__ = ["NO_CREDENTIAL", "http_read", "local_read", "fsspec_read", "Coalescer"]

#: An explicit "send nothing": ``HttpStore(credential=None)`` would resolve one from env/netrc.
NO_CREDENTIAL: Credential = Headers({})

DEFAULT_GAP = 16 * 1024  # merge ranges separated by at most this many bytes
DEFAULT_MAX_BLOCK = 32 * 1024 * 1024  # never merge into a request larger than this
DEFAULT_WINDOW = 0.002  # seconds a read waits for companions before its batch is sent


async def http_read(url: str, offset: int, length: int | None,
                    credential: Credential | None) -> bytes | None:
    """Bytes ``[offset, offset+length)`` of ``url`` (whole file if length is None); None on 404.

    ``credential`` goes to ``url``'s origin only (never across redirects); None sends nothing,
    except userinfo written in the URL itself, which is that host's own.
    """
    from kit.io.http import HttpStore

    parts = urlsplit(url)
    head, _, name = parts.path.rpartition("/")
    if credential is None and parts.username is not None:
        credential = BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    root = urlunsplit((parts.scheme, parts.netloc, head + "/", parts.query, ""))
    store = HttpStore(root, credential=credential or NO_CREDENTIAL)
    if length is not None:
        byte_range = RangeByteRequest(offset, offset + length)
    else:
        byte_range = OffsetByteRequest(offset) if offset else None
    buf = await store.get(unquote(name), default_buffer_prototype(), byte_range)
    return None if buf is None else buf.to_bytes()


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
    """Bytes of any other fsspec URL (s3://, gs://, ...), with exactly ``options``."""
    def _read() -> bytes | None:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url, **options)
        end = None if length is None else offset + length
        try:
            return fs.cat_file(path, start=offset, end=end)
        except FileNotFoundError:
            return None

    try:
        return await asyncio.to_thread(_read)
    except (ImportError, ValueError) as exc:
        raise KitError(f"cannot read with fsspec: {exc}", where=redact_url(url)) from None


# --- coalescing ------------------------------------------------------------------------------


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


Fetch = Callable[[str, int, int], Awaitable[bytes | None]]


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
    """Gathers concurrent range reads per URL and sends merged requests (runs on the kit loop)."""

    def __init__(self, fetch: Fetch, *, gap: int = DEFAULT_GAP,
                 max_block: int = DEFAULT_MAX_BLOCK, window: float = DEFAULT_WINDOW) -> None:
        self._fetch = fetch
        self.gap, self.max_block, self.window = gap, max_block, window
        self._pending: dict[str, list[_Want]] = {}
        self.requests = 0  # merged requests sent (for tests and the curious)

    async def read(self, url: str, offset: int, length: int, *, where: str) -> bytes:
        """Exactly ``length`` bytes at ``offset`` of ``url``; errors name ``where``."""
        future = asyncio.get_running_loop().create_future()
        batch = self._pending.get(url)
        if batch is None:
            batch = self._pending[url] = []
            asyncio.ensure_future(self._flush_later(url))
        batch.append(_Want(offset, length, where, future))
        return await future

    async def _flush_later(self, url: str) -> None:
        await asyncio.sleep(self.window)
        wants = self._pending.pop(url, [])
        await self._send(url, wants)

    async def _send(self, url: str, wants: list[_Want]) -> None:
        groups = merge_ranges(wants, self.gap, self.max_block)
        await asyncio.gather(*(self._one(url, g) for g in groups))

    async def _one(self, url: str, group: _Group) -> None:
        self.requests += 1
        try:
            data = await self._fetch(url, group.start, group.end - group.start)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter of the group
            for w in group.wants:
                if not w.future.done():
                    w.future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for w in group.wants:
            if w.future.done():
                continue
            if data is None:
                w.future.set_exception(NotFound(
                    f"the file this ref points at does not exist ({redact_url(url)})",
                    where=w.where))
                continue
            lo = w.offset - group.start
            piece = data[lo:lo + w.length]
            if len(piece) < w.length:
                w.future.set_exception(InvalidMetadata(
                    f"ref [{redact_url(url)}, {w.offset}, {w.length}] reaches past the end of "
                    f"its file (got {len(piece)} of {w.length} bytes)", where=w.where))
            else:
                w.future.set_result(piece)
