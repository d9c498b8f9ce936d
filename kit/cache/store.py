"""``CachedStore``: a zarr Store that reads any backend store through a ``DiskCache``.

It sits below ``KitStore`` (above ``HttpStore``, ``CloudStore``, refs, fsspec, zip stores), so
every Store call goes through it, from ``kit.open`` or from the relay. The rules, HTTP's own:

- a metadata document (``zarr.json``, ``.zarray``, ...) is revalidated once per session (per
  store): a backend that can (``ConditionalStore``: ``HttpStore`` sends If-None-Match /
  If-Modified-Since) answers 304 and the cached bytes are used; any other backend is read
  again (no ETags there: a whole read is the simple, always-correct revalidation);
- every other key (chunks, shard ranges, table files) is namespaced by a digest of the nearest
  array's metadata document (or of a consolidated one above it): while that document is
  unchanged, the bytes come from disk without a request; a changed document makes the old
  entries unreachable (LRU removes them later);
- missing keys are cached too (so offline reads of sparse arrays and zarr-format probes work);
- offline (``kit.cache.offline()`` / ``NGFF_KIT_OFFLINE=1``) nothing reaches the backend and a
  miss is ``NotCached`` naming the key; online, when revalidation fails with a ``RemoteError``
  (the network dropped) the cached copy is used and the store stops trying to revalidate.

Entries are keyed by ``namespace`` (origin and path, never a credential, query or userinfo:
see ``kit.cache.keys``) and the store key; errors (401, 403, 5xx) are never cached.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from kit.auth import redact
from kit.cache.byterange import range_text
from kit.cache.conditional import Answer, ConditionalStore
from kit.cache.disk import DiskCache, Entry, digest, entry_id
from kit.cache.offline import is_offline
from kit.errors import KitError, NotCached, PermissionDenied, RemoteError

__all__ = ["DOCUMENT_NAMES", "CachedStore"]

DOCUMENT_NAMES = frozenset({"zarr.json", ".zattrs", ".zgroup", ".zarray", ".zmetadata"})
_ARRAY_PROBES = ("zarr.json", ".zarray")  # what a node below a chunk is, when not seen yet


def _range_name(byte_range: ByteRequest | None) -> str:
    """What an entry's name adds for a range: ``#start-end`` (end exclusive), ``#offset-``,
    ``#-suffix``. Existing cache folders hold these names: the format must not change."""
    return "" if byte_range is None else "#" + range_text(byte_range, inclusive=False)


def _scope_kind(name: str, data: bytes) -> bool:
    """Whether a document names what is below it: an array's, or consolidated metadata."""
    if name in (".zarray", ".zmetadata"):
        return True
    if name != "zarr.json":
        return False
    try:
        doc = json.loads(data)
    except ValueError:
        return False
    return isinstance(doc, dict) and (doc.get("node_type") == "array"
                                      or bool(doc.get("consolidated_metadata")))


class CachedStore(Store):
    """Read-only Store over ``inner`` whose answers are kept in ``cache`` under ``namespace``."""

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False

    def __init__(self, inner: Store, cache: DiskCache, namespace: str) -> None:
        super().__init__(read_only=True)
        self.inner = inner
        self.cache = cache
        self.namespace = namespace
        self._new_session()

    def _new_session(self) -> None:
        self._fresh: dict[str, bytes | None] = {}  # documents validated in this session
        self._scopes: dict[str, str] = {}  # node path -> digest of its scoping document
        self._unreachable = False  # a revalidation met a RemoteError: use what is on disk

    def forget_session(self) -> None:
        """Revalidate every document again on next use (a long-running relay calls this)."""
        self._new_session()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_fresh", "_scopes", "_unreachable"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._new_session()

    def __repr__(self) -> str:
        return f"CachedStore({self.inner!r}, {self.cache!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CachedStore) and other.inner == self.inner
                and other.cache.root == self.cache.root)

    def __hash__(self) -> int:
        return hash((self.namespace, str(self.cache.root)))

    def _where(self, key: str) -> str:
        return redact(self.namespace.rstrip("/") + "/" + key)

    # -- disk, off the loop

    async def _read(self, name: str) -> Entry | None:
        return await asyncio.to_thread(self.cache.read, entry_id(self.namespace, name))

    async def _write(self, name: str, entry: Entry) -> None:
        try:
            await asyncio.to_thread(self.cache.write, entry_id(self.namespace, name), entry)
        except OSError:
            pass  # a full or read-only disk costs the cache, not the read

    def _not_cached(self, key: str) -> NotCached:
        return NotCached(f"not in the cache ({self.cache.root}), and reads are offline "
                         "(kit.cache.offline() or NGFF_KIT_OFFLINE); read it once online first",
                         where=self._where(key))

    # -- reading

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        if byte_range is None and posixpath.basename(key) in DOCUMENT_NAMES:
            data = await self._document(key)
        else:
            data = await self._object(key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def _document(self, key: str) -> bytes | None:
        """A metadata document, revalidated at most once per session."""
        if key in self._fresh:
            return self._fresh[key]
        entry = await self._read(key)
        if entry is not None and (self._unreachable or is_offline()):
            data = entry.data
        elif entry is None and is_offline():
            raise self._not_cached(key)
        else:
            try:
                answer = await self._revalidate(key, entry)
            except RemoteError:
                if entry is None:
                    raise
                self._unreachable = True  # the network dropped: the rest comes from disk too
                answer = Answer(None, not_modified=True)
            if answer.not_modified and entry is not None:
                data = entry.data
            else:
                data = answer.data
                await self._write(key, Entry(data, answer.etag, answer.last_modified))
        self._note(key, data)
        return data

    async def _revalidate(self, key: str, entry: Entry | None) -> Answer:
        if isinstance(self.inner, ConditionalStore):
            return await self.inner.get_if_changed(
                key, etag=entry.etag if entry else None,
                last_modified=entry.last_modified if entry else None)
        buf = await self.inner.get(key, default_buffer_prototype(), None)
        return Answer(None if buf is None else buf.to_bytes())

    def _note(self, key: str, data: bytes | None) -> None:
        self._fresh[key] = data
        folder, name = posixpath.split(key)
        if data is not None and _scope_kind(name, data):
            self._scopes[folder] = digest(data)

    async def _object(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        """A chunk (or any other key): from disk while its array's metadata is unchanged."""
        scope = await self._scope_of(key)
        name = key + _range_name(byte_range)
        if scope is None:  # under no array: a plain object, revalidated like a document
            return await self._document(name) if byte_range is None else \
                await self._unscoped_range(key, byte_range)
        name += "@" + scope
        entry = await self._read(name)
        if entry is not None:
            return entry.data
        return await self._fetch_and_keep(key, byte_range, name)

    async def _unscoped_range(self, key: str, byte_range: ByteRequest) -> bytes | None:
        """A range of an object under no array: read online, kept for offline use."""
        name = key + _range_name(byte_range)
        if name in self._fresh:
            return self._fresh[name]
        entry = await self._read(name)
        if entry is not None and (self._unreachable or is_offline()):
            return entry.data
        data = await self._fetch_and_keep(key, byte_range, name)
        self._fresh[name] = data
        return data

    async def _fetch_and_keep(self, key: str, byte_range: ByteRequest | None,
                              name: str) -> bytes | None:
        """``key`` (or its range) from the backend, kept under ``name``; offline: NotCached."""
        if is_offline():
            raise self._not_cached(key)
        buf = await self.inner.get(key, default_buffer_prototype(), byte_range)
        data = None if buf is None else buf.to_bytes()
        await self._write(name, Entry(data))
        return data

    async def _scope_of(self, key: str) -> str | None:
        """The digest of the document that versions ``key``: its nearest array's, else a
        consolidated document's above it. Seen documents answer first; else the ancestors
        are probed nearest first (a relay asked for a chunk before its array's metadata)."""
        folders = []
        folder = posixpath.dirname(key)
        while True:
            folders.append(folder)
            if folder in self._scopes:
                return self._scopes[folder]
            if not folder:
                break
            folder = posixpath.dirname(folder)
        for folder in folders:
            for probe in _ARRAY_PROBES:
                doc = posixpath.join(folder, probe) if folder else probe
                if doc not in self._fresh:
                    try:
                        await self._document(doc)
                    except NotCached:
                        continue  # offline: an unseen probe is no answer
            if folder in self._scopes:
                return self._scopes[folder]
        return None

    async def get_partial_values(self, prototype: BufferPrototype,
                                 key_ranges: Iterable[tuple[str, ByteRequest | None]]
                                 ) -> list[Buffer | None]:
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key: str) -> bool:
        return await self.get(key, default_buffer_prototype()) is not None

    async def getsize(self, key: str) -> int:
        value = await self.get(key, default_buffer_prototype())
        if value is None:
            raise FileNotFoundError(key)
        return len(value)

    # -- listing is the backend's (offline: none)

    @property
    def supports_listing(self) -> bool:
        return self.inner.supports_listing

    def list(self) -> AsyncIterator[str]:
        return self._listing(self.inner.list)

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        return self._listing(self.inner.list_prefix, prefix)

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return self._listing(self.inner.list_dir, prefix)

    def _listing(self, method: Any, *args: str) -> AsyncIterator[str]:
        if is_offline():
            raise KitError("listing needs the network; offline reads come from the cache only",
                           where=self._where(args[0] if args else ""))
        result: AsyncIterator[str] = method(*args)
        return result

    # -- writes are refused

    async def set(self, key: str, value: Buffer) -> None:
        raise PermissionDenied("cached stores are read-only", where=self._where(key))

    async def delete(self, key: str) -> None:
        raise PermissionDenied("cached stores are read-only", where=self._where(key))

    def close(self) -> None:
        self.inner.close()
