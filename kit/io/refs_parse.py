"""Reference documents (kerchunk v0/v1, LINDI) parsed into keys and lazily decoded values.

The whole document is checked for shape when it is opened (JSON, ``refs`` an object, templates
strings, ``gen`` expanded); a single value is decoded only when its key is read, so one bad chunk
ref does not make the rest unreadable, and the error names that key.

Readings that differ from fsspec on purpose (see the research notes, sections 1.2 and 2):
a document with a ``refs`` object and no ``version`` is version 1 (LINDI writes it so), ``[url]``
is a whole file, a zero-length ref is an error rather than an empty chunk, and ``gen`` is expanded.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from kit.errors import InvalidMetadata, UnsupportedVersion
from kit.io.jsondoc import load_json
from kit.io.refs_gen import expand_gen, substitute_templates

__all__ = ["Inline", "Ref", "RefsDoc", "decode_value", "parse_refs"]


@dataclass(frozen=True)
class Inline:
    """A value stored in the document itself."""

    data: bytes


@dataclass(frozen=True)
class Ref:
    """Bytes ``[offset, offset + length)`` of ``url``; ``length=None`` is the whole file."""

    url: str
    offset: int = 0
    length: int | None = None


@dataclass
class RefsDoc:
    """The keys of a refs document, their raw values, and its templates."""

    refs: dict[str, Any]
    templates: dict[str, str] = field(default_factory=dict)
    version: int = 1


def _load(raw: bytes | str | dict, where: str) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        doc = load_json(raw, where=where, what="refs document")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMetadata(f"refs document is not valid JSON ({exc})", where=where) from None
    if not isinstance(doc, dict):
        raise InvalidMetadata(f"refs document must be a JSON object, not {type(doc).__name__}",
                              where=where)
    return doc


def parse_refs(raw: bytes | str | dict, *, where: str) -> RefsDoc:
    """Check a document's shape and return its keys; ``where`` names it in errors."""
    doc = _load(raw, where)
    version = doc.get("version")
    if version is None:
        version = 1 if isinstance(doc.get("refs"), dict) else 0
    if version == 0 and not isinstance(version, bool):
        plain = {k: v for k, v in doc.items() if k != "version"}
        return RefsDoc(_checked_keys(plain, where), {}, 0)
    if version != 1 or isinstance(version, bool):
        raise UnsupportedVersion(f"refs version {version!r} (versions 0 and 1 are read)",
                                 where=where)
    refs = doc.get("refs")
    if not isinstance(refs, dict):
        what = "missing" if refs is None else f"a {type(refs).__name__}"
        raise InvalidMetadata(f"'refs' must be an object (it is {what})", where=where)
    templates = doc.get("templates") or {}
    if not isinstance(templates, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in templates.items()
    ):
        raise InvalidMetadata("'templates' must map names to strings", where=where)
    refs = dict(refs)
    if doc.get("gen"):
        for key, value in expand_gen(doc["gen"], templates, where=where):
            refs.setdefault(key, value)
    return RefsDoc(_checked_keys(refs, where), dict(templates), 1)


def _checked_keys(refs: dict, where: str) -> dict[str, Any]:
    out = {}
    for key, value in refs.items():
        if not isinstance(key, str) or not key or key.startswith("/"):
            raise InvalidMetadata(f"invalid key {key!r} in refs", where=where)
        out[key] = value
    return out


def decode_value(key: str, value: Any, templates: dict[str, str], *, where: str) -> Inline | Ref:
    """The ``Inline`` data or the ``Ref`` a raw value stands for; ``where`` names key and file."""
    if isinstance(value, str):
        if value.startswith("base64:"):
            try:
                return Inline(base64.b64decode(value[7:], validate=True))
            except (binascii.Error, ValueError):
                raise InvalidMetadata("value is not valid base64", where=where) from None
        return Inline(value.encode("utf-8"))
    if isinstance(value, dict):
        return Inline(json.dumps(value).encode("utf-8"))
    if isinstance(value, list):
        return _decode_list(value, templates, where)
    raise InvalidMetadata(f"a ref must be a string, an object or a list, not "
                          f"{type(value).__name__}", where=where)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _decode_list(value: list, templates: dict[str, str], where: str) -> Ref:
    if len(value) not in (1, 3):
        raise InvalidMetadata(f"a ref list must be [url] or [url, offset, length], got "
                              f"{len(value)} element(s)", where=where)
    url = value[0]
    if not isinstance(url, str) or not url:
        raise InvalidMetadata("the url of a ref must be a non-empty string", where=where)
    url = substitute_templates(url, templates, where=where)
    if len(value) == 1:
        return Ref(url)
    offset, length = value[1], value[2]
    if not (_is_int(offset) and _is_int(length)):
        raise InvalidMetadata(f"offset and length must be integers, got {offset!r}, {length!r}",
                              where=where)
    if offset < 0 or length < 0:
        raise InvalidMetadata(f"negative offset or length ({offset}, {length})", where=where)
    if length == 0:
        raise InvalidMetadata("zero-length ref (a chunk cannot be empty)", where=where)
    return Ref(url, offset, length)
