"""Label overlays: label values -> colours, drawn as outlines or as filled, blended regions.

Label images often live on another grid than the image (Fractal writes nuclei at 4x the image
pixel size), so the label is sampled at the physical centre of every preview pixel: nearest
neighbour, which keeps label values intact.
"""

from __future__ import annotations

import numpy as np

from kit.render.color import label_lut
from kit.render.spec import LabelStyle, check_label_style


def grid_indices(n_out: int, out_origin: float, out_step: float, src_origin: float,
                 src_step: float, n_src: int) -> tuple[np.ndarray, np.ndarray]:
    """Index into a source grid for each output pixel centre, and whether it falls inside.

    A pixel ``i`` of a grid covers ``[origin + i*step, origin + (i+1)*step)`` (the convention
    the ROI tables use), so both grids are compared in physical units.
    """
    centers = out_origin + (np.arange(n_out, dtype=np.float64) + 0.5) * out_step
    idx = np.floor((centers - src_origin) / src_step + 1e-9).astype(np.intp)
    inside = (idx >= 0) & (idx < n_src)
    return np.clip(idx, 0, max(n_src - 1, 0)), inside


def sample(label: np.ndarray, rows: tuple[np.ndarray, np.ndarray],
           cols: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The label on the output grid (rows/cols from ``grid_indices``); 0 outside the label."""
    (ri, rin), (ci, cin) = rows, cols
    out = np.asarray(label)[ri][:, ci]
    out = np.where(rin[:, None] & cin[None, :], out, 0)
    return out


def outline_mask(label: np.ndarray) -> np.ndarray:
    """Pixels of a labelled object that touch another value (4-neighbourhood)."""
    lab = np.asarray(label)
    edge = np.zeros(lab.shape, bool)
    diff_y = lab[1:, :] != lab[:-1, :]
    diff_x = lab[:, 1:] != lab[:, :-1]
    edge[1:, :] |= diff_y
    edge[:-1, :] |= diff_y
    edge[:, 1:] |= diff_x
    edge[:, :-1] |= diff_x
    return edge & (lab != 0)


def colorize(label: np.ndarray,
             colors: dict[int, tuple[int, int, int, int]] | None) -> tuple[np.ndarray, np.ndarray]:
    """Float RGB (H, W, 3) and alpha (H, W) in [0, 1] of each pixel's label colour (0 -> clear)."""
    lab = np.asarray(label)
    values, inverse = np.unique(lab, return_inverse=True)
    lut = label_lut(values, colors).astype(np.float32) / 255.0
    lut[values == 0] = 0.0
    rgba = lut[inverse.reshape(lab.shape)]
    return rgba[..., :3], rgba[..., 3]


FILL_BELOW_AREA = 64.0
"""``auto`` fills objects whose median area is below this many shown pixels (8 x 8): a 1-px
outline of a smaller object is most of it (16 of 25 pixels at 5 x 5, the real plate's nuclei
at plate scale), and thousands of such rings are noise, not borders."""


def object_areas(label: np.ndarray) -> np.ndarray:
    """The shown area in pixels of each object of a label on the picture's grid."""
    lab = np.asarray(label)
    return np.unique(lab[lab != 0], return_counts=True)[1]


def style_for_areas(areas: np.ndarray) -> LabelStyle:
    """``fill`` when the median object is smaller than a few pixels, else ``outline``."""
    if areas.size and float(np.median(areas)) < FILL_BELOW_AREA:
        return "fill"
    return "outline"


def auto_style(label: np.ndarray) -> LabelStyle:
    """``fill`` when the objects shown are smaller than a few pixels, else ``outline``."""
    return style_for_areas(object_areas(label))


def overlay(rgb: np.ndarray, label: np.ndarray,
            colors: dict[int, tuple[int, int, int, int]] | None, *,
            style: LabelStyle = "outline", opacity: float | None = None) -> np.ndarray:
    """Draw ``label`` (H, W) over float RGB ``rgb`` (H, W, 3).

    ``fill`` blends every labelled pixel, ``outline`` only object borders, each with weight
    ``opacity`` times the colour's alpha (the one opacity slider means the same in both styles;
    None is each style's own: 0.5 for fills, 1 for outlines, which are thin enough to see through);
    ``auto`` is one of them, as ``auto_style`` picks for the objects' shown size.
    """
    check_label_style(style)
    if style == "auto":
        style = auto_style(label)
    color, alpha = colorize(label, colors)
    if opacity is None:
        opacity = 0.5 if style == "fill" else 1.0
    weight = alpha * float(opacity)
    if style != "fill":
        weight = np.where(outline_mask(label), weight, 0.0)
    weight = weight[..., None].astype(np.float32)
    return rgb * (1.0 - weight) + color * weight
