"""``PanZoomView``: the pan/zoom viewer widget (anywidget + the bundled ``static/viewer.js``).

The browser keeps a canvas, the view transform (level-0 pixels) and the tiles it has; every
wheel, drag, double-click or key moves the picture at once from those tiles and sends the
kernel a throttled ``view`` message. The kernel (a worker thread, never the kernel's main
thread) answers with the tiles of the level the screen needs that the browser lacks, visible
ones first, then a ring of neighbours. Only the newest request of each kind is served
(latest-wins); older ones still pending are dropped.

Messages (``content`` of anywidget custom messages):
  front -> kernel: {type: "view", id, x0, y0, x1, y1, width, height, have: [keys]}
                   {type: "hover", id, x, y} / {type: "click", x, y}
  kernel -> front: {type: "tiles", id, spec, level, tiles: [meta], sel: [meta], prefetch}
                   with one PNG buffer per tile then per highlight;
                   {type: "hover", id, ...card} / {type: "error", message}
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from kit.render.spec import NotRenderable, RenderSpec
from kit.render.tiles import PREFETCH_PER_VIEW, ImageSource, TileKey, View
from kit.widgets._messages import readable_error
from kit.widgets.view.session import Tile, TileSession, key_text

__all__ = ["PanZoomView"]

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def _source(node: Any, spec: RenderSpec | None, width: int, height: int
            ) -> tuple[list[str], Any]:
    """(the names a selector offers, the image or ``TileSource`` shown) of a node: a plate
    is a mosaic of its wells, a well of its fields (the selector zooms to one), a scene its
    members placed in its coordinate system."""
    from kit.nodes import Image, Plate, Well
    from kit.nodes.scene import Scene
    from kit.render.plate_reads import field_paths
    from kit.render.plate_tiles import mosaic_of

    if isinstance(node, Image):  # Label is an Image
        return [], node
    if isinstance(node, Well):
        paths = field_paths(node)
        n = max(1, math.ceil(math.sqrt(len(paths))))
        return paths, mosaic_of(node, min(width, height) / n, spec)
    if isinstance(node, Plate):
        paths = [w.path for w in node.plate.wells]
        if not paths:
            raise NotRenderable("this plate lists no wells", where=node.url)
        cell = min(width / max(len(node.columns), 1), height / max(len(node.rows), 1))
        return paths, mosaic_of(node, cell, spec)
    if isinstance(node, Scene):
        from kit.render.scene_tiles import SceneSource

        return [], SceneSource(node)
    raise NotRenderable(f"cannot view a {type(node).__name__}: give an Image, Label, Well, "
                        "Plate or Scene")


class PanZoomView(anywidget.AnyWidget):
    """Pan/zoom viewer of an Image, Label, Scene, Well (its fields side by side) or Plate (its
    wells in one mosaic; the selector zooms to a well, hover names the well and field).

    Embeddable: ``.spec`` (a ``RenderSpec``) and ``.image`` are settable (the view is kept
    when the new image has the same level-0 size), ``show(image, spec)`` sets both at once,
    ``zoom_to(box)`` moves the view to a box of level-0 pixels (None: the whole image),
    ``hover`` and ``selected`` are observable traits (``{"label", "value", "row", ...}``),
    ``on_view(level, tiles)`` (when set) is called after each view's tiles are served.
    """

    _esm = STATIC / "viewer.js"
    _css = STATIC / "viewer.css"

    levels: t.List = t.List().tag(sync=True)
    grids: t.List = t.List().tag(sync=True)   # per level: the tile grids placed in it
    parts: t.List = t.List().tag(sync=True)   # the wells (fields) of a mosaic: name and box
    spec_key = t.Unicode("").tag(sync=True)
    width = t.Int(720).tag(sync=True)
    height = t.Int(480).tag(sync=True)
    title = t.Unicode("").tag(sync=True)
    choices = t.List(t.Unicode()).tag(sync=True)
    choice = t.Int(0).tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    hover = t.Dict().tag(sync=True)
    selected = t.Dict().tag(sync=True)
    prefetch = t.Int(1).tag(sync=True)
    focus = t.Dict({"box": None, "n": 0}).tag(sync=True)  # a box to show: x0, y0, x1, y1

    def __init__(self, node: Any, spec: RenderSpec | None = None, *, width: int = 720,
                 height: int = 480, prefetch: int = 1, encoding: str = "raw") -> None:
        choices, image = _source(node, spec, width, height)
        self.node = node
        self.session = TileSession(image, spec, prefetch=prefetch, encoding=encoding)
        self._cond = threading.Condition()
        self._pending: dict[str, dict[str, Any]] = {}
        self._busy = False
        self._closed = False
        self._following = False  # the selector is being set to follow the view
        self._last: tuple[int, list[TileKey]] = (0, [])  # the level and tiles last shown
        self._sel_sent: set[TileKey] = set()
        self.last_view: View | None = None  # the front end's last view (level-0 pixels)
        self.on_view: Callable[[int, list[TileKey]], None] | None = None
        super().__init__(width=width, height=height, choices=choices, prefetch=prefetch)
        self._publish()
        self.on_msg(self._on_msg)
        self.observe(self._on_choice, names="choice")
        self._thread = threading.Thread(target=self._work, name="ngff-kit-view", daemon=True)
        self._thread.start()

    # -- the embeddable API --------------------------------------------------------------------
    @property
    def spec(self) -> RenderSpec:
        return self.session.spec

    @spec.setter
    def spec(self, spec: RenderSpec) -> None:
        if not isinstance(spec, RenderSpec):
            raise TypeError(f"spec must be a RenderSpec, not {type(spec).__name__}")
        self.session.set_spec(spec)
        self._publish()

    @property
    def image(self) -> Any:
        return self.session.image

    @image.setter
    def image(self, image: Any) -> None:
        self.show(image)

    def show(self, image: Any, spec: RenderSpec | None = None) -> None:
        """Show ``image`` drawn with ``spec`` (None: the current spec), in one step; the view
        stays where it is when the level-0 size is the same (another field, another well)."""
        if spec is not None and not isinstance(spec, RenderSpec):
            raise TypeError(f"spec must be a RenderSpec, not {type(spec).__name__}")
        before = self.session.levels[0].shape
        self.session.set_image(image, spec)
        if self.session.levels[0].shape != before:
            self.last_view = None  # the front end fits the new image
        self._sel_sent.clear()
        self.selected = {}
        self._publish()

    def zoom_to(self, box: tuple[float, float, float, float] | None) -> None:
        """Show ``box`` (x0, y0, x1, y1 in level-0 pixels) fitted in the view; None: the
        whole image."""
        shown: list[float] | None = None
        if box is not None:
            x0, y0, x1, y1 = (float(v) for v in box)
            if not (x1 > x0 and y1 > y0):
                raise ValueError(f"an empty box to zoom to: {box!r}")
            shown = [x0, y0, x1, y1]
            self.last_view = self._fitted((x0, y0, x1, y1))
        else:
            self.last_view = None
        focus: dict[str, Any] = {"box": shown, "n": int(self.focus.get("n") or 0) + 1}
        self.focus = focus

    def _fitted(self, box: tuple[float, float, float, float] | None = None) -> View:
        """The view of ``box`` (None: the whole image) fitted in the widget, as the front end
        fits it."""
        if box is None:
            h, w = self.session.levels[0].shape
            box = (0.0, 0.0, float(w), float(h))
        x0, y0, x1, y1 = box
        scale = min(self.width / (x1 - x0), self.height / (y1 - y0))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hw, hh = self.width / scale / 2, self.height / scale / 2
        return View(cx - hw, cy - hh, cx + hw, cy + hh, self.width, self.height)

    def current_view(self) -> View:
        """The view shown: the front end's last, else the box zoomed to, else the whole."""
        return self.last_view if self.last_view is not None else self._fitted()

    def picture(self) -> np.ndarray:
        """uint8 RGB of what the view shows now, at the pixels of the level it reads (reads
        the tiles it needs; blocking)."""
        return self.session.picture(self.current_view())

    def _publish(self) -> None:
        s = self.session
        parts = s.parts()
        if not isinstance(s.source, ImageSource):  # a plate, a well, a scene: its own name
            node = self.node
            self.title = getattr(node, "path", "") or getattr(node, "name", "") or node.url
        else:
            self.title = s.image.path or s.image.name or s.image.url
        self.parts = [p.to_json() for p in parts]
        self.grids = [[g.to_json() for g in s.source.grids(level)]
                      for level in range(len(s.levels))]
        self.levels = s.level_json()
        self.spec_key = s.spec_key  # the front end drops its tiles and asks again

    def _on_choice(self, change: dict) -> None:
        """The selector zooms to the chosen well (field) of the mosaic."""
        if self._following:
            return
        parts = self.session.parts()
        index = int(change["new"])
        if 0 <= index < len(parts):
            x0, y0, x1, y1 = parts[index].box
            self.zoom_to((x0, y0, x1, y1))

    def _follow(self, view: View) -> None:
        """The selector names the well (field) a pan or zoom has brought to the middle of the
        view, once the view is no wider than two of them (not at plate scale); the selector
        then says where one is without zooming anywhere."""
        cx, cy = (view.x0 + view.x1) / 2, (view.y0 + view.y1) / 2
        for part in self.session.parts():
            x0, y0, x1, y1 = part.box
            if not (x0 <= cx < x1 and y0 <= cy < y1):
                continue
            if view.x1 - view.x0 <= 2 * (x1 - x0) and part.index != self.choice:
                self._following = True
                try:
                    self.choice = part.index
                finally:
                    self._following = False
            return

    # -- messages ------------------------------------------------------------------------------
    def _on_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in ("view", "hover", "click"):
            return
        with self._cond:
            self._pending[kind] = content  # latest-wins: a newer message replaces an older one
            self._cond.notify()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every message received is answered (tests, scripts)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        """Close the widget and end its worker thread."""
        cond = getattr(self, "_cond", None)  # None: __init__ failed before (ipywidgets' __del__)
        if cond is not None:
            with cond:
                self._closed = True
                self._pending.clear()
                cond.notify_all()
        super().close()

    def _take(self) -> dict[str, Any] | None:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._pending) or self._closed)
            if self._closed:
                return None
            self._busy = True
            for kind in ("view", "click", "hover"):
                if kind in self._pending:
                    return self._pending.pop(kind)
            raise AssertionError("unreachable")

    def _work(self) -> None:
        while (msg := self._take()) is not None:
            try:
                getattr(self, f"_serve_{msg['type']}")(msg)
            except Exception as exc:  # noqa: BLE001 - shown in the widget, never raised
                text = readable_error(exc)
                log.debug("viewer message failed: %s", text)
                self.status = text
                self.send({"type": "error", "message": text})
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _newer_view(self) -> bool:
        with self._cond:
            return "view" in self._pending

    def _serve_view(self, msg: dict[str, Any]) -> None:
        s = self.session
        view = View.from_message(msg)
        level, visible, ring = s.plan_view(view, previous=self.last_view)
        self._last = (level, visible)
        self.last_view = view
        self._follow(view)
        have = {str(k) for k in msg.get("have", [])} if msg.get("spec") == s.spec_key else set()
        todo = [k for k in visible if key_text(k) not in have]
        self._send_tiles(msg, level, s.tiles(todo), visible, prefetch=False)
        if self.on_view is not None:
            self.on_view(level, visible)
        if self.prefetch > 0 and not self._newer_view():
            todo = [k for k in ring if key_text(k) not in have][:PREFETCH_PER_VIEW]
            if todo:
                tiles = s.tiles(todo, stop=self._newer_view)  # a newer view cuts it short
                if tiles:
                    self._send_tiles(msg, level, tiles, ring, prefetch=True)
        if self.status:
            self.status = ""

    def _send_tiles(self, msg: dict[str, Any], level: int, tiles: list[Tile],
                    shown: list[TileKey], *, prefetch: bool) -> None:
        sel = self._selection_tiles(shown)
        self.send({"type": "tiles", "id": msg.get("id"), "spec": self.session.spec_key,
                   "encoding": self.session.encoding,
                   "level": level, "prefetch": prefetch, "tiles": [tl.meta() for tl in tiles],
                   "sel": [tl.meta() for tl in sel], "selected": self.selected},
                  buffers=[tl.data for tl in tiles] + [tl.data for tl in sel])

    def _selection_tiles(self, keys: list[TileKey]) -> list[Tile]:
        chosen = self.selected
        if not chosen or not chosen.get("value"):
            return []
        keys = [k for k in self.session.cached(keys) if k not in self._sel_sent]
        tiles = self.session.highlights(keys, chosen.get("name", ""), int(chosen["value"]),
                                        chosen.get("part"))
        self._sel_sent.update(keys)
        return tiles

    def _serve_hover(self, msg: dict[str, Any]) -> None:
        card = self.session.hover(self._last[0], float(msg["x"]), float(msg["y"]))
        self.hover = card
        self.send({"type": "hover", "id": msg.get("id"), **card})

    def _serve_click(self, msg: dict[str, Any]) -> None:
        found = self.session.label_at(self._last[0], float(msg["x"]), float(msg["y"]))
        if found is None or found[1] == 0 or (
                self.selected.get("value") == found[1] and self.selected.get("name") == found[0]):
            self.selected = {}  # a click on the background (or the selected object) clears
        else:
            name, value = found
            card = self.session.hover(self._last[0], float(msg["x"]), float(msg["y"]))
            self.selected = {**card, "name": name, "value": value}
        self._sel_sent.clear()
        level, visible = self._last
        sel = self._selection_tiles(visible)
        self.send({"type": "tiles", "id": None, "spec": self.session.spec_key, "level": level,
                   "encoding": self.session.encoding,
                   "prefetch": True, "tiles": [], "sel": [tl.meta() for tl in sel],
                   "selected": self.selected, "reset_sel": True},
                  buffers=[tl.data for tl in sel])
