"""Byte ranges as text, both ways: a zarr ``ByteRequest`` written out, and a ``Range`` header read.

- ``range_text`` is the one spelling of a ``ByteRequest`` (``a-b``, ``a-``, ``-n``): the kit's
  ``Range`` header (``range_header``, last byte inclusive) and the disk cache's entry names
  (end exclusive, a format existing cache folders depend on) are both made from it.
- ``parse_range`` is the servers' reading of a ``Range`` header (the demo server and the
  classroom relay): one ``bytes=`` range (``a-b``, ``a-``, suffix ``-n``) is a span to answer
  206; a range past the end (or an empty suffix) is ``UNSATISFIABLE``, answered 416 with
  ``Content-Range: bytes */size``; other units, several ranges or a malformed header are
  ignored (the whole object, 200), as RFC 9110 allows. An end past the object is clipped.

It sits in ``kit.cache``, the lowest layer that handles zarr byte requests, so ``kit.cache``,
``kit.io`` and the servers beside the layers all import this one module.
"""

from __future__ import annotations

import re

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    SuffixByteRequest,
)

__all__ = ["UNSATISFIABLE", "parse_range", "range_header", "range_text"]

UNSATISFIABLE = "unsatisfiable"
_DIGITS = re.compile(r"[0-9]+")
_HUGE = 1 << 62  # any number with more than 18 digits: past every object


def range_text(byte_range: ByteRequest, *, inclusive: bool) -> str:
    """``start-end``, ``offset-`` or ``-suffix``; ``inclusive``: end is the last byte (HTTP)."""
    if isinstance(byte_range, RangeByteRequest):
        return f"{byte_range.start}-{byte_range.end - 1 if inclusive else byte_range.end}"
    if isinstance(byte_range, OffsetByteRequest):
        return f"{byte_range.offset}-"
    if isinstance(byte_range, SuffixByteRequest):
        return f"-{byte_range.suffix}"
    raise TypeError(f"unexpected byte_range {byte_range!r}")


def range_header(byte_range: ByteRequest | None) -> str | None:
    """The ``Range`` header asking for ``byte_range`` (None: the whole object)."""
    return None if byte_range is None else "bytes=" + range_text(byte_range, inclusive=True)


def _number(digits: str) -> int:
    """ASCII digits as a number; more than 18 of them is _HUGE (int() refuses more than 4300
    digits, and nothing is gained by converting them)."""
    return int(digits) if len(digits) <= 18 else _HUGE


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """[start, end) to send, ``UNSATISFIABLE``, or None for the whole object.

    A position in digits other than ASCII 0-9 (a superscript two, Arabic-Indic digits: what
    ``str.isdigit`` accepts and ``int`` may read) is unsatisfiable, never a guess."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # other units and multi-ranges: the whole body (allowed)
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if any(part and not _DIGITS.fullmatch(part) for part in (first, last)):
        return UNSATISFIABLE
    if not first:  # suffix: the last n bytes
        n = _number(last)
        return (max(size - n, 0), size) if n > 0 and size > 0 else UNSATISFIABLE
    start = _number(first)
    if last and _number(last) < start:
        return None  # an invalid range: ignored
    if start >= size:
        return UNSATISFIABLE
    return start, min(_number(last) + 1, size) if last else size
