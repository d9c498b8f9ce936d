"""The viewer's one bridge to ``kit.render``: a snapshot of the controls in, PNG bytes out.

``kit.preview`` takes no contrast limits, so the viewer drives the same pipeline one step lower
(``load_metadata`` -> ``plan_image`` -> ``read_boxes`` -> ``ImageJob.finish(windows=...)``),
and reports the windows it used so the contrast sliders can start from them. A ROI is read as
boxes of ``Image.roi_slices`` and composited with the render layer's own functions. Everything
here runs in a worker thread; nothing touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kit.io.boxes import Box, read_boxes
from kit.io.loop import run_sync
from kit.render.composite import composite, to_uint8
from kit.render.labelplane import match_level
from kit.render.overlay import overlay
from kit.render.plane import yx_axes
from kit.render.png import to_png
from kit.render.preview import channel_colors, load_metadata, plan_image
from kit.render.resample import output_shape, resize, resize_nearest
from kit.render.color import robust_window

__all__ = ["ViewRequest", "ViewResult", "render_view"]

Window = tuple[float, float]


@dataclass(frozen=True)
class ViewRequest:
    """What the controls said when the user last changed one (read on the main thread)."""

    channels: tuple[int, ...]
    windows: tuple[Window | None, ...]  # one per entry of ``channels``; None: omero or auto
    z: int | None = None
    t: int | None = None
    level: int | None = None            # None: "auto"
    label: str | None = None
    opacity: float = 0.5
    label_style: str = "outline"
    max_size: int = 512
    roi: Any = None                      # a ROI table row, or None for the whole plane


@dataclass
class ViewResult:
    png: bytes
    shape: tuple[int, int]
    level: int
    windows: list[Window] = field(default_factory=list)


def _merge(user: tuple[Window | None, ...], auto: list[Window]) -> list[Window]:
    return [u if u is not None else a for u, a in zip(user, auto)]


def render_view(image: Any, req: ViewRequest) -> ViewResult:
    """Render the view an unchanged ``req`` describes (blocking; call it off the main thread)."""
    if not req.channels:
        return _blank(image, req)
    if req.roi is not None:
        return _render_roi(image, req)
    chosen = run_sync(load_metadata(image, req.label))
    job = plan_image(image, max_size=req.max_size, channels=list(req.channels), z=req.z, t=req.t,
                     labels=chosen, level=req.level, label_style=req.label_style,  # type: ignore[arg-type]
                     opacity=req.opacity)
    results = read_boxes(job.boxes_to_read())
    plane, _ = job.split(results)
    windows = _merge(req.windows, job.resolved_windows(plane))
    rgb = job.finish(results, windows)
    return ViewResult(to_png(rgb), rgb.shape[:2], job.plane.level.index, windows)


def _blank(image: Any, req: ViewRequest) -> ViewResult:
    """Every channel switched off: a black picture of the right size (no chunk read)."""
    levels = image.levels
    index = image.pick_level(req.max_size) if req.level is None else req.level
    iy, ix = yx_axes(image.axes)
    lv = levels[index]
    h, w = output_shape(lv.shape[iy], lv.shape[ix], lv.scale[iy], lv.scale[ix], req.max_size)
    rgb = np.zeros((h, w, 3), np.uint8)
    return ViewResult(to_png(rgb), (h, w), index, [])


def _roi_level(image: Any, roi: Any, max_size: int) -> int:
    """The coarsest level on which the ROI still spans ``max_size`` pixels (else level 0)."""
    iy, ix = yx_axes(image.axes)
    chosen = 0
    for lv in image.levels:
        sel = image.roi_slices(roi, lv.index)
        size = max(len(range(*sel[iy].indices(lv.shape[iy]))), len(range(*sel[ix].indices(lv.shape[ix]))))
        if size >= max_size:
            chosen = lv.index
    return chosen


def _plane_index(image: Any, level: Any, axis: str, full_index: int | None,
                 sel: slice) -> int | None:
    """Index inside the ROI along z/t for the viewer's level-0 index (middle/first by default)."""
    if axis not in image.axes:
        return None
    i = image.axes.index(axis)
    start, stop, _ = sel.indices(level.shape[i])
    n = max(1, stop - start)
    if full_index is None:
        return n // 2 if axis == "z" else 0
    s0, s = image.levels[0].scale[i], level.scale[i]
    at_level = int(round(full_index * s0 / s)) if s else full_index
    return min(max(at_level - start, 0), n - 1)


def _roi_box(node: Any, level: int, req: ViewRequest, channels: Any) -> Box:
    """The ROI's box at ``level``: its y/x range, the viewer's z/t plane, ``channels`` on c."""
    lv = node.levels[level]
    sel = node.roi_slices(req.roi, level)
    pick: list[Any] = []
    for i, axis in enumerate(node.axes):
        if axis == "c":
            pick.append(channels)
        elif axis in ("z", "t"):
            start = sel[i].indices(lv.shape[i])[0]
            pick.append(start + _plane_index(node, lv, axis, req.z if axis == "z" else req.t,
                                             sel[i]))
        else:
            pick.append(sel[i])
    return node.box(level, pick)


def _render_roi(image: Any, req: ViewRequest) -> ViewResult:
    run_sync(load_metadata(image, req.label))
    index = req.level if req.level is not None else _roi_level(image, req.roi, req.max_size)
    lv = image.levels[index]
    axes = image.axes
    boxes = [_roi_box(image, index, req, list(req.channels))]
    label = image.labels[req.label] if req.label else None
    if label is not None:
        iy, ix = yx_axes(axes)
        boxes.append(_roi_box(label, match_level(label, (lv.scale[iy], lv.scale[ix])), req, 0))
    results = read_boxes(boxes)
    planes = results[0] if "c" in axes else results[0][None]
    auto = [robust_window(p) for p in planes]
    windows = _merge(req.windows, auto)
    colors = channel_colors(image, list(req.channels))
    iy, ix = yx_axes(axes)
    out = output_shape(planes.shape[1], planes.shape[2], lv.scale[iy], lv.scale[ix], req.max_size)
    rgb = resize(composite(planes, colors, windows), *out)
    if label is not None:
        lab = resize_nearest(np.asarray(results[1]), *out)
        rgb = overlay(rgb, lab, label.colors, style=req.label_style,  # type: ignore[arg-type]
                      opacity=req.opacity)
    rgb8 = to_uint8(rgb)
    return ViewResult(to_png(rgb8), rgb8.shape[:2], index, windows)
