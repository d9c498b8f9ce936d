"""Which pyramid level a picture reads: the one level picker of the render layer.

The rule is the same for a whole plane and for a ROI: the coarsest level on which the part
shown still spans ``max_size`` pixels along its longer y/x side (level 0 when none does), so
a picture is never drawn from fewer pixels than it has, and never from more levels' worth of
bytes than it needs. An explicit ``level`` is checked here too, with a typed error that lists
the levels there are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.render.plane import yx_axes

if TYPE_CHECKING:
    from kit.nodes import Image

__all__ = ["choose_level", "coarsest_covering", "level_index", "shown_extent"]


def level_index(image: Image, level: int) -> int:
    """``level`` (negative counts from the coarsest) as an index; the node's own check
    (LevelNotFound naming the levels) is the one place this is decided."""
    return image.level_index(level)


def shown_extent(image: Image, index: int, roi: Any = None) -> tuple[int, int]:
    """(height, width) in pixels of what is shown at level ``index``: the plane, or the ROI."""
    lv = image.levels[index]
    iy, ix = yx_axes(image.axes)
    if roi is None:
        return lv.shape[iy], lv.shape[ix]
    sel = image.roi_slices(roi, index)
    return (len(range(*sel[iy].indices(lv.shape[iy]))),
            len(range(*sel[ix].indices(lv.shape[ix]))))


def coarsest_covering(extents: list[tuple[int, int]], max_size: int) -> int:
    """The rule itself: the last (coarsest) of ``extents`` (per level, finest first) whose
    longer side is at least ``max_size``; 0 when none is."""
    chosen = 0
    for index, extent in enumerate(extents):
        if max(extent) >= max_size:
            chosen = index
    return chosen


def choose_level(image: Image, max_size: int, level: int | None = None, roi: Any = None) -> int:
    """The level to read (levels must be loaded): ``level`` when given, else the coarsest
    whose shown extent still covers ``max_size``."""
    if level is not None:
        return level_index(image, level)
    return coarsest_covering([shown_extent(image, lv.index, roi) for lv in image.levels],
                             max_size)
