"""The ``Range`` header of a student's request, read against the object's size.

One range of bytes (``a-b``, ``a-``, suffix ``-n``) is answered 206; a range past the end (or
an empty suffix) is unsatisfiable, answered 416 with ``Content-Range: bytes */size``; other
units, several ranges or a malformed header are ignored (the whole object, 200), as RFC 9110
allows. An end past the object is clipped to it.
"""

from __future__ import annotations

import re

UNSATISFIABLE = "unsatisfiable"
_DIGITS = re.compile(r"[0-9]+")
_HUGE = 1 << 62  # any number with more than 18 digits: past every object


def _number(text: str) -> int:
    return int(text) if len(text) <= 18 else _HUGE


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """[start, end) to send, ``UNSATISFIABLE``, or None for the whole object."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first or last):
        return None
    if any(part and not _DIGITS.fullmatch(part) for part in (first, last)):
        return None
    if not first:  # the last n bytes
        n = _number(last)
        return (max(size - n, 0), size) if n > 0 and size > 0 else UNSATISFIABLE
    start = _number(first)
    if last and _number(last) < start:
        return None  # invalid: ignored
    if start >= size:
        return UNSATISFIABLE
    end = min(_number(last) + 1, size) if last else size
    return start, end
