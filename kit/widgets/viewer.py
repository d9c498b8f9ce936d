"""The viewer pane: a pan/zoom view of the image, and the controls that shape it, side by side.

The picture is ``kit.view``'s ``PanZoomView`` (``ViewerPane.picture``): wheel, drag and keys
move it, and it reads only the tiles it shows at the level the screen needs. Every control
change takes a snapshot of all controls on the main thread (a ``RenderSpec``: channels,
windows, colours, z, t, labels, style, opacity) and hands it to the worker's "preview" slot,
which sets it as the view's spec, so only the newest applies: a new window, colour, style or
opacity redraws from the data already read, another well or field sets the view's image (the
zoom stays when the size is the same), a ROI moves the view to its box. Slider ranges and
histograms come from the pixels the view read at the level it shows. Sliders use
``continuous_update=False``: one redraw per release, not one per pixel dragged.

What the user chose survives the next image: channel on/off, window and colour are kept per
channel label (the index when a channel has none), the label overlay, its style and opacity,
z and t stay as they are when the next image has them. The controls are built once and
reused; only the ones that do something for the image shown are displayed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np

from kit.render.color import hex_to_rgb
from kit.render.contrast import ChannelStats, channel_stats, slider_range
from kit.render.plane import yx_axes
from kit.render.spec import RenderSpec, Window
from kit.render.tiles import shown_channels
from kit.widgets._messages import esc, readable_error, status_html
from kit.widgets._worker import Worker
from kit.widgets.channels import ChannelRow

if TYPE_CHECKING:
    from kit.widgets.view.widget import PanZoomView

__all__ = ["ChannelSetting", "ViewerPane"]

_DEFAULT_COLOR = "#888888"
CONTROLS_WIDTH = "360px"
VIEW_BAR = 28  # the view's bar (title, zoom readout, Fit) above its canvas, in px
WIDE = 1.125   # the picture may be this much wider than ``max_size`` (280 + 576 + 360 < 1280)
MIN_WIDTH = 320  # narrower, the view's bar (title, readout, Fit) would not fit


def view_size(shape: tuple[int, int], max_size: int) -> tuple[int, int]:
    """(width, height) of the view's canvas for a field of level-0 ``shape`` (h, w): the
    field's own aspect ratio (no black bands beside or below it) inside the pane's box of
    ``max_size * WIDE`` by ``max_size`` (its bar included); only a field narrower than
    ``MIN_WIDTH`` allows gets bands."""
    h, w = max(1, shape[0]), max(1, shape[1])
    box_w, box_h = round(max_size * WIDE), max_size - VIEW_BAR
    scale = min(box_w / w, box_h / h)
    return max(MIN_WIDTH, min(box_w, round(w * scale))), max(64, min(box_h, round(h * scale)))
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"


def _hex(color: str | None) -> str:
    return f"#{color.lower()}" if color and len(color) == 6 else _DEFAULT_COLOR


def roi_box(image: Any, roi: Any) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in level-0 pixels of a ROI table row on ``image``."""
    iy, ix = yx_axes(image.axes)
    crop = image.roi_slices(roi, 0)
    ys, xs = crop[iy], crop[ix]
    return (float(xs.start or 0), float(ys.start or 0), float(xs.stop), float(ys.stop))


def is_fill(image: Any, level: int, data: np.ndarray) -> bool:
    """Whether every pixel of ``data`` (read from ``level``) is the array's fill value."""
    try:
        fill = image.level_array(level).fill_value
    except Exception:  # noqa: BLE001 - no fill value known: nothing to say
        return False
    if fill is None or data.size == 0:
        return False
    if isinstance(fill, float) and np.isnan(fill):
        return bool(np.isnan(data).all())
    return bool((data == fill).all())


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
    """Picture (left) with channel, contrast, z/t and label controls (right).

    ``tabs``: more panes (title, widget) shown as tabs beside the controls ("Display"), so the
    browser's details and table share the column instead of stacking below the picture.
    """

    def __init__(self, worker: Worker, *, max_size: int = 512, prefetch: int = 1,
                 tabs: Sequence[tuple[str, w.Widget]] = ()) -> None:
        self.worker = worker
        self.max_size = max_size
        self.prefetch = prefetch
        self.view: PanZoomView | None = None
        self._stats_level: tuple | None = None
        self.node: Any = None
        self.roi: Any = None
        self.roi_name: str = ""
        self.settings: dict[str, ChannelSetting] = {}
        self._defaults: dict[int, Window] = {}  # windows the first picture of this image used
        self._quiet = threading.local()
        self.on_error: Callable[[str], None] | None = None

        side, wide = f"{max_size}px", f"{round(max_size * WIDE)}px"
        self.placeholder = w.HTML("<i>Choose an image to preview.</i>")
        # a fixed box (the controls beside it never move); the view inside it takes the
        # field's aspect ratio, from the top-left
        self.picture_box = w.Box([self.placeholder], layout=w.Layout(
            width=wide, height=side, align_items="flex-start", justify_content="flex-start",
            overflow="hidden"))
        self.status = w.HTML("", layout=w.Layout(width=wide, height="24px", overflow="hidden"))

        self.rows: list[ChannelRow] = []  # a pool: grows to the most channels seen, reused
        self.channel_box = w.VBox(layout=w.Layout(width="100%"))
        self.z_slider = w.IntSlider(description="z", min=0, max=0, continuous_update=False,
                                    layout=w.Layout(width="100%"))
        self.t_slider = w.IntSlider(description="t", min=0, max=0, continuous_update=False,
                                    layout=w.Layout(width="100%"))
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
        self.gamma_slider = w.FloatLogSlider(description="gamma", value=1.0, base=10, min=-0.7,
                                             max=0.7, step=0.05, continuous_update=False,
                                             readout_format=".2f", layout=w.Layout(width="100%"))
        for control in (self.z_slider, self.t_slider, self.gamma_slider, self.label_dropdown,
                        self.label_style, self.opacity_slider):
            control.observe(self._changed, names="value")
        self.controls = w.VBox([
            self.channel_box, self.gamma_slider, self.z_slider, self.t_slider, self.label_box,
            self.roi_box,
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
            self._show_labels(list(labels) if image.kind != "label" else [])
            self._show_roi()
        self.controls.layout.display = ""
        if self.view is None:
            self.placeholder.value = "<i>Loading the picture …</i>"
        self.request()

    def clear(self, message: str = "") -> None:
        """Nothing to show (navigation moved to something that is not an image)."""
        self.worker.invalidate("preview")
        self.node = None
        self.controls.layout.display = "none"
        self.placeholder.value = f"<i>{esc(message or 'Choose an image to preview.')}</i>"
        self.picture_box.children = (self.placeholder,)  # the view is kept for the next image
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
        self.gamma_slider.layout.display = "" if names else "none"

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
        """Move the view to ``roi`` (a ROI table row) of the current image: its box fills the
        view, the image around it stays pannable; nothing is re-read or recomputed."""
        if self.node is None:
            return
        self.roi, self.roi_name = roi, name
        self._show_roi()
        if self.view is not None:
            self.view.zoom_to(roi_box(self.node, roi))
            self._show_status(self.node)

    def clear_roi(self) -> None:
        if self.roi is None:
            return
        self.roi, self.roi_name = None, ""
        self._show_roi()
        if self.view is not None:
            self.view.zoom_to(None)
            self._show_status(self.node)

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

    # -- the picture: a pan/zoom view ---------------------------------------------------------
    @property
    def picture(self) -> PanZoomView | None:
        """The pan/zoom view showing the image (None until the first image is shown)."""
        return self.view

    def snapshot(self) -> RenderSpec:
        """The controls as they are now (main thread): what the view draws."""
        is_label = self.node is not None and self.node.kind == "label"
        rows = [] if is_label else self.shown_rows
        chans = tuple(r.index for r in rows if r.visible.value)
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
            gamma=float(self.gamma_slider.value),
            labels=(label,) if label and not is_label else None,
            opacity=float(self.opacity_slider.value),
            label_style=self.label_style.value,
        )

    def request(self) -> None:
        """Bring the view up to date with the controls in the background: a new image is
        ``show``n, a new spec redraws from the data already read. Only the newest applies."""
        image = self.node
        if image is None:
            return
        spec = self.snapshot()
        self.status.value = _one_line(status_html("Loading …", "busy", spinner=True))
        # the slot's lock applies results in order and only the newest: the view changes there
        self.worker.submit("preview", lambda: None,
                           on_result=lambda _r: self._present(image, spec),
                           on_error=lambda msg, _exc: self._failed(msg))

    def _present(self, image: Any, spec: RenderSpec) -> None:
        """(Worker thread.) Show ``image`` with ``spec`` in the view, made on first use."""
        from kit.widgets.view.widget import PanZoomView

        try:
            view = self.view
            iy, ix = yx_axes(image.axes)
            shape0 = image.levels[0].shape
            width, height = view_size((shape0[iy], shape0[ix]), self.max_size)
            if view is None:
                view = PanZoomView(image, spec, width=width, height=height,
                                   prefetch=self.prefetch)
                view.on_view = self._viewed
                self.view = view
                fresh = True
            elif view.image is not image:
                if (view.width, view.height) != (width, height):
                    view.last_view = None  # another shape: the front end fits it anew
                    view.width, view.height = width, height
                view.show(image, spec)
                fresh = True
            else:
                before = view.session.renderer.data_key()
                view.spec = spec  # windows, colours, style, opacity: redrawn from data read
                fresh = view.session.renderer.data_key() != before
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self._failed(readable_error(exc))
            return
        if self.picture_box.children != (view,):
            self.picture_box.children = (view,)
        if fresh:  # new pixels: the controls' ranges and histograms follow them
            self._stats_level = None
            self._viewed(*view._last, cold=True)
        self._show_status(image)

    def _viewed(self, level: int, tiles: list, *, cold: bool = False) -> None:
        """(A worker thread.) The statistics of the pixels the view read at the level it
        shows, once per level and data: slider ranges and histograms follow the zoom."""
        view = self.view
        if view is None or self.node is None or self.node.kind == "label":
            return
        session = view.session
        key = (level, session.renderer.data_key())
        if key == self._stats_level:
            return
        data = session.shown_data(tiles) if tiles else None
        if data is None:
            if not cold:
                return
            data = session.coarsest_data()
            if data is None:
                return
        else:
            self._stats_level = key
            if is_fill(session.image, level, data):  # nothing stored: say so, keep the stats
                note = (f"level {level} stores no data here: every pixel read is the fill "
                        "value (its chunks are missing); zoom out for a coarser level")
                self.status.value = _one_line(status_html(note, "warn"), note)
                return
            self._show_status(session.image)
        chans = shown_channels(session.image, session.spec)
        self.show_stats(chans, session.windows, [channel_stats(d) for d in data])

    def _show_status(self, image: Any) -> None:
        h, wd = image.levels[0].shape[-2:]
        name = image.path or image.name or ""
        where = f", ROI {self.roi_name}" if self.roi is not None else ""
        text = f"{name}: {wd}×{h} px, {len(image.levels)} level(s){where}"
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
