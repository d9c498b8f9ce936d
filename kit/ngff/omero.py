"""`omero`: channel names, colours and display windows (transitional, display hints only).

Read leniently: missing or malformed colours/windows are common in real 0.4 data (the MUST
sentences were added to the 0.4 text after its release) and the 0.5 schema no longer requires
them, so they become None with a warning. Values of the wrong JSON *type* (a number as colour,
a string as window bound) are refused, as the official test suites require; a window bound of
the right type but beyond float range (10**400, or a span that overflows) is a display hint
the kit cannot use, so that window is ignored with a warning.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._context import Ctx, as_float, is_numeric, require_dict, short
from .models import Channel, Omero, Window

_HEX6 = re.compile(r"^[0-9A-Fa-f]{6}$")


def parse_omero(value: Any, ctx: Ctx) -> Omero:
    om = require_dict(ctx, value, "omero")
    channels_value = om.get("channels")
    if channels_value is None:
        ctx.warn("omero.channels", "missing (MUST when omero is present); no channel info read")
        channels_value = []
    if not isinstance(channels_value, list):
        ctx.error("omero.channels", f"must be a list, got {type(channels_value).__name__}")
    channels = tuple(_channel(item, ctx, f"omero.channels[{i}]")
                     for i, item in enumerate(channels_value))
    rdefs = om.get("rdefs")
    if rdefs is not None and not isinstance(rdefs, dict):
        ctx.warn("omero.rdefs", f"must be an object, got {type(rdefs).__name__}; ignored")
        rdefs = None
    return Omero(channels, rdefs)


def _channel(value: Any, ctx: Ctx, field: str) -> Channel:
    ch = require_dict(ctx, value, field)
    label = ch.get("label")
    if label is not None and not isinstance(label, str):
        ctx.warn(f"{field}.label", f"must be a string, got {label!r}; converted")
        label = str(label)
    active = ch.get("active", True)
    if not isinstance(active, bool):
        ctx.error(f"{field}.active", f"must be a boolean, got {active!r}")
    return Channel(label, _color(ch, ctx, field), _window(ch, ctx, field), active)


def _color(ch: dict, ctx: Ctx, field: str) -> str | None:
    if "color" not in ch:
        ctx.warn(f"{field}.color", "missing (MUST); the channel has no colour")
        return None
    color = ch["color"]
    if not isinstance(color, str):
        ctx.error(f"{field}.color", f"must be a string of 6 hex digits, got {color!r}")
    text = color.strip()
    if text.startswith("#"):
        text = text[1:]
        ctx.warn(f"{field}.color", f"{color!r} has a '#' (spec: 6 hex digits); read as {text}")
    if not _HEX6.match(text):
        ctx.warn(f"{field}.color", f"{color!r} is not 6 hex digits (RRGGBB); colour ignored")
        return None
    return text.upper()


def _window(ch: dict, ctx: Ctx, field: str) -> Window | None:
    if ch.get("window") is None:
        ctx.warn(f"{field}.window", "missing (MUST); the channel has no display window")
        return None
    win = require_dict(ctx, ch["window"], f"{field}.window")
    values: dict[str, float | None] = {}
    for key in ("start", "end", "min", "max"):
        v = win.get(key)
        if v is not None and not is_numeric(v):
            ctx.error(f"{field}.window.{key}", f"must be a number, got {short(v)}")
        values[key] = None if v is None else as_float(v)
        if v is not None and values[key] is None:
            ctx.warn(f"{field}.window.{key}", f"{short(v)} is not a finite number within float "
                                              "range; the window is ignored")
            return None
    missing = [k for k, v in values.items() if v is None]
    if missing:
        ctx.warn(f"{field}.window", f"missing {missing} (MUST)")
    start, end = values["start"], values["end"]
    if start is None or end is None:
        # Fall back on the data range where the display range is missing.
        start = values["min"] if start is None else start
        end = values["max"] if end is None else end
        if start is None or end is None:
            return None
    if any(not math.isfinite(b - a) for a, b in ((start, end), (values["min"], values["max"]))
           if a is not None and b is not None):
        ctx.warn(f"{field}.window", "its range overflows float; the window is ignored")
        return None
    return Window(start, end, values["min"], values["max"])
