"""Shared state of one parse: where we are, which version, and how to complain.

Every message names the document (`where`) and the offending field, so a user can find the
problem without a traceback. MUST violations raise; readable sloppiness is warned about and
recorded, so `NodeMeta.warnings` is a faithful list of what was tolerated.
"""

from __future__ import annotations

import math
import os
import reprlib
import sys
import warnings
from types import FrameType
from typing import Any, NoReturn

from kit.errors import InvalidMetadata, KitWarning, UnsupportedVersion

_HERE = os.path.dirname(os.path.abspath(__file__))


def _stacklevel() -> int:
    """Stack level of the first frame outside kit/ngff, so warnings point at the caller."""
    frame: FrameType | None = sys._getframe(1)  # the caller (Ctx.warn) is level 1 for warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_HERE):
        frame = frame.f_back
        level += 1
    return level


class Ctx:
    """Parse context: `where` for messages, the version, strictness and collected warnings."""

    def __init__(self, where: str, *, strict: bool = False, zarr_format: int | None = None,
                 exact_dialect: bool = False):
        self.where = where
        self.strict = strict
        #: refuse (instead of normalising) a form the declared dialect does not have
        self.exact_dialect = exact_dialect
        self.zarr_format = zarr_format
        self.version: str | None = None
        self.prefix = ""  # "ome." for 0.5 documents, so fields name their real location
        self.warnings: list[str] = []
        #: what was read in a form other than the version's own (`NgffVersion.normalised`)
        self.normalised: list[str] = []

    def f(self, field: str) -> str:
        """Field name as it appears in the document (with the `ome.` prefix in 0.5)."""
        return self.prefix + field

    def error(self, field: str, message: str) -> NoReturn:
        raise InvalidMetadata(f"{self.f(field)}: {message}", where=self.where)

    def unsupported(self, field: str, message: str) -> NoReturn:
        raise UnsupportedVersion(f"{self.f(field)}: {message}", where=self.where)

    def warn(self, field: str, message: str) -> None:
        text = f"{self.where}: {self.f(field)}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)
            warnings.warn(text, KitWarning, stacklevel=_stacklevel())

    def normalise(self, field: str, message: str) -> None:
        """A dialect difference read into the one model: warned about and recorded."""
        if self.exact_dialect:
            self.error(field, f"{message.split(';')[0]} (not valid in {self.version})")
        note = f"{self.f(field)}: {message}"
        if note not in self.normalised:
            self.normalised.append(note)
        self.warn(field, message)

    def should(self, field: str, message: str) -> None:
        """A SHOULD-level rule (what the strict_* schemas require): error only when strict."""
        if self.strict:
            self.error(field, f"{message} (strict mode)")


# -- small type predicates: JSON booleans are Python ints, and they are never numbers here --

def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A JSON number (not a boolean) that is a finite float: 10**400 is not, 1e308 is."""
    return as_float(value) is not None


def is_numeric(value: Any) -> bool:
    """A JSON number of any size (not a boolean): the *type* is right, the value may not be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, NaN, infinite, or an int too large
    for a float, where ``float()`` would raise OverflowError)."""
    if not is_numeric(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def short(value: Any) -> str:
    """repr of a value for a message, shortened (a 4000-digit number or a 10**6-item list in a
    hostile document must not become a 4000-character message)."""
    return _SHORT.repr(value)


_SHORT = reprlib.Repr()
_SHORT.maxlong = 24
_SHORT.maxstring = 60
_SHORT.maxother = 60


def require_dict(ctx: Ctx, value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        ctx.error(field, f"must be an object, got {type(value).__name__}")
    return value


def require_list(ctx: Ctx, value: Any, field: str, *, non_empty: bool = True) -> list:
    if not isinstance(value, list):
        ctx.error(field, f"must be a list, got {type(value).__name__}")
    if non_empty and not value:
        ctx.error(field, "must not be empty")
    return value


def require_str(ctx: Ctx, obj: dict, key: str, field: str) -> str:
    """``obj[key]``, which the spec says MUST be there and be a string."""
    value = obj.get(key)
    if not isinstance(value, str):
        ctx.error(f"{field}.{key}", "missing or not a string (MUST)")
    return value


def require_member_list(ctx: Ctx, obj: dict, key: str, field: str) -> list:
    """``obj[key]``, a non-empty list that the spec says MUST be there (``field`` names it)."""
    if key not in obj:
        ctx.error(field, "missing (MUST)")
    return require_list(ctx, obj[key], field)


def optional_str(ctx: Ctx, obj: dict, key: str, field: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        ctx.error(f"{field}.{key}", f"must be a string, got {type(value).__name__}")
    return value


def check_relative_path(ctx: Ctx, path: Any, field: str) -> str:
    """A member path: non-empty, relative, staying inside the group (no '.', '..', '//')."""
    if not isinstance(path, str):
        ctx.error(field, f"must be a string, got {type(path).__name__}")
    if not path:
        ctx.error(field, "must not be empty")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "://" in path:
        ctx.error(field, f"{path!r} must be a relative path inside the group")
    return path
