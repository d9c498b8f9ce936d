"""A read-only zarr store over one zip file: RFC-9 zipped OME-Zarr (``.ozx``).

The zip is one object in another store (a local folder, an ``HttpStore``), read only through
byte ranges of that object, so the credentials and origin rules are the outer store's:

- the central directory comes from ONE suffix request (the last 64 KiB, which also holds the
  end records and the archive comment); a directory larger than that costs one more range;
- each member read is one range request (its local header and its data); a stored member is
  handed back as is, a deflated one is inflated; CRCs are checked on whole-member reads;
- a key that is not in the directory is missing without any request.

RFC-9 rules honoured: the zip root is the OME-Zarr root (its ``zarr.json`` at the top), zip64
is read, multi-part zips are refused, and the archive comment ``{"ome": {"version": ...}}``
(null-terminated JSON) is exposed as ``comment``. A truncated or corrupt zip is an
``InvalidData`` naming the file.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import struct
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from kit.errors import InvalidData, InvalidMetadata, KitError, NotFound
from kit.io.loop import gather_on_kit_loop, on_kit_loop

__all__ = ["ZIP_SUFFIXES", "ZipStore", "is_zip_name"]

#: Names opened as zipped OME-Zarr (``.ozx`` is RFC-9's; ``.zip`` is the prior practice).
ZIP_SUFFIXES = (".ozx", ".zip")
TAIL = 64 * 1024  # the suffix read first: end records, comment, and most directories
WHOLE_MEMBER = 1 << 20  # a stored member up to this size is read whole for a byte range
RECENT_BYTES = 16 << 20  # at most this much of such members is kept
LOCAL_SLACK = 256  # extra bytes read past a local header in case its extra field is longer

_EOCD, _EOCD64, _LOCATOR = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_CENTRAL, _LOCAL = b"PK\x01\x02", b"PK\x03\x04"
_EOCD_FMT, _LOCATOR_FMT, _EOCD64_FMT = "<4s4H2IH", "<4sIQI", "<4sQ2H2I4Q"
_CENTRAL_FMT, _LOCAL_FMT = "<4s6H3I5H2I", "<4s5H3I2H"
_EOCD_SIZE, _LOCATOR_SIZE, _EOCD64_SIZE = 22, 20, 56
_CENTRAL_SIZE, _LOCAL_SIZE = 46, 30
_STORED, _DEFLATED = 0, 8
_METHODS = {0: "stored", 8: "deflated", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd"}
_ROOT_DOCS = ("zarr.json", ".zgroup", ".zattrs", ".zarray")


def is_zip_name(path: str) -> bool:
    """Whether a path or URL path names a zipped OME-Zarr (by its suffix, as RFC-9 says)."""
    return path.lower().endswith(ZIP_SUFFIXES)


@dataclass(frozen=True)
class Member:
    """One file of the zip, from its central directory record."""

    name: str
    method: int
    flags: int
    crc: int
    compressed: int
    size: int
    header: int  # offset of the local header
    name_length: int
    extra_length: int  # of the central record (the local one may differ)
    end: int  # where the next member (or the central directory) starts: reads stop there


@dataclass(frozen=True)
class Directory:
    members: dict[str, Member]
    comment: dict | None  # the RFC-9 archive comment, parsed; None when absent or not JSON
    size: int  # of the whole zip file


class ZipStore(Store):
    """Read-only zarr store over the zip file ``key`` of ``store`` (keys are member names).

    ``display`` names the zip in messages (no credentials in it). The directory is read on
    first use and kept; it pickles with the store, so dask workers need not read it again.
    """

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = True

    def __init__(self, store: Store, key: str, *, display: str) -> None:
        super().__init__(read_only=True)
        self._store, self._key, self.display = store, key, display
        self._directory: Directory | None = None
        self._loading: asyncio.Future[Directory] | None = None
        self._data_offsets: dict[str, int] = {}  # members whose local header was read
        self._recent: dict[str, bytes] = {}  # members read whole for a range, oldest first
        self.tail_size = TAIL

    # -- identity, pickling

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ZipStore) and other._store == self._store
                and other._key == self._key)

    def __hash__(self) -> int:
        return hash((self._key, self.display))

    def __repr__(self) -> str:
        return f"ZipStore({self.display!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_loading"] = None  # bound to a loop
        state["_recent"] = {}
        state["_is_open"] = False
        return state

    def with_read_only(self, read_only: bool = False) -> ZipStore:
        if not read_only:
            raise KitError("a zipped OME-Zarr opens read-only", where=self.display)
        return self

    @property
    def comment(self) -> dict | None:
        """The archive comment (``{"ome": {"version": ...}}``) once the directory was read."""
        return self._directory.comment if self._directory else None

    # -- the directory

    async def directory(self) -> Directory:
        """The zip's central directory, read once (one suffix request, rarely one more)."""
        if self._directory is not None:
            return self._directory
        return await on_kit_loop(self._load_once())

    async def _load_once(self) -> Directory:
        if self._directory is not None:
            return self._directory
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._read_directory())
        loading = self._loading
        try:
            self._directory = await asyncio.shield(loading)
        except BaseException:
            if self._loading is loading and loading.done():
                self._loading = None  # a later call tries again (a network error may pass)
            raise
        return self._directory

    async def _read_directory(self) -> Directory:
        tail = await self._read(SuffixByteRequest(self.tail_size))
        if not tail:
            raise InvalidData("not a zip file: it is empty", where=self.display)
        whole = len(tail) < self.tail_size
        end = _end_records(tail, whole, self.display)
        cd_offset, cd_size, count, base, comment = end
        if cd_offset >= base:
            central = tail[cd_offset - base : cd_offset - base + cd_size]
        else:  # a directory larger than the tail: one more range
            central = await self._read(RangeByteRequest(cd_offset, cd_offset + cd_size))
        if len(central) != cd_size:
            raise InvalidData("truncated zip: the central directory ends early",
                              where=self.display)
        members = _central_directory(central, count, cd_offset, self.display)
        if not any(doc in members for doc in _ROOT_DOCS):
            raise InvalidMetadata(_no_root_message(members), where=self.display)
        return Directory(members, _parse_comment(comment), base + len(tail))

    # -- reading

    async def _read(self, byte_range: ByteRequest) -> bytes:
        buf = await self._store.get(self._key, default_buffer_prototype(), byte_range)
        if buf is None:
            raise NotFound("the zip file is missing", where=self.display)
        return buf.to_bytes()

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await on_kit_loop(self._get(key, prototype, byte_range))

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        return await gather_on_kit_loop(self._get, prototype, key_ranges)

    async def _get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None
    ) -> Buffer | None:
        member = (await self._load_once()).members.get(key)
        if member is None:
            return None
        where = f"{self.display}/{key}"
        if member.flags & 1:
            raise InvalidData("the zip member is encrypted; the kit reads unencrypted zips",
                              where=where)
        if member.method not in (_STORED, _DEFLATED):
            name = _METHODS.get(member.method, f"method {member.method}")
            raise InvalidData(f"the zip member is compressed with {name}; RFC-9 zips store "
                              "members (or deflate them)", where=where)
        span = _span(byte_range, member.size)
        if byte_range is None:
            data = await self._whole(member, where)
        elif key in self._recent:  # the rest of a small member read whole a moment ago
            data = self._recent[key][span[0] : span[1]]
        elif member.method == _STORED and (key in self._data_offsets
                                           or member.size > WHOLE_MEMBER):
            data = await self._stored_range(member, span, where)
        else:  # a part of a small or deflated member: read it whole, keep it for the next part
            whole = await self._whole(member, where)
            self._remember(key, whole)
            data = whole[span[0] : span[1]]
        return prototype.buffer.from_bytes(data)

    def _remember(self, key: str, data: bytes) -> None:
        """Keep the last members read whole for a byte range (a shard: index, then chunks)."""
        self._recent[key] = data
        while sum(map(len, self._recent.values())) > RECENT_BYTES and len(self._recent) > 1:
            self._recent.pop(next(iter(self._recent)))

    async def _whole(self, m: Member, where: str) -> bytes:
        """A member's bytes: one range request for its local header and data."""
        guess = m.header + _LOCAL_SIZE + m.name_length + m.extra_length + m.compressed
        raw = await self._read(RangeByteRequest(m.header, min(guess + LOCAL_SLACK, m.end)))
        start = self._local_header(m, raw, where) - m.header
        if start + m.compressed > len(raw):  # a local extra field longer than the slack
            raw += await self._read(RangeByteRequest(m.header + len(raw),
                                                     m.header + start + m.compressed))
        payload = raw[start : start + m.compressed]
        if len(payload) != m.compressed:
            raise InvalidData(f"truncated zip: the member has {len(payload)} of its "
                              f"{m.compressed} bytes", where=where)
        data = payload if m.method == _STORED else _inflate(payload, where)
        if len(data) != m.size or zlib.crc32(data) != m.crc:
            raise InvalidData("corrupt zip member: its size or CRC does not match the "
                              "central directory", where=where)
        return data

    async def _stored_range(self, m: Member, span: tuple[int, int], where: str) -> bytes:
        """Part of a stored member: its local header once (then known), then the range."""
        start = self._data_offsets.get(m.name)
        if start is None:
            probe_end = m.header + _LOCAL_SIZE + m.name_length + m.extra_length + LOCAL_SLACK
            raw = await self._read(RangeByteRequest(m.header, min(probe_end, m.end)))
            start = self._local_header(m, raw, where)
        if span[1] <= span[0]:
            return b""
        data = await self._read(RangeByteRequest(start + span[0], start + span[1]))
        if len(data) != span[1] - span[0]:
            raise InvalidData("truncated zip: a member's range ends early", where=where)
        return data

    def _local_header(self, m: Member, raw: bytes, where: str) -> int:
        """The absolute offset of a member's data, from its local header (kept for later)."""
        if len(raw) < _LOCAL_SIZE or raw[:4] != _LOCAL:
            raise InvalidData("corrupt zip: no local file header where the central directory "
                              "puts the member", where=where)
        *_, name_length, extra_length = struct.unpack_from(_LOCAL_FMT, raw)
        start = m.header + _LOCAL_SIZE + name_length + extra_length
        if start + m.compressed > m.end:
            raise InvalidData("corrupt zip: the member overlaps the next one", where=where)
        self._data_offsets[m.name] = start
        return start

    async def exists(self, key: str) -> bool:
        return key in (await self.directory()).members

    async def getsize(self, key: str) -> int:
        member = (await self.directory()).members.get(key)
        if member is None:
            raise FileNotFoundError(key)
        return member.size

    # -- listing: the directory has every name

    async def list(self) -> AsyncIterator[str]:
        for name in (await self.directory()).members:
            yield name

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for name in (await self.directory()).members:
            if name.startswith(prefix):
                yield name

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        seen: set[str] = set()
        for name in (await self.directory()).members:
            if name.startswith(prefix):
                child = name[len(prefix):].split("/", 1)[0]
                if child and child not in seen:
                    seen.add(child)
                    yield child

    # -- writing is refused

    async def set(self, key: str, value: Buffer) -> None:
        raise KitError("a zipped OME-Zarr opens read-only", where=self.display)

    async def delete(self, key: str) -> None:
        raise KitError("a zipped OME-Zarr opens read-only", where=self.display)


# --- parsing (pure functions of bytes) --------------------------------------------------------


def _end_records(tail: bytes, whole: bool, where: str) -> tuple[int, int, int, int, bytes]:
    """(directory offset, directory size, entry count, file offset of ``tail``, comment)."""
    pos = _find_eocd(tail, where)
    _, disk, cd_disk, _, count, cd_size, cd_offset, comment_length = struct.unpack_from(
        _EOCD_FMT, tail, pos)
    comment = tail[pos + _EOCD_SIZE : pos + _EOCD_SIZE + comment_length]
    locator = pos - _LOCATOR_SIZE
    if locator >= 0 and tail[locator : locator + 4] == _LOCATOR:
        _, _, eocd64_offset, disks = struct.unpack_from(_LOCATOR_FMT, tail, locator)
        record = locator - _EOCD64_SIZE
        if disks > 1:
            raise InvalidData("the zip is split into parts (RFC-9: a single file)", where=where)
        if record < 0 or tail[record : record + 4] != _EOCD64:
            raise InvalidData("corrupt zip: the zip64 end record is not where its locator "
                              "says", where=where)
        (_, _, _, _, disk, cd_disk, _, count, cd_size, cd_offset) = struct.unpack_from(
            _EOCD64_FMT, tail, record)
        base = eocd64_offset - record
    else:
        base = cd_offset + cd_size - pos
    if disk or cd_disk:
        raise InvalidData("the zip is split into parts (RFC-9: a single file)", where=where)
    if base < 0 or (whole and base != 0) or cd_offset + cd_size > base + pos:
        raise InvalidData("truncated or corrupt zip: the central directory's offsets do not "
                          "fit the file's size", where=where)
    return cd_offset, cd_size, count, base, comment


def _find_eocd(tail: bytes, where: str) -> int:
    """The end-of-central-directory record: the last one whose comment reaches the end."""
    pos = len(tail) - _EOCD_SIZE
    while pos >= 0:
        pos = tail.rfind(_EOCD, 0, pos + 4)
        if pos < 0:
            break
        (comment_length,) = struct.unpack_from("<H", tail, pos + 20)
        if pos + _EOCD_SIZE + comment_length == len(tail):
            return pos
        pos -= 1
    raise InvalidData("not a zip file, or a truncated one: no end of central directory "
                      "record in its last bytes", where=where)


def _central_directory(data: bytes, count: int, cd_offset: int, where: str) -> dict[str, Member]:
    records: list[tuple[str, int, int, int, int, int, int, int, int]] = []  # Member's but end
    pos = 0
    for _ in range(count):
        if data[pos : pos + 4] != _CENTRAL or pos + _CENTRAL_SIZE > len(data):
            raise InvalidData("corrupt zip: the central directory has fewer records than its "
                              "end record counts", where=where)
        (_, _, _, flags, method, _, _, crc, csize, usize, name_length, extra_length,
         comment_length, _, _, _, header) = struct.unpack_from(_CENTRAL_FMT, data, pos)
        body = pos + _CENTRAL_SIZE
        if body + name_length + extra_length + comment_length > len(data):
            raise InvalidData("corrupt zip: a central directory record runs past its end",
                              where=where)
        raw_name = data[body : body + name_length]
        extra = data[body + name_length : body + name_length + extra_length]
        usize, csize, header = _zip64_sizes(extra, usize, csize, header, where)
        if header >= cd_offset:
            raise InvalidData(f"corrupt zip: member {raw_name!r} starts past the central "
                              "directory", where=where)
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        records.append((name.lstrip("/"), method, flags, crc, csize, usize, header,
                        name_length, extra_length))
        pos = body + name_length + extra_length + comment_length
    starts = sorted({r[6] for r in records} | {cd_offset})
    members: dict[str, Member] = {}
    for r in records:
        if r[0] and not r[0].endswith("/"):  # folders are implied by their members
            end = starts[bisect.bisect_right(starts, r[6])]
            members[r[0]] = Member(*r, end)
    return members


def _zip64_sizes(extra: bytes, usize: int, csize: int, header: int,
                 where: str) -> tuple[int, int, int]:
    """Sizes and offset with the zip64 extra field's values where the record has 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, pos)
        if pos + 4 + size > len(extra):
            raise InvalidData("corrupt zip: an extra field runs past its record", where=where)
        if tag == 1:
            values = iter(struct.unpack_from(f"<{size // 8}Q", extra, pos + 4))
            try:
                usize = next(values) if usize == 0xFFFFFFFF else usize
                csize = next(values) if csize == 0xFFFFFFFF else csize
                header = next(values) if header == 0xFFFFFFFF else header
            except StopIteration:
                raise InvalidData("corrupt zip: a zip64 extra field is too short",
                                  where=where) from None
            break
        pos += 4 + size
    return usize, csize, header


def _parse_comment(comment: bytes) -> dict | None:
    """RFC-9's null-terminated JSON archive comment; None for any other comment."""
    try:
        doc = json.loads(comment.split(b"\0", 1)[0].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _inflate(payload: bytes, where: str) -> bytes:
    try:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        return inflater.decompress(payload) + inflater.flush()
    except zlib.error as exc:
        raise InvalidData(f"corrupt zip member: cannot inflate it ({exc})", where=where) from None


def _span(byte_range: ByteRequest | None, size: int) -> tuple[int, int]:
    """[start, end) of a member of ``size`` bytes that a zarr byte request asks for."""
    if byte_range is None:
        return 0, size
    if isinstance(byte_range, RangeByteRequest):
        return min(byte_range.start, size), min(max(byte_range.end, byte_range.start), size)
    if isinstance(byte_range, OffsetByteRequest):
        return min(byte_range.offset, size), size
    if isinstance(byte_range, SuffixByteRequest):
        return max(size - byte_range.suffix, 0), size
    raise TypeError(f"unexpected byte_range {byte_range!r}")


def _no_root_message(members: dict[str, Member]) -> str:
    message = ("no zarr.json at the root of the zip (RFC-9: the zip's root is the OME-Zarr "
               "root)")
    nested = sorted((n for n in members if n.endswith("/zarr.json")), key=lambda n: n.count("/"))
    if nested:
        top = nested[0].rsplit("/", 1)[0]
        message += (f"; it holds {top!r}: zip that folder's contents, not the folder "
                    "itself")
    return message
