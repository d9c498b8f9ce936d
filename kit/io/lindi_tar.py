"""The index of a ``.lindi.tar``: where each member's bytes sit, read with three small reads.

Layout (LINDI ``docs/tar.md``): a plain ustar archive whose first member ``.tar_entry.json``
(data at byte 512, 1024 bytes, whitespace padded) points at ``.tar_index.json``, which lists
every member as ``{"n": name, "o": header offset, "d": data offset, "s": size}``. ``lindi.json``
inside holds the refs; its ``./blobs/...`` refs address members of the same tar. Reading the index
instead of walking the headers keeps a remote open at three ranged requests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kit.errors import InvalidMetadata
from kit.io.jsondoc import load_json

__all__ = ["ENTRY_NAME", "REFS_NAME", "TarMember", "read_tar_index"]

ENTRY_NAME = ".tar_entry.json"
REFS_NAME = "lindi.json"
_HEAD = 512 + 1024  # first header + the entry document
MAX_INDEX_SIZE = 256 * 1024 * 1024


@dataclass(frozen=True)
class TarMember:
    name: str
    data_offset: int
    size: int


Reader = Callable[[int, int], Awaitable[bytes]]


def _json(raw: bytes, what: str, where: str) -> dict:
    try:
        doc = load_json(raw.rstrip(b"\0 \t\r\n"), where=where, what=what)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMetadata(f"{what} is not valid JSON ({exc})", where=where) from None
    if not isinstance(doc, dict):
        raise InvalidMetadata(f"{what} is not a JSON object", where=where)
    return doc


def _member(entry: object, what: str, where: str) -> TarMember:
    if not isinstance(entry, dict):
        raise InvalidMetadata(f"{what}: expected an object", where=where)
    name, d, s = entry.get("n"), entry.get("d"), entry.get("s")
    if not (isinstance(name, str) and isinstance(d, int) and isinstance(s, int)) or min(d, s) < 0:
        raise InvalidMetadata(f"{what}: needs 'n' (str), 'd' and 's' (integers >= 0)", where=where)
    return TarMember(name, d, s)


async def read_tar_index(read: Reader, *, where: str) -> dict[str, TarMember]:
    """Members of a LINDI tar by name; ``read(offset, length)`` reads bytes of the archive."""
    head = await read(0, _HEAD)
    if len(head) < _HEAD or head[257:262] != b"ustar":
        raise InvalidMetadata("not a tar archive (no ustar header)", where=where)
    first = head[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
    if first != ENTRY_NAME:
        raise InvalidMetadata(f"not a LINDI tar: the first member is {first!r}, not "
                              f"{ENTRY_NAME!r}", where=where)
    entry = _json(head[512:_HEAD], ENTRY_NAME, where)
    index_member = _member(entry.get("index"), f"{ENTRY_NAME} 'index'", where)
    if index_member.size > MAX_INDEX_SIZE:
        raise InvalidMetadata(f"tar index is implausibly large ({index_member.size} bytes)",
                              where=where)
    raw = await read(index_member.data_offset, index_member.size)
    if len(raw) < index_member.size:
        raise InvalidMetadata("the tar index lies past the end of the archive", where=where)
    files = _json(raw, index_member.name, where).get("files")
    if not isinstance(files, list):
        raise InvalidMetadata(f"{index_member.name} has no 'files' list", where=where)
    members = {}
    for i, item in enumerate(files):
        m = _member(item, f"{index_member.name} files[{i}]", where)
        members[m.name] = m
    if REFS_NAME not in members:
        raise InvalidMetadata(f"the tar has no {REFS_NAME}", where=where)
    return members
