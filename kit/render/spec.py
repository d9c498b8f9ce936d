"""``RenderSpec``: what a picture shows, validated once, shared by every way to draw one.

``kit.preview``, ``kit.show``, ``kit.plate_overview``, the notebook cards, the browser's viewer
and the CLI all take the same choices (channels, windows, z, t, level, labels, label style,
opacity, ROI, size, fields). They are gathered here in one frozen value: checked when it is
made, so the drawing code below never checks an option again, and passed down whole instead of
as eight keyword arguments repeated in every signature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, TypedDict

import numpy as np

from kit.errors import KitError

__all__ = [
    "ChannelSpec",
    "InvalidRenderSpec",
    "LabelSpec",
    "LabelStyle",
    "NotRenderable",
    "RenderOptions",
    "RenderSpec",
    "Window",
]

ChannelSpec = int | str | Sequence[int | str] | None
LabelSpec = bool | str | Sequence[str] | None
LabelStyle = Literal["auto", "outline", "fill"]
Window = tuple[float, float]
RGB = tuple[int, int, int]
LABEL_STYLES = ("auto", "outline", "fill")
FIELDS = ("first", "all")


class InvalidRenderSpec(KitError, ValueError):
    """A rendering option that cannot be honoured (a ValueError too, as it always was)."""


class NotRenderable(KitError, TypeError):
    """A node (or object) of a kind a rendering call does not draw (a TypeError too)."""


class RenderOptions(TypedDict, total=False):
    """The keyword arguments of ``kit.preview``, ``kit.show`` and ``kit.plate_overview``."""

    max_size: int
    channels: ChannelSpec
    windows: Sequence[Window | None] | None
    colors: Sequence[str | Sequence[int] | None] | None
    gamma: float
    z: int | None
    t: int | None
    level: int | None
    labels: LabelSpec
    label_style: LabelStyle
    opacity: float | None
    roi: Any
    fields: Literal["first", "all"]
    annotate: bool | None
    coordinate_system: str | None


def _fail(message: str) -> InvalidRenderSpec:
    return InvalidRenderSpec(message)


def check_label_style(style: Any) -> None:
    """The one check of a label style (the spec's, and ``overlay``'s for direct callers)."""
    if style not in LABEL_STYLES:
        raise _fail(f"label_style must be 'auto', 'outline' or 'fill', not {style!r}")


def _opacity(value: Any) -> float:
    try:
        opacity = float(value)
    except (TypeError, ValueError):
        raise _fail(f"opacity must be a number from 0 to 1, not {value!r}") from None
    if not 0.0 <= opacity <= 1.0:
        raise _fail(f"opacity must be a number from 0 to 1, not {value!r}")
    return opacity


def _int_or_none(name: str, value: Any, *, minimum: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _fail(f"{name} must be an integer or None, not {value!r}")
    if minimum is not None and int(value) < minimum:
        raise _fail(f"{name} must be at least {minimum}, not {value}")
    return int(value)


def _channels(value: Any) -> int | str | tuple[int | str, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (bool, Mapping)) or not isinstance(value, Sequence | np.ndarray):
        raise _fail(f"channels must be an index, a name or a list of them, not {value!r}")
    items: list[int | str] = []
    for item in value:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            items.append(int(item))
        elif isinstance(item, str):
            items.append(item)
        else:
            raise _fail(f"channels must be indices or names, not {item!r}")
    return tuple(items)


def _labels(value: Any) -> bool | tuple[str, ...] | None:
    if value is None or value is False:
        return None
    if value is True:
        return True
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value) or None
    raise _fail(f"labels must be True, a label name or a list of names, not {value!r}")


def _color(value: Any) -> RGB | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lstrip("#")
        if len(text) == 6:
            try:
                return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
            except ValueError:
                pass
        raise _fail(f"a colour is 'RRGGBB' / '#rrggbb' or (r, g, b) in 0-255, not {value!r}")
    try:
        rgb = tuple(value)
        ok = len(rgb) == 3 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   and 0 <= int(v) <= 255 for v in rgb)
    except TypeError:
        ok = False
    if not ok:
        raise _fail(f"a colour is 'RRGGBB' / '#rrggbb' or (r, g, b) in 0-255, not {value!r}")
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


def _window(value: Any) -> Window | None:
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        raise _fail(f"a window is (start, end), not {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise _fail(f"a window must be finite, not {value!r}")
    return (lo, hi)


@dataclass(frozen=True)
class RenderSpec:
    """What to draw: every option of a preview, checked once when the spec is made.

    ``max_size`` None means the caller's default (512 for a preview, 1024 for a plate
    overview). ``windows`` holds one (start, end) or None (the omero window, else percentiles
    of the data) per *shown* channel, in the order ``channels`` selects them; ``colors``
    likewise one colour ("RRGGBB", "#rrggbb" or (r, g, b), kept as (r, g, b)) or None (the
    omero colour) per shown channel. ``gamma`` bends each channel's windowed intensity
    (v ** gamma after the window: below 1 lifts faint signal, above 1 darkens it). ``roi`` is a ROI
    table row (x/y/z_micrometer, len_*_micrometer): only that part of an image is drawn.
    ``fields`` is for plates: each well's first field, or all of them tiled.
    ``label_style`` "auto" fills objects smaller than a few shown pixels (outlines of them
    would be noise) and outlines the others. ``annotate`` draws a scale bar, a channel legend
    and, on plates, well names with gaps between wells into the picture; None means the
    caller's default (off for ``kit.preview``'s and ``kit.plate_overview``'s arrays, which
    keep the data's pixels; on for ``kit.show`` and the CLI). ``coordinate_system`` names the
    (NGFF 0.6) coordinate system the picture is drawn in: the image is resampled through its
    transforms into it (a rotated or affine one too), labels with it; None is the image's
    first (intrinsic) system, the plain grid of its pixels.
    """

    max_size: int | None = None
    channels: int | str | tuple[int | str, ...] | None = None
    windows: tuple[Window | None, ...] | None = None
    colors: tuple[RGB | None, ...] | None = None
    gamma: float = 1.0
    z: int | None = None
    t: int | None = None
    level: int | None = None
    labels: bool | tuple[str, ...] | None = None
    label_style: LabelStyle = "auto"
    opacity: float | None = None  # None: the style's own (fills 0.5, outlines 1)
    roi: Any = field(default=None, compare=False)
    fields: Literal["first", "all"] = "first"
    annotate: bool | None = None
    coordinate_system: str | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: normalise in place once, here only
        put(self, "max_size", _int_or_none("max_size", self.max_size, minimum=1))
        put(self, "channels", _channels(self.channels))
        put(self, "z", _int_or_none("z", self.z))
        put(self, "t", _int_or_none("t", self.t))
        put(self, "level", _int_or_none("level", self.level))
        put(self, "labels", _labels(self.labels))
        if self.windows is not None:
            if isinstance(self.windows, (str, Mapping)) or not isinstance(self.windows, Sequence):
                raise _fail(f"windows must be a list of (start, end) or None, not "
                            f"{self.windows!r}")
            put(self, "windows", tuple(_window(w) for w in self.windows))
        if self.colors is not None:
            if isinstance(self.colors, (str, Mapping)) or not isinstance(self.colors, Sequence):
                raise _fail(f"colors must be a list of colours (one per shown channel) or None, "
                            f"not {self.colors!r}")
            put(self, "colors", tuple(_color(c) for c in self.colors))
        try:
            gamma = float(self.gamma)
        except (TypeError, ValueError):
            raise _fail(f"gamma must be a positive number, not {self.gamma!r}") from None
        if not (math.isfinite(gamma) and gamma > 0):
            raise _fail(f"gamma must be a positive number, not {self.gamma!r}")
        put(self, "gamma", gamma)
        check_label_style(self.label_style)
        if self.opacity is not None:
            put(self, "opacity", _opacity(self.opacity))
        if self.fields not in FIELDS:
            raise _fail(f"fields must be 'first' or 'all', not {self.fields!r}")
        if self.annotate is not None and not isinstance(self.annotate, (bool, np.bool_)):
            raise _fail(f"annotate must be True, False or None, not {self.annotate!r}")
        put(self, "annotate", None if self.annotate is None else bool(self.annotate))
        if self.coordinate_system is not None and (not isinstance(self.coordinate_system, str)
                                                   or not self.coordinate_system):
            raise _fail(f"coordinate_system must be the name of a coordinate system or None, "
                        f"not {self.coordinate_system!r}")

    @classmethod
    def from_kwargs(cls, spec: RenderSpec | None = None, /, **options: Any) -> RenderSpec:
        """The spec of a call's keyword arguments, on top of ``spec`` when one is given.

        The one place where keyword arguments become a spec: an unknown name is a TypeError,
        as for any Python function.
        """
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r} (rendering options: "
                            f"{', '.join(sorted(OPTION_NAMES))})")
        if spec is not None and not isinstance(spec, RenderSpec):
            raise TypeError(f"spec must be a RenderSpec, not {type(spec).__name__}")
        if spec is None:
            return cls(**options)
        return replace(spec, **options) if options else spec

    def size(self, default: int) -> int:
        """``max_size``, or the caller's default when the spec leaves it open."""
        return self.max_size if self.max_size is not None else default

    def annotated(self, default: bool) -> bool:
        """``annotate``, or the caller's default when the spec leaves it open."""
        return self.annotate if self.annotate is not None else default

    def with_(self, **changes: Any) -> RenderSpec:
        """A copy with some options changed (validated like any new spec)."""
        return replace(self, **changes)


OPTION_NAMES = frozenset(f.name for f in fields(RenderSpec))
