"""``kit.view``: the interactive pan/zoom viewer (an anywidget with a small bundled module).

The widget class lives in ``widget.py`` and is imported on first use, so ``import kit`` stays
fast and needs no widget library until a viewer is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kit.render.spec import RenderSpec
    from kit.widgets.view.widget import PanZoomView

__all__ = ["PanZoomView", "view"]


def view(node: Any, spec: RenderSpec | None = None, *, width: int = 720, height: int = 480,
         prefetch: int = 1, encoding: str = "raw", **options: Any) -> PanZoomView:
    """A pan/zoom viewer of an Image, Label, Well (its fields) or Plate (its wells).

    Wheel or pinch zooms around the pointer, drag pans, double-click zooms in, keys + - arrows
    and 0 (reset). Each view reads only the tiles on screen, at the coarsest level whose
    pixels are no larger than the screen's. ``spec`` and the rendering keywords of
    ``kit.preview`` (channels, windows, z, t, labels, label_style, opacity) say what is drawn.
    ``prefetch``: rings of neighbour tiles to prefetch from after the visible ones (0: none),
    at most two tiles a view (ahead of a pan first), so a view costs its visible tiles + 2;
    ``encoding``: tiles sent as "raw" RGBA (fastest) or "png" (smaller, for slow links).
    """
    from kit.render.spec import RenderSpec
    from kit.widgets.view.widget import PanZoomView

    return PanZoomView(node, RenderSpec.from_kwargs(spec, **options), width=width,
                       height=height, prefetch=prefetch, encoding=encoding)


def __getattr__(name: str) -> Any:
    if name == "PanZoomView":
        from kit.widgets.view.widget import PanZoomView

        return PanZoomView
    raise AttributeError(f"module 'kit.widgets.view' has no attribute {name!r}")
