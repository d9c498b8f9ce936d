"""The viewer pane: a picture rendered in the kernel, and the controls that shape it, side by side.

Pixels are rendered in the kernel and sent as PNG bytes to a core ``widgets.Image``
(``ViewerPane.picture``, the one widget that shows pixels: a pan/zoom view can take its place,
fed by the same ``snapshot()``): kernel credentials keep working, and it renders in Lab,
Notebook 7, Voila, VS Code and Colab without custom JavaScript. Every control change takes a
snapshot of all controls on the main thread and hands it to the worker's "preview" slot, so
only the newest picture is ever shown. Sliders use ``continuous_update=False``: one render per
release, not one per pixel dragged.

What the user chose survives the next image: channel on/off, window and colour are kept per
channel label (the index when a channel has none), the label overlay, its style and opacity,
z, t and level stay as they are when the next image has them. The controls are built once and
reused; only the ones that do something for the image shown are displayed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import numpy as np

from kit.render.color import hex_to_rgb
from kit.render.contrast import ChannelStats, slider_range
from kit.render.spec import RenderSpec, Window
from kit.widgets._messages import esc, status_html
from kit.widgets._render import ViewResult, render_view
from kit.widgets._worker import Worker
from kit.widgets.channels import ChannelRow

__all__ = ["ChannelSetting", "ViewerPane"]

AUTO = -1
_DEFAULT_COLOR = "#888888"
CONTROLS_WIDTH = "360px"
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"


def _hex(color: str | None) -> str:
    return f"#{color.lower()}" if color and len(color) == 6 else _DEFAULT_COLOR


def _one_line(html: str, title: str = "") -> str:
    """``html`` on one line, cut with an ellipsis: a long name never reflows the layout."""
    tip = f" title='{esc(title)}'" if title else ""
    return f"<div style='{_ONE_LINE}'{tip}>{html}</div>"


@dataclass
class ChannelSetting:
    """What the user chose for one channel; None leaves it to the image's metadata."""

    visible: bool | None = None
    window: Window | None = None
    color: str | None = None


class ViewerPane(w.HBox):
    """Picture (left) with channel, contrast, z/t, level and label controls (right).

    ``tabs``: more panes (title, widget) shown as tabs beside the controls ("Display"), so the
    browser's details and table share the column instead of stacking below the picture.
    """

    def __init__(self, worker: Worker, *, max_size: int = 512,
                 tabs: Sequence[tuple[str, w.Widget]] = ()) -> None:
        self.worker = worker
        self.max_size = max_size
        self.node: Any = None
        self.roi: Any = None
        self.roi_name: str = ""
        self.last_result: ViewResult | None = None
        self.settings: dict[str, ChannelSetting] = {}
        self._defaults: dict[int, Window] = {}  # windows the first picture of this image used
        self._quiet = threading.local()
        self.on_error: Callable[[str], None] | None = None

        side = f"{max_size}px"
        self.picture = w.Image(format="png", layout=w.Layout(
            max_width="100%", max_height="100%", object_fit="contain", display="none"))
        self.placeholder = w.HTML("<i>Choose an image to preview.</i>")
        self.picture_box = w.Box([self.placeholder, self.picture], layout=w.Layout(
            width=side, height=side, align_items="center", justify_content="center",
            border="1px solid #ddd", overflow="hidden"))
        self.status = w.HTML("", layout=w.Layout(width=side, height="24px", overflow="hidden"))

        self.rows: list[ChannelRow] = []  # a pool: grows to the most channels seen, reused
        self.channel_box = w.VBox(layout=w.Layout(width="100%"))
        self.z_slider = w.IntSlider(description="z", min=0, max=0, continuous_update=False,
                                    layout=w.Layout(width="100%"))
        self.t_slider = w.IntSlider(description="t", min=0, max=0, continuous_update=False,
                                    layout=w.Layout(width="100%"))
        self.level_dropdown = w.Dropdown(description="level", options=[("auto", AUTO)],
                                         value=AUTO, layout=w.Layout(width="100%"))
        self.label_dropdown = w.Dropdown(description="labels", options=[("none", "")], value="",
                                         layout=w.Layout(width="100%"))
        self.label_style = w.ToggleButtons(options=["outline", "fill"], value="outline",
                                           description="style",
                                           style={"button_width": "70px"})
        self.opacity_slider = w.FloatSlider(description="opacity", min=0.0, max=1.0, step=0.05,
                                            value=0.5, continuous_update=False,
                                            layout=w.Layout(width="100%"))
        self.label_box = w.VBox([self.label_dropdown, self.label_style, self.opacity_slider],
                                layout=w.Layout(width="100%"))
        self.roi_html = w.HTML("", layout=w.Layout(width="210px", overflow="hidden"))
        self.roi_reset = w.Button(description="Whole image", icon="expand",
                                  layout=w.Layout(width="130px"))
        self.roi_reset.on_click(lambda _b: self.clear_roi())
        self.roi_box = w.HBox([self.roi_html, self.roi_reset])
        for control in (self.z_slider, self.t_slider, self.level_dropdown, self.label_dropdown,
                        self.label_style, self.opacity_slider):
            control.observe(self._changed, names="value")
        self.controls = w.VBox([
            self.channel_box, self.z_slider, self.t_slider, self.level_dropdown,
            self.label_box, self.roi_box,
        ], layout=w.Layout(width="100%", display="none"))
        self.controls.add_class("ngff-kit-controls")
        self.side = w.Tab(children=[self.controls] + [widget for _, widget in tabs],
                          titles=("Display", *(title for title, _ in tabs)),
                          layout=w.Layout(width=CONTROLS_WIDTH, height=f"{max_size + 24}px",
                                          overflow="auto"))
        for box in (self.roi_box, self.label_box):
            box.layout.display = "none"
        super().__init__([w.VBox([self.status, self.picture_box]), self.side],
                         layout=w.Layout(align_items="flex-start", grid_gap="6px",
                                         flex_flow="row wrap"))
        self.add_class("ngff-kit-viewer")

    # -- programmatic updates must not trigger renders ------------------------------------------
    @contextmanager
    def _programmatic(self):
        self._quiet.on = True
        try:
            yield
        finally:
            self._quiet.on = False

    def _is_quiet(self) -> bool:
        return getattr(self._quiet, "on", False)

    # -- the channels shown, as controls ----------------------------------------------------
    @property
    def shown_rows(self) -> list[ChannelRow]:
        """The rows of the current image's channels (the pool may hold more, hidden)."""
        return [r for r in self.rows if r.layout.display != "none"]

    @property
    def channel_toggles(self) -> list[w.Checkbox]:
        return [r.visible for r in self.shown_rows]

    @property
    def contrast_sliders(self) -> list[w.FloatRangeSlider]:
        return [r.window for r in self.shown_rows]

    def _key(self, index: int) -> str:
        labels = [c.label for c in self.node.channels] if self.node is not None else []
        label = labels[index] if index < len(labels) else None
        return f"label:{label}" if label else f"index:{index}"

    def _setting(self, index: int) -> ChannelSetting:
        return self.settings.setdefault(self._key(index), ChannelSetting())

    # -- the image shown ----------------------------------------------------------------------
    def show(self, image: Any, labels: Sequence[str] = ()) -> None:
        """Show ``image`` (an Image or Label whose levels are already loaded) with the names
        of the ``labels`` it can overlay; what the user chose before is kept where it fits."""
        self.node, self.roi, self.roi_name = image, None, ""
        self._defaults = {}
        with self._programmatic():
            self._show_channels(image)
            self._show_axes(image)
            self._show_levels(image)
            self._show_labels(list(labels) if image.kind != "label" else [])
            self._show_roi()
        self.controls.layout.display = ""
        if self.picture.layout.display == "none":
            self.placeholder.value = "<i>Loading the picture …</i>"
        self.request()

    def clear(self, message: str = "") -> None:
        """Nothing to show (navigation moved to something that is not an image)."""
        self.worker.invalidate("preview")
        self.node = None
        self.controls.layout.display = "none"
        self.picture.layout.display = "none"
        self.picture.value = b""
        self.placeholder.value = f"<i>{esc(message or 'Choose an image to preview.')}</i>"
        self.placeholder.layout.display = ""
        self.status.value = ""

    def _row(self, index: int) -> ChannelRow:
        while len(self.rows) <= index:
            self.rows.append(ChannelRow(self._channel_changed))
            self.channel_box.children = tuple(self.rows)
        return self.rows[index]

    def _show_channels(self, image: Any) -> None:
        if image.kind == "label":
            names: list[str] = []
        else:
            names = list(image.channel_names) if "c" in image.axes \
                else [image.name or "intensity"]
        meta = image.channels
        integer = np.issubdtype(image.levels[0].dtype, np.integer)
        any_active = any(c.active for c in meta)
        for i, name in enumerate(names):
            ch = meta[i] if i < len(meta) else None
            setting = self._setting(i)
            visible = setting.visible if setting.visible is not None else \
                (ch.active if ch and any_active else True)
            window = setting.window or ((ch.window.start, ch.window.end)
                                        if ch and ch.window else None)
            self._row(i).show(i, str(name), visible=bool(visible),
                              color=setting.color or _hex(ch.color if ch else None),
                              window=window, span=slider_range(None, window,
                                                               limits=self._limits(i)),
                              integer=bool(integer))
        for row in self.rows[len(names):]:
            row.layout.display = "none"
        self.channel_box.layout.display = "" if names else "none"

    def _limits(self, index: int) -> tuple[float | None, float | None]:
        """The omero window's min/max: the data range the metadata declares."""
        meta = self.node.channels if self.node is not None else []
        win = meta[index].window if index < len(meta) else None
        return (win.min, win.max) if win is not None else (None, None)

    def _show_axes(self, image: Any) -> None:
        shape0 = image.levels[0].shape
        for axis, slider in (("z", self.z_slider), ("t", self.t_slider)):
            n = shape0[image.axes.index(axis)] if axis in image.axes else 1
            keep = slider.layout.display != "none" and slider.max == n - 1
            if not keep:
                slider.max = max(0, n - 1)
                slider.value = n // 2 if axis == "z" else 0
            slider.layout.display = "" if n > 1 else "none"

    def _show_levels(self, image: Any) -> None:
        axes = image.axes
        iy = axes.index("y") if "y" in axes else -2
        ix = axes.index("x") if "x" in axes else -1
        options = [("auto", AUTO)] + [
            (f"{lv.index}: {lv.shape[ix]}×{lv.shape[iy]}", lv.index) for lv in image.levels]
        value = self.level_dropdown.value
        if list(self.level_dropdown.options) != options:
            self.level_dropdown.options = options
        self.level_dropdown.value = value if value in [v for _, v in options] else AUTO
        self.level_dropdown.layout.display = "" if len(image.levels) > 1 else "none"

    def _show_labels(self, labels: list[str]) -> None:
        chosen = self.label_dropdown.value
        options = [("none", "")] + [(n, n) for n in labels]
        if list(self.label_dropdown.options) != options:
            self.label_dropdown.options = options
        self.label_dropdown.value = chosen if chosen in labels else ""
        self.label_box.layout.display = "" if labels else "none"
        self._show_label_style()

    def _show_label_style(self) -> None:
        on = "" if self.label_dropdown.value else "none"
        self.label_style.layout.display = on
        self.opacity_slider.layout.display = on

    # -- ROI zoom -----------------------------------------------------------------------------
    def zoom_to(self, roi: Any, name: str = "") -> None:
        """Show only ``roi`` (a ROI table row) of the current image, read via ``read_roi``."""
        if self.node is None:
            return
        self.roi, self.roi_name = roi, name
        self._show_roi()
        self.request()

    def clear_roi(self) -> None:
        if self.roi is None:
            return
        self.roi, self.roi_name = None, ""
        self._show_roi()
        self.request()

    def _show_roi(self) -> None:
        zoomed = self.roi is not None
        self.roi_html.value = _one_line(f"Zoomed to ROI <b>{esc(self.roi_name)}</b>",
                                        self.roi_name) if zoomed else ""
        self.roi_box.layout.display = "" if zoomed else "none"

    # -- user changes ---------------------------------------------------------------------------
    def _changed(self, change: dict | None = None) -> None:
        if change is not None and change.get("owner") is self.label_dropdown:
            self._show_label_style()
        if not self._is_quiet():
            self.request()

    def _channel_changed(self, row: ChannelRow, what: str) -> None:
        if self._is_quiet() or self.node is None:
            return
        setting = self._setting(row.index)
        if what == "visible":
            setting.visible = bool(row.visible.value)
        elif what == "color":
            setting.color = row.color.value
        elif what == "window":
            setting.window = row.current_window
        elif what == "auto":
            if row.stats is None:
                return
            setting.window = row.stats.auto
            with self._programmatic():
                row.set_window(row.stats.auto, slider_range(row.stats, row.stats.auto,
                                                            limits=self._limits(row.index)))
        self.request()

    def auto_contrast(self, index: int | None = None) -> None:
        """Auto window (0.1–99.9 percentiles of the pixels shown) for channel ``index``, or
        for every shown channel; what the "auto" buttons do."""
        rows = self.shown_rows if index is None else [self.rows[index]]
        for row in rows:
            if row.stats is not None:
                self._channel_changed(row, "auto")

    # -- rendering ------------------------------------------------------------------------------
    def snapshot(self) -> RenderSpec:
        """The controls as they are now (main thread), for the worker to render."""
        is_label = self.node is not None and self.node.kind == "label"
        rows = [] if is_label else self.shown_rows
        chans = tuple(r.index for r in rows if r.visible.value)
        level = self.level_dropdown.value
        has_z = self.node is not None and "z" in self.node.axes
        has_t = self.node is not None and "t" in self.node.axes
        label = self.label_dropdown.value
        return RenderSpec(
            channels=chans if not is_label else None,
            windows=tuple(self._setting(i).window or self._defaults.get(i) for i in chans)
            if not is_label else None,
            colors=tuple(hex_to_rgb(r.color.value) for r in rows if r.visible.value)
            if not is_label else None,
            z=self.z_slider.value if has_z else None,
            t=self.t_slider.value if has_t else None,
            level=None if level == AUTO else int(level),
            labels=(label,) if label and not is_label else None,
            opacity=float(self.opacity_slider.value),
            label_style=self.label_style.value,
            max_size=self.max_size,
            roi=self.roi,
        )

    def request(self) -> None:
        """Render the current view in the background; a newer request makes this one stale."""
        image = self.node
        if image is None:
            return
        req = self.snapshot()
        self.status.value = _one_line(status_html("Loading preview …", "busy", spinner=True))
        self.worker.submit("preview", lambda: render_view(image, req),
                           on_result=lambda r: self._apply(r, req),
                           on_error=lambda msg, _exc: self._failed(msg))

    def _apply(self, result: ViewResult, req: RenderSpec) -> None:
        self.last_result = result
        self.picture.value = result.png
        self.picture.layout.display = ""
        self.placeholder.layout.display = "none"
        self.show_stats(result.channels, result.windows, result.stats)
        where = f", ROI {self.roi_name}" if req.roi is not None else ""
        auto = " (auto)" if req.level is None else ""
        h, wd = result.shape
        name = (self.node.path or self.node.name) if self.node else ""
        text = f"{name}: level {result.level}{auto}, {wd}×{h} px{where}"
        if result.note:
            self.status.value = _one_line(status_html(f"{text}: {result.note}", "warn"),
                                          result.note)
        else:
            self.status.value = _one_line(status_html(text, "info"), text)

    def show_stats(self, channels: Sequence[int], windows: Sequence[Window],
                   stats: Sequence[ChannelStats]) -> None:
        """What a picture showed, per shown channel: the window it used and the statistics
        of its pixels. Sets slider ranges, histograms and the auto buttons (no new render);
        the first window an image was drawn with stays its default (a ROI or zoom does not
        recompute it). Any picture widget may call it with what it drew."""
        with self._programmatic():
            for i, window, st in zip(channels, windows, stats):
                if i >= len(self.rows):
                    continue
                row = self.rows[i]
                self._defaults.setdefault(i, window)
                shown = self._setting(i).window or self._defaults[i]
                row.set_window(shown, slider_range(st, shown, limits=self._limits(i)))
                row.set_stats(st)

    def _failed(self, message: str) -> None:
        self.status.value = _one_line(status_html(message, "error"), message)
        if self.on_error is not None:
            self.on_error(message)
