"""The viewer's one bridge to ``kit.render``: a ``RenderSpec`` of the controls in, PNG bytes out.

The controls' snapshot is a ``RenderSpec`` (channels, windows, z, t, level, labels, style,
opacity, ROI), drawn through the render layer's own pipeline (``plan_image``, one
``read_boxes``, ``ImageJob.finish``) like any ``kit.preview``. The viewer also needs what a
preview throws away: the statistics of the pixels shown (slider ranges, auto contrast,
histograms, from ``kit.render.contrast``), the level and windows used, and whether the level
holds no data at all. Everything here runs in a worker thread; nothing touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kit.io.boxes import read_boxes
from kit.io.loop import run_sync
from kit.render.contrast import ChannelStats, channel_stats
from kit.render.job import load_metadata, plan_image
from kit.render.png import to_png
from kit.render.preview import PREVIEW_SIZE, render, render_blank
from kit.render.spec import RenderSpec, Window

__all__ = ["ViewResult", "render_view"]


@dataclass
class ViewResult:
    """A rendered view: the PNG and what it shows. ``channels``, ``windows`` and ``stats`` are
    per shown channel, in the same order; ``note`` says why a picture may look empty."""

    png: bytes
    shape: tuple[int, int]
    level: int
    windows: list[Window] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    stats: list[ChannelStats] = field(default_factory=list)
    note: str = ""


def render_view(node: Any, spec: RenderSpec) -> ViewResult:
    """Render the view ``spec`` describes (blocking; call it off the main thread).

    Every channel switched off is a black picture of the right size, with no chunk read.
    """
    if node.kind == "label":
        rendered = render(node, spec)
        return ViewResult(to_png(rendered.rgb), rendered.rgb.shape[:2], rendered.level or 0)
    if spec.channels == ():
        blank = render_blank(node, spec)
        return ViewResult(to_png(blank.rgb), blank.rgb.shape[:2], blank.level or 0)
    chosen = run_sync(load_metadata(node, spec.labels))
    job = plan_image(node, spec, chosen, max_size=spec.size(PREVIEW_SIZE))
    results = read_boxes(job.boxes_to_read())
    plane, _ = job.split(results)
    windows = job.resolved_windows(plane)
    rgb = job.finish(results, windows)
    note = job.fill_warning() if job.is_fill(results) else ""
    return ViewResult(to_png(rgb), rgb.shape[:2], job.plane.level.index, windows,
                      list(job.plane.channels), [channel_stats(p) for p in plane], note)
