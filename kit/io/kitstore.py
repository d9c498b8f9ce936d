"""The kit's read-only view of any zarr store.

Every backend (local folder, HTTP, S3, fsspec, refs) is wrapped in one ``KitStore`` that adds
what the reader needs everywhere, once:

- one concurrency limit shared by every call (zarr's own limit is per operation);
- a session cache of metadata documents, positive and negative, so no key is fetched twice,
  with concurrent requests for the same document merged into one;
- consolidated metadata seeding: when the root has it, documents below it are answered from it
  (except below the groups it holds without members, zarr-python's reading: their members are
  read from the store);
- the zarr format, pinned once known, so later opens probe one key instead of four;
- a metadata body that is a web page (a "soft 404": 200 with HTML for a missing file) is absent,
  and one larger than ``kit.io.jsondoc.MAX_DOCUMENT_BYTES`` is an error, not read whole;
- errors of the backend libraries mapped to the kit's typed errors, naming the key.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, RangeByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
from zarr.storage import LocalStore

from kit.auth import redact
from kit.errors import (
    AuthenticationError,
    InvalidMetadata,
    KitError,
    PermissionDenied,
    RemoteError,
)
from kit.io import jsondoc
from kit.io.jsondoc import load_json
from kit.io.loop import on_kit_loop

METADATA_NAMES = frozenset({"zarr.json", ".zattrs", ".zgroup", ".zarray", ".zmetadata"})
DEFAULT_CONCURRENCY = 256  # a 96-well plate's stage (96-192 documents) fits in one round trip
# A metadata document (zarr.json, .zattrs, ...) larger than kit.io.jsondoc.MAX_DOCUMENT_BYTES
# is refused and not read whole: real ones are kilobytes, and a hostile one must not fill the
# memory. The limit is read when a document is fetched, so it can be raised for the process;
# chunks are not limited by it.


def is_metadata_key(key: str) -> bool:
    return key.rsplit("/", 1)[-1] in METADATA_NAMES


def is_soft_404(raw: bytes) -> bool:
    """Whether a metadata document's body is a web page, not JSON: read as absent.

    Some hosts answer 200 with an HTML page for a missing file; a zarr v2 dataset there would
    otherwise be blocked at the ``zarr.json`` probe (and at every optional ``.zattrs``). Only
    non-empty bodies that do not even start like JSON count: ``{not json``, ``[1, 2]`` and an
    empty file stay errors.
    """
    head = raw.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    return head not in (b"", b"{", b"[") and not _is_json(raw)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def document_too_large(where: str, limit: int, size: int | None = None) -> InvalidMetadata:
    """The error for a metadata document past ``jsondoc.MAX_DOCUMENT_BYTES`` (any backend)."""
    seen = f" (it has {size} bytes)" if size is not None else ""
    return InvalidMetadata(
        f"the metadata document is larger than the limit of {_size(limit)}{seen}; it was not "
        "read whole. If it is genuine, raise kit.io.jsondoc.MAX_DOCUMENT_BYTES", where=where)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def join(*parts: str) -> str:
    """Join store keys, dropping empty parts (the root is "")."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class KitStore(Store):
    """A read-only, caching, concurrency-limited wrapper around a zarr store."""

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False

    def __init__(self, inner: Store, *, display: str, concurrency: int = DEFAULT_CONCURRENCY):
        super().__init__(read_only=True)
        self.inner = inner
        self.display = display
        self.concurrency = concurrency
        self.zarr_format: int | None = None
        self._reset_session_state()

    def _reset_session_state(self) -> None:
        self._documents: dict[str, bytes | None] = {}
        self._pending: dict[str, asyncio.Future] = {}
        self._consolidated_roots: set[str] = set()
        self._lazy_groups: set[str] = set()
        self._semaphore: Limit | None = None
        #: id(metadata) -> (metadata, a zarr array made from it): ``Location.array_from``
        self.arrays: dict[int, tuple[Any, Any]] = {}

    # -- pickling: the cache and loop-bound objects stay behind ------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_documents", "_pending", "_consolidated_roots", "_lazy_groups",
                     "_semaphore", "arrays"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_session_state()

    def __repr__(self) -> str:
        return f"KitStore({self.display!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KitStore) and other.inner == self.inner

    def __hash__(self) -> int:
        return hash((type(self.inner).__name__, self.display))

    def where(self, key: str = "") -> str:
        """Human-readable location of ``key`` for messages (no credentials in it)."""
        base = self.display.rstrip("/")
        return f"{base}/{key}" if key else base

    # -- consolidated metadata -------------------------------------------------------------
    def seed(self, documents: dict[str, bytes], *, root: str, lazy: Iterable[str] = ()) -> None:
        """Answer every metadata key below ``root`` from ``documents`` (consolidated metadata),
        but those of the members of the ``lazy`` groups (paths below ``root``)."""
        self._documents.update(documents)
        self._consolidated_roots.add(root)
        self._lazy_groups.update(join(root, g) for g in lazy)

    def _in_lazy_group(self, path: str) -> bool:
        return any(path == g or path.startswith(g + "/") for g in self._lazy_groups)

    def consolidated_children(self, path: str) -> list[str] | None:
        """Names of the members of ``path`` known from consolidated metadata, else None."""
        if self._in_lazy_group(path) or not self._covered_by_consolidated(join(path, "x")):
            return None
        prefix = path + "/" if path else ""
        names = set()
        for key in self._documents:
            if key.startswith(prefix) and self._documents[key] is not None:
                rest = key[len(prefix):].split("/")
                if len(rest) == 2 and rest[1] in METADATA_NAMES:
                    names.add(rest[0])
        return sorted(names)

    def _covered_by_consolidated(self, key: str) -> bool:
        folder = key.rpartition("/")[0]
        if folder and self._in_lazy_group(folder.rpartition("/")[0]):
            return False  # a member's document of a lazy group
        return any(r == "" or key.startswith(r + "/") for r in self._consolidated_roots)

    # -- reads ------------------------------------------------------------------------------
    async def get(
        self,
        key: str,
        prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        prototype = prototype or default_buffer_prototype()
        if byte_range is None and is_metadata_key(key):
            raw = await self.get_document(key)
            return None if raw is None else prototype.buffer.from_bytes(raw)
        return await on_kit_loop(self._limited_get(key, prototype, byte_range))

    async def get_document(self, key: str) -> bytes | None:
        """Bytes of a metadata document, fetched at most once per session."""
        if key in self._documents:
            return self._documents[key]
        if self._covered_by_consolidated(key):
            return None
        return await on_kit_loop(self._fetch_document(key))

    async def _fetch_document(self, key: str) -> bytes | None:
        if key in self._documents:
            return self._documents[key]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read_document(key))
            self._pending[key] = pending
            try:
                self._documents[key] = await pending
            finally:
                self._pending.pop(key, None)
            return self._documents[key]
        return await asyncio.shield(pending)

    async def _read_document(self, key: str) -> bytes | None:
        limit = jsondoc.MAX_DOCUMENT_BYTES
        # A local file is read up to one byte past the limit (HttpStore applies it while the
        # body streams in); other backends have no cheap bounded read of a whole object.
        bounded = RangeByteRequest(0, limit + 1) if isinstance(self.inner, LocalStore) else None
        buf = await self._limited_get(key, default_buffer_prototype(), bounded)
        if buf is None:
            return None
        raw = buf.to_bytes()
        if bounded is not None and len(raw) > limit:
            raise document_too_large(self.where(key), limit)
        return None if is_soft_404(raw) else raw

    async def get_json(self, key: str) -> dict | None:
        """A metadata document parsed as a JSON object; None when absent."""
        raw = await self.get_document(key)
        return None if raw is None else self.parse_json(key, raw)

    def parse_json(self, key: str, raw: bytes) -> dict:
        """The document ``raw`` of ``key`` parsed as a JSON object (a fresh one each call)."""
        try:
            doc = load_json(raw, where=self.where(key))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidMetadata(f"not valid JSON ({exc})", where=self.where(key)) from None
        if not isinstance(doc, dict):
            raise InvalidMetadata(
                f"expected a JSON object, found {type(doc).__name__}", where=self.where(key)
            )
        return doc

    async def _limited_get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None
    ) -> Buffer | None:
        limit = self._semaphore
        if limit is None:
            limit = self._semaphore = Limit(self.concurrency)
        await limit.acquire()
        try:
            return await self.inner.get(key, prototype, byte_range)
        except Exception as exc:  # noqa: BLE001 - mapped to a typed error or a missing key
            _map_error(exc, self.where(key))  # raises, unless the key is missing
            return None
        finally:
            limit.release()

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        return list(
            await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges))
        )

    async def exists(self, key: str) -> bool:
        if is_metadata_key(key):
            return await self.get_document(key) is not None
        return await self.get(key) is not None

    # -- listing: only where the backend can (refs, local); NGFF discovery never needs it ----
    @property
    def supports_listing(self) -> bool:
        return self.inner.supports_listing

    def list(self) -> AsyncIterator[str]:
        return self.inner.list()

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        return self.inner.list_prefix(prefix)

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return self.inner.list_dir(prefix)

    # -- writes are refused: the kit reads ----------------------------------------------------
    async def set(self, key: str, value: Buffer) -> None:
        raise PermissionDenied("the kit opens data read-only", where=self.where(key))

    async def delete(self, key: str) -> None:
        raise PermissionDenied("the kit opens data read-only", where=self.where(key))

    def close(self) -> None:
        self.inner.close()


class Limit:
    """At most ``n`` holders at once, first come first served (``asyncio.Semaphore``'s rule).

    Every store read passes here, so taking a free slot is a counter decrement without a
    coroutine or a context manager; a released slot goes straight to the longest waiter.
    """

    __slots__ = ("_waiters", "free")

    def __init__(self, n: int) -> None:
        self.free = n
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        # a free slot means nobody is waiting: release hands a slot to a waiter, if there is
        # one, before it counts it free
        if self.free > 0:
            self.free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


def _map_error(exc: Exception, where: str) -> None:
    """Return None for a missing key; raise the kit's typed error for anything else."""
    if isinstance(exc, KitError):
        raise exc
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, KeyError)):
        return
    text = redact(exc)[:200]
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    if status == 401 or any(s in text for s in ("SignatureDoesNotMatch", "InvalidAccessKeyId")):
        raise AuthenticationError(
            f"credentials were refused ({type(exc).__name__}); check them", where=where
        ) from None
    if status == 403 or isinstance(exc, PermissionError):
        raise PermissionDenied(
            "access denied; give credentials that may read this (auth=..., or kit.login())",
            where=where,
        ) from None
    if status == 404:
        return
    if isinstance(exc, (OSError, TimeoutError, ConnectionError)) or status:
        raise RemoteError(f"read failed: {type(exc).__name__}: {text}", where=where) from None
    raise KitError(f"read failed: {type(exc).__name__}: {text}", where=where) from None


__all__ = [
    "METADATA_NAMES", "KitStore", "document_too_large", "is_metadata_key",
    "is_soft_404", "join",
]
