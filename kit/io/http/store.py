"""A read-only zarr-python 3 store over HTTP(S), on the kit's one ``HttpClient``.

Why not fsspec's HTTPFileSystem: it trusts a 200 answer to a Range request, puts credentials where
redirects can carry them, and has no retries. Here (the transport rules live in ``client``):

- the credential is resolved once, for the store root's origin, and bound to it;
- a server that ignores ``Range`` still yields the right bytes (sliced locally), and a range
  answer that does not add up is a ``RemoteError`` (see ``ranges``);
- 404 is a missing key (zarr's fill value), 401/403 are typed errors that say what to do;
- a metadata document larger than ``jsondoc.MAX_DOCUMENT_BYTES`` is refused, not read whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import quote

from zarr.abc.store import ByteRequest, RangeByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from kit.auth import Credential, Origin, Scope, origin_of, resolve
from kit.cache.conditional import Answer
from kit.io import jsondoc, kitstore
from kit.io.http import policy as _defaults
from kit.io.http.client import OriginHeaders, Reply, http_client
from kit.io.http.messages import shown
from kit.io.http.policy import BodyLimit, RequestPolicy
from kit.io.http.read import get_bytes, get_if_changed, reply_error
from kit.io.http.urls import split_root
from kit.io.loop import gather_on_kit_loop, on_kit_loop
from kit.io.stats import RequestStats

__all__ = ["HttpStore"]


class HttpStore(Store):
    """Read-only zarr store for an HTTP(S) root URL; keys are URL paths below it.

    ``credential`` is used as given (``kit.open`` resolved it already); ``None`` asks
    ``kit.auth.resolve`` once, in the root scope (userinfo in the URL, the registry, env, netrc).
    Userinfo never stays in the URL the store sends.
    ``timeout`` bounds connecting and each wait for data; ``min_throughput`` (bytes/s, default
    ``policy.MIN_THROUGHPUT``) is the rate a body must keep after its first ``timeout`` seconds;
    ``max_document`` (default ``jsondoc.MAX_DOCUMENT_BYTES``) bounds metadata documents.
    ``missing_on_403`` reads 403 as a missing key, for buckets that hide absence that way.
    """

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = False

    def __init__(
        self,
        url: str,
        *,
        credential: Credential | None = None,
        retries: int = _defaults.DEFAULT_RETRIES,
        backoff: float = _defaults.DEFAULT_BACKOFF,
        timeout: float = _defaults.DEFAULT_TIMEOUT,
        missing_on_403: bool = False,
        min_throughput: float | None = None,
        max_document: int | None = None,
        read_only: bool = True,
    ) -> None:
        super().__init__(read_only=read_only)
        base, query = split_root(url)
        self._policy = RequestPolicy(int(retries), float(backoff), float(timeout), min_throughput)
        if max_document is not None and max_document <= 0:
            raise ValueError("max_document must be > 0 bytes")
        self._max_document = max_document
        self._base, self._query = base, query
        self._origin = origin_of(base)
        if credential is None:
            credential = resolve(url.strip(), scope=Scope.ROOT)
        self._credential = credential
        self._auth = OriginHeaders.bind(base, self._credential)
        self._missing_on_403 = bool(missing_on_403)
        self.stats = RequestStats()

    # -- identity, repr, pickling

    @property
    def url(self) -> str:
        """The root URL, ending in '/' (plus its query string, if it had one)."""
        return self._base + self._query

    @property
    def origin(self) -> Origin:
        """The origin credentials are bound to."""
        return self._origin

    @property
    def credential(self) -> Credential | None:
        return self._credential

    def _identity(self) -> tuple[Any, ...]:
        return (self.url, self._credential, self._missing_on_403, self.read_only)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HttpStore) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        kind = self._credential.kind if self._credential else None
        return f"HttpStore({shown(self.url)!r}, auth={kind})"

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["stats"] = RequestStats()  # counters belong to one process
        state["_is_open"] = False
        return state

    def with_read_only(self, read_only: bool = False) -> HttpStore:
        """A copy with another read_only flag (sharing stats); writing stays unsupported."""
        clone = object.__new__(HttpStore)
        clone.__dict__.update(self.__dict__)
        clone._read_only, clone._is_open = read_only, False
        return clone

    # -- reading

    def _key_url(self, key: str) -> str:
        return self._base + quote(key, safe="/") + self._query

    def _limit(self, key: str, byte_range: ByteRequest | None) -> BodyLimit | None:
        if byte_range is not None or not kitstore.is_metadata_key(key):
            return None  # chunks are not limited
        size = jsondoc.MAX_DOCUMENT_BYTES if self._max_document is None else self._max_document
        return BodyLimit(size, kitstore.document_too_large)

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await on_kit_loop(self._get(key, prototype, byte_range))

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        return await gather_on_kit_loop(self._get, prototype, key_ranges)

    async def get_if_changed(self, key: str, *, etag: str | None,
                             last_modified: str | None) -> Answer:
        """``key`` whole with its validators, or not_modified on a 304 (``kit.cache``)."""
        return await on_kit_loop(get_if_changed(
            self._key_url(key), etag=etag, last_modified=last_modified, policy=self._policy,
            auth=self._auth, stats=self.stats, limit=self._limit(key, None),
            missing_on_403=self._missing_on_403))

    async def exists(self, key: str) -> bool:
        return await on_kit_loop(self._exists(key))

    async def getsize(self, key: str) -> int:
        return await on_kit_loop(self._getsize(key))

    async def _get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None
    ) -> Buffer | None:
        if isinstance(byte_range, RangeByteRequest) and byte_range.end <= byte_range.start:
            return prototype.buffer.from_bytes(b"")
        data = await get_bytes(self._key_url(key), byte_range, policy=self._policy,
                               auth=self._auth, stats=self.stats,
                               limit=self._limit(key, byte_range),
                               missing_on_403=self._missing_on_403)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def _probe(self, key: str) -> Reply:
        """A one-byte GET, not HEAD: a presigned GET URL does not allow HEAD."""
        return await http_client().fetch("GET", self._key_url(key), policy=self._policy,
                                         range_header="bytes=0-0", auth=self._auth,
                                         read_body=False, stats=self.stats)

    def _missing(self, status: int) -> bool:
        return status in (404, 410) or (status == 403 and self._missing_on_403)

    async def _exists(self, key: str) -> bool:
        reply = await self._probe(key)
        if reply.status in (200, 206, 416):
            return True
        if self._missing(reply.status):
            return False
        raise reply_error(reply, self._auth)

    async def _getsize(self, key: str) -> int:
        reply = await self._probe(key)
        if reply.status in (206, 416):
            total = reply.headers.get("Content-Range", "").rpartition("/")[2]
            if total.isdigit():
                return int(total)
        elif reply.status == 200 and reply.headers.get("Content-Length", "").isdigit():
            return int(reply.headers["Content-Length"])
        elif self._missing(reply.status):
            raise FileNotFoundError(key)
        elif reply.status != 200:
            raise reply_error(reply, self._auth)
        value = await self._get(key, default_buffer_prototype(), None)
        if value is None:
            raise FileNotFoundError(key)
        return len(value)

    # -- unsupported: writing and listing

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()
        raise NotImplementedError("HttpStore is read-only")

    async def delete(self, key: str) -> None:
        self._check_writable()
        raise NotImplementedError("HttpStore is read-only")

    async def list(self) -> AsyncIterator[str]:
        """HTTP has no listing: members come from metadata, never from directory scraping."""
        return
        yield  # pragma: no cover - makes this an async generator

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        return
        yield  # pragma: no cover

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return
        yield  # pragma: no cover
