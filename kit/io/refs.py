"""A zarr-python 3 store over a reference document (kerchunk v0/v1, LINDI ``.lindi.json`` /
``.lindi.tar``), and ``open_refs``, the entry point ``kit.open`` uses for refs sources.

Keys come from the document, so the store lists (``supports_listing``) without any request;
values are inline bytes, JSON objects, or byte ranges of other files (HTTP, DANDI assets,
local files, other fsspec URLs, members of the ``.lindi.tar`` itself). Range reads of one file
that arrive together are merged (see ``refs_fetch.Coalescer``).

Trust: a refs document names hosts and paths its author chose. So

- a remote document may not read local files (``file://`` or bare paths) unless the caller
  says so: ``kit.open(url, storage_options={"allow_local": True})`` or ``allow_local=True``;
- the credential for the document (``auth=``, or what the chain finds for its origin) is sent
  to the document's origin only; other HTTP hosts get only what the user registered for exactly
  them (``kit.credentials``); DANDI API URLs get the DANDI token of their instance, and the
  presigned S3 URLs they redirect to get nothing;
- other fsspec protocols named by a remote document are limited to object stores, read with
  exactly ``storage_options["remote_options"]`` (anonymous S3 when none are given).
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype

from kit.auth import Credential, DandiToken, Scope, origin_of, redact, resolve
from kit.errors import InvalidMetadata, KitError, NotFound, PermissionDenied
from kit.io.dandi import DandiAccess
from kit.io.kitstore import KitStore, is_metadata_key
from kit.io.lindi_tar import REFS_NAME, TarMember, read_tar_index
from kit.io.location import Location
from kit.io.loop import gather_on_kit_loop, on_kit_loop, run_sync
from kit.io.refs_fetch import (
    Coalescer,
    Source,
    fsspec_read,
    http_read,
    local_path,
    local_read,
)
from kit.io.refs_parse import Inline, Ref, RefsDoc, decode_value, parse_refs
from kit.io.stats import RequestStats

__all__ = ["RefsContext", "RefsStore", "aopen_refs", "open_refs"]

#: fsspec protocols a remote document may name without ``allow_local`` (no local reach).
OBJECT_STORE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
_LOCAL_SCHEMES = frozenset({"", "file", "local"})


def _shown(url: str) -> str:
    """The one form of a URL this module puts in a message."""
    return redact(url)


@dataclass(frozen=True, repr=False)
class RefsContext:
    """Where a document came from, and so what its refs may reach and with which credential."""

    name: str  # for messages (redacted URL, path, or "<refs dict>")
    base: str | None = None  # URL or folder that "./" refs resolve against
    doc_credential: Credential | None = None  # sent to the document's origin only
    allow_local: bool = True
    remote_options: dict | None = None
    tar: str | None = None  # the .lindi.tar (URL or path) whose members "./" refs name
    members: dict[str, TarMember] | None = None
    dandi: DandiAccess | None = None

    def __repr__(self) -> str:  # options may hold secrets: show only the name
        return f"RefsContext({self.name!r}, allow_local={self.allow_local})"

    @property
    def doc_origin(self) -> Any:
        src = self.tar or self.base
        if src and urlsplit(src).scheme in ("http", "https"):
            return origin_of(src)
        return None


@dataclass(frozen=True)
class _Target:
    kind: str  # "http", "dandi", "local", "fsspec"
    url: str
    offset: int
    length: int | None


class RefsStore(Store):
    """Read-only zarr store whose keys and values come from a refs document."""

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = True

    def __init__(self, doc: RefsDoc, context: RefsContext) -> None:
        super().__init__(read_only=True)
        self._doc = doc
        self._ctx = context
        self._dandi = context.dandi or DandiAccess()
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._coalescer = Coalescer(self._fetch_range)
        self._pad_sizes: dict[str, int] | None = None
        self.stats = RequestStats()  # HTTP requests of this store (counters stay in a process)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_coalescer", "_pad_sizes", "stats"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RefsStore) and other._doc.refs is self._doc.refs

    def __hash__(self) -> int:
        return id(self._doc.refs)

    def __repr__(self) -> str:
        return f"RefsStore({self._ctx.name!r}, {len(self._doc.refs)} keys)"

    @property
    def requests(self) -> int:
        """HTTP requests sent so far for this store's refs (``stats.requests``)."""
        return self.stats.requests

    def _where(self, key: str) -> str:
        return f"{self._ctx.name}, key {key!r}"

    # -- reading ----------------------------------------------------------------------------
    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        return await on_kit_loop(self._get(key, prototype, byte_range))

    async def _get(self, key: str, prototype: BufferPrototype,
                   byte_range: ByteRequest | None) -> Buffer | None:
        data = await self._value(key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def _value(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        if key not in self._doc.refs:
            return None
        where = self._where(key)
        value = decode_value(key, self._doc.refs[key], self._doc.templates, where=where)
        if isinstance(value, Inline):
            return _slice(value.data, byte_range)
        target = self._target(value, where)
        if target.length is None:  # a whole file: no range to merge with others
            data = _slice(await self._fetch(target, where), byte_range)
        else:
            offset, length = _sub_range(target.offset, target.length, byte_range)
            if length == 0:
                return b""
            data = await self._checked(self._coalescer.read(
                Source(target.kind, target.url), offset, length, where=where), where)
        if byte_range is None:
            data = await self._pad(key, data)
        return data

    async def get_partial_values(
        self, prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        return await gather_on_kit_loop(self._get, prototype, key_ranges)

    async def exists(self, key: str) -> bool:
        return key in self._doc.refs

    # -- where a ref's bytes are ---------------------------------------------------------------
    def _target(self, ref: Ref, where: str) -> _Target:
        url, ctx = ref.url, self._ctx
        if url.startswith(("./", "../")) and ctx.members is not None:
            return self._tar_target(ref, where)
        if url.startswith(("./", "../")) and ctx.base is not None:
            url = self._relative(url)
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        if "::" in url:
            scheme = "chained"
        if scheme in ("http", "https"):
            kind = "dandi" if self._dandi.api_base(url) else "http"
            return _Target(kind, url, ref.offset, ref.length)
        if scheme in _LOCAL_SCHEMES or (len(scheme) == 1 and os.name == "nt"):
            if not ctx.allow_local:
                raise PermissionDenied(
                    f"this refs document is remote and points at a local file ({url}); "
                    "allow it with kit.open(..., storage_options={'allow_local': True}) "
                    "if you trust it", where=where)
            return _Target("local", url, ref.offset, ref.length)
        if not ctx.allow_local and scheme not in OBJECT_STORE_PROTOCOLS:
            raise PermissionDenied(
                f"this refs document is remote and names a {scheme}:// URL, which can reach "
                "local resources; allow it with storage_options={'allow_local': True}",
                where=where)
        return _Target("fsspec", url, ref.offset, ref.length)

    def _relative(self, url: str) -> str:
        base = self._ctx.base or ""
        if urlsplit(base).scheme in ("http", "https"):
            return urljoin(base if base.endswith("/") else base + "/", url)
        return os.path.normpath(os.path.join(base, url))

    def _tar_target(self, ref: Ref, where: str) -> _Target:
        ctx = self._ctx
        name = posixpath.normpath(ref.url)
        member = (ctx.members or {}).get(name)
        if member is None:
            raise NotFound(f"the ref names {ref.url!r}, which is not in the tar", where=where)
        if ref.length is None:
            offset, length = 0, member.size
        else:
            offset, length = ref.offset, ref.length
        if offset + length > member.size:
            raise InvalidMetadata(
                f"ref [{ref.url!r}, {offset}, {length}] reaches past the end of its tar member "
                f"({member.size} bytes)", where=where)
        assert ctx.tar is not None
        tar = ctx.tar
        kind = "http" if urlsplit(tar).scheme in ("http", "https") else "local"
        if kind == "http" and self._dandi.api_base(tar):
            kind = "dandi"
        return _Target(kind, tar, member.data_offset + offset, length)

    async def _fetch_range(self, source: Source, offset: int, length: int) -> bytes | None:
        return await self._read(_Target(source.kind, source.url, offset, length))

    async def _fetch(self, target: _Target, where: str) -> bytes:
        data = await self._checked(self._read(target), where)
        if data is None:
            raise NotFound(f"the file this ref points at does not exist "
                           f"({_shown(target.url)})", where=where)
        return data

    async def _read(self, t: _Target) -> bytes | None:
        if t.kind == "dandi":
            return await self._dandi.read(t.url, t.offset, t.length, stats=self.stats)
        if t.kind == "http":
            return await http_read(t.url, t.offset, t.length, self._http_credential(t.url),
                                   stats=self.stats)
        if t.kind == "local":
            return await local_read(t.url, t.offset, t.length)
        options = self._ctx.remote_options
        if options is None:
            scheme = urlsplit(t.url).scheme.lower()
            options = {"anon": True} if scheme in ("s3", "s3a") else {}
        return await fsspec_read(t.url, t.offset, t.length, options)

    def _http_credential(self, url: str) -> Credential | None:
        """The refs-target rule of ``kit.auth.resolve``: the document's credential on its own
        origin; elsewhere only userinfo in ``url`` or an exact registration (no DANDI key)."""
        return resolve(url, explicit=self._ctx.doc_credential, scope=Scope.REFS_TARGET,
                       document=self._ctx.doc_origin)

    async def _checked(self, aw: Any, where: str) -> Any:
        """Await ``aw``; a KitError naming only a URL gets the key and the refs file added."""
        try:
            return await aw
        except KitError as exc:
            if exc.where and exc.where.startswith(self._ctx.name + ", key"):
                raise
            raise type(exc)(f"{exc.message} (reading {where})", where=exc.where) from None

    # -- LINDI: zero-pad a short final chunk of an uncompressed, unfiltered array -------------
    async def _pad(self, key: str, data: bytes) -> bytes:
        if is_metadata_key(key):
            return data
        if self._pad_sizes is None:
            self._pad_sizes = self._chunk_sizes()
        path = key
        while path:
            path = path.rsplit("/", 1)[0] if "/" in path else ""
            if path in self._pad_sizes:
                size = self._pad_sizes[path]
                return data + bytes(size - len(data)) if len(data) < size else data
        return data

    def _chunk_sizes(self) -> dict[str, int]:
        """Array path -> bytes of a full chunk, for arrays whose chunks are raw bytes."""
        sizes: dict[str, int | None] = {}
        for key, raw in self._doc.refs.items():
            name = key.rsplit("/", 1)[-1]
            if name not in (".zarray", "zarr.json") or not isinstance(raw, (dict, str)):
                continue
            path = key[: -len(name)].rstrip("/")
            try:
                meta = raw if isinstance(raw, dict) else json.loads(raw)
                sizes[path] = _raw_chunk_size(meta)
            except (ValueError, TypeError, KeyError, RecursionError):
                continue
        return {p: s for p, s in sizes.items() if s is not None}

    # -- listing: the document's keys -----------------------------------------------------------
    async def list(self) -> AsyncIterator[str]:
        for key in list(self._doc.refs):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for key in list(self._doc.refs):
            if key.startswith(prefix):
                yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.rstrip("/")
        start = prefix + "/" if prefix else ""
        seen = set()
        for key in list(self._doc.refs):
            if key.startswith(start) and key != prefix:
                name = key[len(start):].split("/", 1)[0]
                if name not in seen:
                    seen.add(name)
                    yield name

    # -- writes are refused ----------------------------------------------------------------------
    async def set(self, key: str, value: Buffer) -> None:
        raise PermissionDenied("refs stores are read-only", where=self._where(key))

    async def delete(self, key: str) -> None:
        raise PermissionDenied("refs stores are read-only", where=self._where(key))


def _raw_chunk_size(meta: dict) -> int | None:
    """Full chunk size in bytes when chunks are stored raw (no compressor, no filters)."""
    if meta.get("zarr_format") == 3 or "node_type" in meta:
        if meta.get("node_type") != "array":
            return None
        codecs = meta.get("codecs") or []
        if len(codecs) != 1 or (codecs[0] or {}).get("name") != "bytes":
            return None
        dtype = np.dtype(str(meta["data_type"]))
        chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
    else:
        if meta.get("compressor") is not None or meta.get("filters"):
            return None
        dtype = np.dtype(meta["dtype"])
        chunks = meta["chunks"]
    if dtype.kind not in "iuf":
        return None
    return int(math.prod(chunks)) * dtype.itemsize


def _slice(data: bytes, byte_range: ByteRequest | None) -> bytes:
    if byte_range is None:
        return data
    if isinstance(byte_range, RangeByteRequest):
        return data[byte_range.start:byte_range.end]
    if isinstance(byte_range, OffsetByteRequest):
        return data[byte_range.offset:]
    if isinstance(byte_range, SuffixByteRequest):
        return data[-byte_range.suffix:] if byte_range.suffix else b""
    raise TypeError(f"unexpected byte_range {byte_range!r}")


def _sub_range(offset: int, length: int, byte_range: ByteRequest | None) -> tuple[int, int]:
    """Absolute (offset, length) of ``byte_range`` within a ref of ``length`` bytes."""
    if byte_range is None:
        return offset, length
    if isinstance(byte_range, RangeByteRequest):
        start, end = min(byte_range.start, length), min(byte_range.end, length)
    elif isinstance(byte_range, OffsetByteRequest):
        start, end = min(byte_range.offset, length), length
    elif isinstance(byte_range, SuffixByteRequest):
        start, end = max(length - byte_range.suffix, 0), length
    else:
        raise TypeError(f"unexpected byte_range {byte_range!r}")
    return offset + start, max(end - start, 0)


# --- opening ---------------------------------------------------------------------------------


def open_refs(source: Any, *, auth: Credential | None = None,
              storage_options: dict | None = None,
              allow_local: bool | None = None) -> Location:
    """The root ``Location`` of a refs document: a dict, a path, or a URL.

    ``storage_options`` keys understood here: ``allow_local`` (let a remote document read local
    files), ``remote_options`` (fsspec options for s3:// and other non-HTTP targets),
    ``dandi_instances`` (more DANDI API base URLs); the rest are fsspec options for fetching a
    document given as a non-HTTP URL. ``auth`` binds to the document's origin; a ``DandiToken``
    goes to the DANDI API URLs of its instance instead.
    """
    return run_sync(aopen_refs(source, auth=auth, storage_options=storage_options,
                               allow_local=allow_local))


async def aopen_refs(source: Any, *, auth: Credential | None = None,
                     storage_options: dict | None = None,
                     allow_local: bool | None = None) -> Location:
    """``open_refs`` for async callers."""
    options = dict(storage_options or {})
    opt_allow = options.pop("allow_local", None)
    if allow_local is None and opt_allow is not None:
        allow_local = bool(opt_allow)
    remote_options = options.pop("remote_options", None)
    tokens = [auth] if isinstance(auth, DandiToken) else []
    dandi = DandiAccess(tokens, options.pop("dandi_instances", ()) or ())
    doc_auth = None if isinstance(auth, DandiToken) else auth

    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, dict):
        _no_origin_for(doc_auth, "a refs dict")
        ctx = RefsContext("<refs dict>", base=os.getcwd(), allow_local=_default(allow_local, True),
                          remote_options=remote_options, dandi=dandi)
        return _location(parse_refs(source, where=ctx.name), ctx)
    if not isinstance(source, str):
        raise KitError("a refs source must be a dict, a path or a URL, not "
                       f"{type(source).__name__}")
    scheme = urlsplit(source).scheme.lower() if "://" in source else ""
    if scheme in ("http", "https"):
        credential = None
        if not dandi.api_base(source):
            credential = resolve(source, explicit=doc_auth, scope=Scope.REFS_DOCUMENT)
        ctx = RefsContext(_shown(source), base=urljoin(source, "."),
                          doc_credential=credential, allow_local=_default(allow_local, False),
                          remote_options=remote_options, dandi=dandi)
        return await _open_remote(source, ctx)
    if scheme in ("", "file"):
        _no_origin_for(doc_auth, "a local refs file")
        path = Path(local_path(source)).resolve()
        ctx = RefsContext(str(path), base=str(path.parent), allow_local=_default(allow_local, True),
                          remote_options=remote_options, dandi=dandi)
        if not path.is_file():
            raise NotFound("no such refs file", where=str(path))
        if path.name.endswith(".tar"):
            return await _open_tar(str(path), ctx)
        document = await local_read(str(path), 0, None) or b""
        return _location(parse_refs(document, where=ctx.name), ctx)
    _no_origin_for(doc_auth, f"a {scheme}:// refs document")
    ctx = RefsContext(_shown(source), base=None, allow_local=_default(allow_local, False),
                      remote_options=remote_options, dandi=dandi)
    raw = await fsspec_read(source, 0, None, options)
    if raw is None:
        raise NotFound("no such refs document", where=ctx.name)
    return _location(parse_refs(raw, where=ctx.name), ctx)


def _default(value: bool | None, default: bool) -> bool:
    return default if value is None else bool(value)


def _no_origin_for(auth: Credential | None, what: str) -> None:
    if auth is not None:
        raise KitError(
            f"auth= is bound to the refs document's origin, and {what} has none; to send a "
            "credential to a data host the refs name, register it for that host: "
            "kit.credentials.register(url, credential)")


async def _open_remote(url: str, ctx: RefsContext) -> Location:
    if urlsplit(url).path.endswith(".tar"):
        return await _open_tar(url, ctx)
    store = RefsStore(RefsDoc({}), ctx)
    target = store._target(Ref(url), ctx.name)
    raw = await store._read(target)
    if raw is None:
        raise NotFound("no such refs document (HTTP 404)", where=ctx.name)
    return _location(parse_refs(raw, where=ctx.name), ctx)


async def _open_tar(tar: str, ctx: RefsContext) -> Location:
    """A ``.lindi.tar``: its index (three small reads), then the refs in its ``lindi.json``."""
    ctx = RefsContext(ctx.name, ctx.base, ctx.doc_credential, ctx.allow_local,
                      ctx.remote_options, tar=tar, members={}, dandi=ctx.dandi)
    probe = RefsStore(RefsDoc({}), ctx)
    kind = "local"
    if urlsplit(tar).scheme in ("http", "https"):
        kind = "dandi" if probe._dandi.api_base(tar) else "http"

    async def read(offset: int, length: int) -> bytes:
        data = await probe._read(_Target(kind, tar, offset, length))
        if data is None:
            raise NotFound("no such .lindi.tar", where=ctx.name)
        return data

    members = await read_tar_index(read, where=ctx.name)
    refs_member = members[REFS_NAME]
    raw = await read(refs_member.data_offset, refs_member.size)
    ctx = RefsContext(ctx.name, ctx.base, ctx.doc_credential, ctx.allow_local,
                      ctx.remote_options, tar=tar, members=members, dandi=ctx.dandi)
    return _location(parse_refs(raw.rstrip(b"\0 \t\r\n"), where=f"{ctx.name}/{REFS_NAME}"), ctx)


def _location(doc: RefsDoc, ctx: RefsContext) -> Location:
    return Location(KitStore(RefsStore(doc, ctx), display=ctx.name))
