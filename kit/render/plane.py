"""Which level, which plane, which channels: the (C, H, W) box of a level to read.

Only the box shown is ever read: ``kit.io.boxes.read_boxes`` fetches the chunks it
touches, of every box of a preview or a plate at once, so a preview costs one round trip of
chunks, not one per chunk or per image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import NotFound
from kit.io.boxes import Box

if TYPE_CHECKING:
    from kit.nodes import Image, Level

ChannelSpec = int | str | Sequence[int | str] | None


@dataclass
class Plane:
    """The box of one z/t plane of a level, with the physical grid it lies on."""

    level: Level
    channels: list[int]   # channel indices into the c axis (``[0]`` when there is none)
    box: Box              # (C, H, W), or (H, W) for an image without a c axis
    origin: tuple[float, float]  # physical y, x of the top-left corner of pixel (0, 0)
    step: tuple[float, float]    # physical pixel size y, x
    z: int | None = None        # the z index read at this level
    z_phys: float | None = None  # physical centre of that plane (to match labels)
    t: int | None = None

    @property
    def shape(self) -> tuple[int, int]:
        h, w = self.box.shape[-2:]
        return (h, w)

    def as_chw(self, data: np.ndarray) -> np.ndarray:
        """The box's data as (C, H, W), adding the channel axis an image may lack."""
        return data if data.ndim == 3 else data[None]

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x0, x1, y1, y0) in physical units: what matplotlib's ``imshow(extent=...)`` takes."""
        (y0, x0), (sy, sx) = self.origin, self.step
        h, w = self.shape
        return (x0, x0 + w * sx, y0 + h * sy, y0)


def axis_transform(level: Level, axis: int) -> tuple[float, float]:
    """(scale, translation) of one axis of a level (scale 1, translation 0 when absent)."""
    scale = level.scale[axis] if axis < len(level.scale) else 1.0
    trans = level.translation[axis] if axis < len(level.translation or ()) else 0.0
    return float(scale or 1.0), float(trans or 0.0)


def yx_axes(axes: Sequence[str]) -> tuple[int, int]:
    """Positions of y and x (the last two axes when they are not named so)."""
    axes = list(axes)
    if "y" in axes and "x" in axes:
        return axes.index("y"), axes.index("x")
    return len(axes) - 2, len(axes) - 1


def channel_names(image: Image, level: Level) -> list[str]:
    """Channel names (the omero labels, else the index) for the c axis of ``level``; a
    single-level read, so it needs only that level's array metadata."""
    n = level.shape[image.axes.index("c")] if "c" in image.axes else 1
    labels = [c.label for c in image.channels]
    return [(labels[i] if i < len(labels) else None) or str(i) for i in range(n)]


def resolve_channels(image: Image, channels: ChannelSpec, level: Level | None = None) -> list[int]:
    """Channel indices from indices or names; default: the omero-active channels, else all.
    ``level``: any loaded level (the c axis is the same at every level; default level 0)."""
    axes = image.axes
    if "c" not in axes:
        if channels not in (None, 0, [0], (0,)):
            raise NotFound(f"this image has no channel axis (axes {axes}); channels={channels!r}",
                           where=image.url)
        return [0]
    names = channel_names(image, level if level is not None else image.level(0))
    n = len(names)
    if channels is None:
        meta = image.channels
        active = [i for i in range(n) if i < len(meta) and meta[i].active]
        return active if meta and active else list(range(n))
    items = [channels] if isinstance(channels, (int, str, np.integer)) else list(channels)
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)):
            i = int(item) + (n if int(item) < 0 else 0)
            if not 0 <= i < n:
                raise NotFound(f"channel index {item} out of range (this image has {n} channels)",
                               where=image.url)
        elif item in names:
            i = names.index(item)
        else:
            raise NotFound(f"no channel named {item!r} (channels: {names})", where=image.url)
        out.append(i)
    if not out:
        raise ValueError("channels selects no channel")
    return out


def _index(axis: str, value: int | None, size: int, default: int, where: str) -> int:
    if value is None:
        return default
    i = int(value) + (size if int(value) < 0 else 0)
    if not 0 <= i < size:
        raise NotFound(f"{axis}={value} out of range (size {size})", where=where)
    return i


def _within(sel: slice, size: int, index: int | None, default: int) -> int:
    """``index`` clamped into a ROI's range along one axis (``default``: an index in it)."""
    start, stop, _ = sel.indices(size)
    if index is None:
        return start + default
    return min(max(index, start), max(start, stop - 1))


def plan_plane(image: Image, level_index: int, *, channels: ChannelSpec = None,
               z: int | None = None, t: int | None = None, roi: Any = None) -> Plane:
    """The box of one z/t plane of the chosen channels at ``level_index``.

    ``z`` is an index at full resolution (level 0), mapped through the physical z of the
    chosen level, so the same ``z`` shows the same plane at every level; default: the middle.
    A ``roi`` (a ROI table row) crops y/x to it and keeps z and t inside its range (default:
    its middle z plane, its first time point). Only the chosen level's metadata is needed
    (and level 0's when ``z`` is given).
    """
    level = image.level(level_index)
    axes = image.axes
    for name, value in (("z", z), ("t", t)):
        if value not in (None, 0) and name not in axes:  # 0 is the only plane there is
            raise NotFound(f"this image has no {name} axis (axes {''.join(axes)}); "
                           f"{name}={value} cannot be shown", where=image.url)
    iy, ix = yx_axes(axes)
    chans = resolve_channels(image, channels, level)
    crop = image.roi_slices(roi, level_index) if roi is not None else None
    selection: list[Any] = []
    z_index = z_phys = t_index = None
    for i, name in enumerate(axes):
        size = level.shape[i]
        if i in (iy, ix):
            selection.append(crop[i] if crop is not None else slice(None))
        elif name == "c":
            selection.append(chans)
        elif name == "z":
            sl, tl = axis_transform(level, i)
            if z is None:
                z_index = size // 2
            else:
                level0 = image.level(0)
                s0, t0 = axis_transform(level0, i)
                z0 = _index("z", z, level0.shape[i], 0, image.url)
                z_index = min(size - 1, max(0, math.floor((t0 + (z0 + 0.5) * s0 - tl) / sl)))
            if crop is not None:
                start, stop, _ = crop[i].indices(size)
                z_index = _within(crop[i], size, None if z is None else z_index,
                                  max(0, stop - start) // 2)
            z_phys = tl + (z_index + 0.5) * sl
            selection.append(z_index)
        elif name == "t":
            t_index = _index("t", t, size, 0, image.url)
            if crop is not None:
                t_index = _within(crop[i], size, None if t is None else t_index, 0)
            selection.append(t_index)
        else:
            selection.append(0)
    box = image.box(level.index, selection)
    sy, ty = axis_transform(level, iy)
    sx, tx = axis_transform(level, ix)
    if crop is not None:  # the crop's top-left corner, in physical units
        ty += crop[iy].indices(level.shape[iy])[0] * sy
        tx += crop[ix].indices(level.shape[ix])[0] * sx
    return Plane(level, chans, box, (ty, tx), (sy, sx), z_index, z_phys, t_index)
