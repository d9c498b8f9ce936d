"""The viewer's one bridge to ``kit.render``: a ``RenderSpec`` of the controls in, PNG bytes out.

The controls' snapshot is a ``RenderSpec`` (channels, windows, z, t, level, labels, style,
opacity, ROI), drawn by the render layer's own ``render`` like any ``kit.preview``; the result
also says which level and windows were used, so the contrast sliders can start from them.
Everything here runs in a worker thread; nothing touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kit.render.png import to_png
from kit.render.preview import render, render_blank
from kit.render.spec import RenderSpec, Window

__all__ = ["ViewResult", "render_view"]


@dataclass
class ViewResult:
    png: bytes
    shape: tuple[int, int]
    level: int
    windows: list[Window] = field(default_factory=list)


def render_view(node: Any, spec: RenderSpec) -> ViewResult:
    """Render the view ``spec`` describes (blocking; call it off the main thread).

    Every channel switched off is a black picture of the right size, with no chunk read.
    """
    blank = spec.channels == () and node.kind != "label"
    rendered = render_blank(node, spec) if blank else render(node, spec)
    rgb = rendered.rgb
    return ViewResult(to_png(rgb), rgb.shape[:2], rendered.level or 0, rendered.windows)
