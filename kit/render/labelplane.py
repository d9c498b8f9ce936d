"""Reading the part of a label image that a preview shows, on the preview's own grid.

The label level is matched to the image level by physical pixel size (not by index: a label
may start at a coarser resolution than its image), only the rows/columns that the preview
samples are read, and the result is the label value at every preview pixel centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.io.boxes import Box
from kit.render.overlay import grid_indices, sample
from kit.render.plane import Plane, axis_transform, yx_axes

if TYPE_CHECKING:
    from kit.nodes import Label

_TOL = 1e-6


def match_level(label: Label, step: tuple[float, float]) -> int:
    """The coarsest label level whose pixels are no larger than ``step`` (the image level's);
    the finest label level when every level is coarser."""
    iy, ix = yx_axes(label.axes)
    chosen = 0
    for lv in label.levels:
        sy, _ = axis_transform(lv, iy)
        sx, _ = axis_transform(lv, ix)
        if sy <= step[0] * (1 + _TOL) and sx <= step[1] * (1 + _TOL):
            chosen = lv.index
    return chosen


@dataclass
class LabelPart:
    """The label box to read and how to sample it onto the output grid."""

    label: Label
    level: int
    box: Box | None  # None: the label does not overlap the view
    rows: tuple[np.ndarray, np.ndarray]
    cols: tuple[np.ndarray, np.ndarray]
    out_shape: tuple[int, int]

    def finish(self, data: np.ndarray | None) -> np.ndarray:
        """Label value at every output pixel (0 where the label has none)."""
        if self.box is None or data is None:
            return np.zeros(self.out_shape, np.int64)
        return sample(data, self.rows, self.cols)


def plan_label(label: Label, plane: Plane, out_shape: tuple[int, int]) -> LabelPart:
    """The box of ``label`` covering ``plane``, to be sampled on an ``out_shape`` grid."""
    index = match_level(label, plane.step)
    level = label.levels[index]
    axes = label.axes
    iy, ix = yx_axes(axes)
    (h, w), (oy, ox) = plane.shape, plane.origin
    out_h, out_w = out_shape
    step_y, step_x = h * plane.step[0] / out_h, w * plane.step[1] / out_w
    sy, ty = axis_transform(level, iy)
    sx, tx = axis_transform(level, ix)
    rows = grid_indices(out_h, oy, step_y, ty, sy, level.shape[iy])
    cols = grid_indices(out_w, ox, step_x, tx, sx, level.shape[ix])
    if not rows[1].any() or not cols[1].any():
        return LabelPart(label, index, None, rows, cols, out_shape)
    r0, r1 = int(rows[0][rows[1]].min()), int(rows[0][rows[1]].max()) + 1
    c0, c1 = int(cols[0][cols[1]].min()), int(cols[0][cols[1]].max()) + 1
    selection: list[Any] = []
    for i, name in enumerate(axes):
        size = level.shape[i]
        if i == iy:
            selection.append(slice(r0, r1))
        elif i == ix:
            selection.append(slice(c0, c1))
        elif name == "z":
            s, t = axis_transform(level, i)
            if plane.z_phys is None:
                selection.append(size // 2)
            else:
                selection.append(min(size - 1, max(0, math.floor((plane.z_phys - t) / s))))
        elif name == "t":
            selection.append(min(size - 1, plane.t or 0))
        else:
            selection.append(0)
    box = label.box(index, selection)
    rows = (np.clip(rows[0] - r0, 0, r1 - r0 - 1), rows[1])
    cols = (np.clip(cols[0] - c0, 0, c1 - c0 - 1), cols[1])
    return LabelPart(label, index, box, rows, cols, out_shape)
