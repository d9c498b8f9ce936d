"""`load_json`: the one way the kit parses a JSON document it was given (metadata, refs).

``json.loads`` on hostile bytes fails in untyped ways: a document nested a few thousand levels
deep raises RecursionError (and one nested a few hundred deep parses, then breaks the first
recursive copy of it), an integer of more than 4300 digits raises a bare ValueError, and a
300 MiB document is parsed whole. Here each of these is an InvalidMetadata naming the document.

Limits (documented defaults, overridable per call or for the session by assigning the module
attributes, e.g. ``kit.io.jsondoc.MAX_DOCUMENT_BYTES = 256 * 2**20``):
- ``MAX_DOCUMENT_BYTES`` (64 MiB): larger documents are refused before parsing.
- ``MAX_DEPTH`` (100): arrays/objects nested deeper are refused. Real NGFF, zarr and refs
  documents nest about a dozen levels, consolidated metadata included.
- integers: Python reads at most ``sys.get_int_max_str_digits()`` (4300) digits; longer ones
  are refused (no metadata field needs them).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kit.errors import InvalidMetadata

MAX_DOCUMENT_BYTES = 64 * 2**20
MAX_DEPTH = 100


def load_json(raw: bytes | bytearray | str, *, where: str, what: str = "",
              max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    """Parse one JSON document, or raise InvalidMetadata naming it (``where``, ``what``).

    ``what`` starts the message ("refs document is not valid JSON"); without it the message
    is "not valid JSON ..." after ``where``. The caller checks the type of the result.
    """
    limit = MAX_DOCUMENT_BYTES if max_bytes is None else max_bytes
    depth = MAX_DEPTH if max_depth is None else max_depth
    subject = f"{what} " if what else ""
    if len(raw) > limit:
        raise InvalidMetadata(f"{subject}is {len(raw)} bytes, more than the limit of {limit} "
                              f"(kit.io.jsondoc.MAX_DOCUMENT_BYTES)", where=where)
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMetadata(f"{subject}is not valid JSON ({exc})", where=where) from None
    except ValueError:  # json's only other ValueError: int() refusing too many digits
        raise InvalidMetadata(
            f"{subject}is not readable JSON: a number has more than "
            f"{sys.get_int_max_str_digits()} digits", where=where) from None
    except RecursionError:
        raise InvalidMetadata(f"{subject}is not readable JSON: nested deeper than the limit of "
                              f"{depth} (kit.io.jsondoc.MAX_DEPTH)", where=where) from None
    if _openers(raw) > depth and _deeper_than(doc, depth):
        raise InvalidMetadata(f"{subject}is not readable JSON: nested deeper than the limit of "
                              f"{depth} (kit.io.jsondoc.MAX_DEPTH)", where=where)
    return doc


def _openers(raw: bytes | bytearray | str) -> int:
    """How many '[' and '{' the text has: a cheap bound on the depth, so small documents are
    not walked."""
    if isinstance(raw, str):
        return raw.count("[") + raw.count("{")
    return raw.count(b"[") + raw.count(b"{")


def _deeper_than(doc: Any, limit: int) -> bool:
    """True when arrays/objects nest more than ``limit`` levels (walked level by level, without
    recursion, so the walk itself cannot overflow the stack)."""
    level = [doc] if isinstance(doc, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        for value in level:
            below.extend(c for c in (value.values() if isinstance(value, dict) else value)
                         if isinstance(c, (dict, list)))
        level = below
    return False


__all__ = ["load_json", "MAX_DOCUMENT_BYTES", "MAX_DEPTH"]
