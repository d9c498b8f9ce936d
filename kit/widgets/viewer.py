"""The viewer pane: a PNG preview rendered in the kernel, and the controls that shape it.

Pixels are rendered in the kernel and sent as PNG bytes to a core ``widgets.Image``: kernel
credentials keep working, and it renders in Lab, Notebook 7, Voila, VS Code and Colab without
custom JavaScript. Every control change takes a snapshot of all controls on the main thread and
hands it to the worker's "preview" slot, so only the newest picture is ever shown. Sliders use
``continuous_update=False``: one render per release, not one per pixel dragged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import ipywidgets as w
import numpy as np

from kit.render.spec import RenderSpec
from kit.widgets._messages import esc, status_html
from kit.widgets._render import ViewResult, render_view
from kit.widgets._worker import Worker

__all__ = ["ViewerPane"]

AUTO = -1
_DEFAULT_COLOR = "#888888"


def _hex(color: str | None) -> str:
    return f"#{color}" if color and len(color) == 6 else _DEFAULT_COLOR


def _slider_bounds(dtype: np.dtype, window: Any) -> tuple[float, float]:
    """The contrast slider's range: the omero window's min/max, else the dtype's range."""
    if window is not None and window.min is not None and window.max is not None \
            and window.max > window.min:
        return float(window.min), float(window.max)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(max(info.min, -(2**31))), float(min(info.max, 2**31 - 1))
    return 0.0, 1.0


class ViewerPane(w.VBox):
    """Preview image with channel, contrast, z/t, level and label-overlay controls."""

    def __init__(self, worker: Worker, *, max_size: int = 512) -> None:
        self.worker = worker
        self.max_size = max_size
        self.node: Any = None
        self.roi: Any = None
        self.roi_name: str = ""
        self.last_result: ViewResult | None = None
        self._quiet = threading.local()
        self._user_windows: dict[int, tuple[float, float]] = {}
        self.on_error: Callable[[str], None] | None = None

        self.image = w.Image(format="png", layout=w.Layout(max_width=f"{max_size}px",
                                                           min_height="64px", object_fit="contain"))
        self.status = w.HTML("<i>Choose an image to preview.</i>")
        self.channel_toggles: list[w.ToggleButton] = []
        self.contrast_sliders: list[w.FloatRangeSlider] = []
        self.channel_box = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.contrast_box = w.VBox()
        self.z_slider = w.IntSlider(description="z", min=0, max=0, continuous_update=False)
        self.t_slider = w.IntSlider(description="t", min=0, max=0, continuous_update=False)
        self.level_dropdown = w.Dropdown(description="level", options=[("auto", AUTO)], value=AUTO)
        self.label_dropdown = w.Dropdown(description="labels", options=[("none", "")], value="")
        self.label_style = w.Dropdown(description="style", options=["outline", "fill"],
                                      value="outline", layout=w.Layout(width="180px"))
        self.opacity_slider = w.FloatSlider(description="opacity", min=0.0, max=1.0, step=0.05,
                                            value=0.5, continuous_update=False)
        self.roi_html = w.HTML("")
        self.roi_reset = w.Button(description="Whole image", icon="expand",
                                  layout=w.Layout(display="none", width="130px"))
        self.roi_reset.on_click(lambda _b: self.clear_roi())
        for control in (self.z_slider, self.t_slider, self.level_dropdown, self.label_dropdown,
                        self.label_style, self.opacity_slider):
            control.observe(self._changed, names="value")
        self.controls = w.VBox([
            self.channel_box, self.contrast_box, self.z_slider, self.t_slider,
            self.level_dropdown, w.HBox([self.label_dropdown, self.label_style]),
            self.opacity_slider, w.HBox([self.roi_html, self.roi_reset]),
        ])
        self.controls.layout.display = "none"
        super().__init__([self.status, self.image, self.controls])
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

    # -- the image shown ----------------------------------------------------------------------
    def show(self, image: Any, labels: Sequence[str] = ()) -> None:
        """Show ``image`` (an Image or Label whose levels are already loaded) with the names
        of the ``labels`` it can overlay."""
        self.node, self.roi, self.roi_name = image, None, ""
        self._user_windows = {}
        with self._programmatic():
            self._build_channels(image)
            self._build_axes(image)
            self._build_levels(image)
            labels = list(labels) if image.kind != "label" else []
            self.label_dropdown.options = [("none", "")] + [(n, n) for n in labels]
            self.label_dropdown.value = ""
            self.label_dropdown.layout.display = "" if labels else "none"
            self.label_style.layout.display = "" if labels else "none"
            self.opacity_slider.layout.display = "" if labels else "none"
            self._show_roi()
        self.controls.layout.display = ""
        self.request()

    def clear(self, message: str = "") -> None:
        """Nothing to show (navigation moved to something that is not an image)."""
        self.worker.invalidate("preview")
        self.node = None
        self.controls.layout.display = "none"
        self.image.value = b""
        self.status.value = f"<i>{esc(message)}</i>" if message else ""

    def _build_channels(self, image: Any) -> None:
        names = image.channel_names if "c" in image.axes else [image.name or "intensity"]
        meta = image.channels
        dtype = image.levels[0].dtype
        any_active = any(c.active for c in meta)
        toggles, sliders = [], []
        for i, name in enumerate(names):
            ch = meta[i] if i < len(meta) else None
            color = _hex(ch.color if ch else None)
            active = (ch.active if ch and any_active else True) if image.kind != "label" else True
            toggle = w.ToggleButton(value=bool(active), description=str(name), icon="circle",
                                    tooltip=f"show/hide channel {name}",
                                    layout=w.Layout(width="auto"))
            toggle.style.text_color = color
            toggle.style.font_weight = "bold"
            toggle.observe(self._changed, names="value")
            lo, hi = _slider_bounds(dtype, ch.window if ch else None)
            start, end = (ch.window.start, ch.window.end) if ch and ch.window else (lo, hi)
            start, end = min(max(start, lo), hi), min(max(end, lo), hi)
            slider = w.FloatRangeSlider(value=(start, end), min=lo, max=hi,
                                        step=1.0 if np.issubdtype(dtype, np.integer) else 0.001,
                                        description=str(name)[:12], continuous_update=False,
                                        readout_format=".0f" if np.issubdtype(dtype, np.integer)
                                        else ".3f", layout=w.Layout(width="420px"))
            slider.style.handle_color = color
            slider.observe(self._contrast_changed, names="value")
            toggles.append(toggle)
            sliders.append(slider)
        self.channel_toggles, self.contrast_sliders = toggles, sliders
        self.channel_box.children = tuple(toggles)
        self.contrast_box.children = tuple(sliders)
        hide = "none" if image.kind == "label" else ""
        self.channel_box.layout.display = hide
        self.contrast_box.layout.display = hide

    def _build_axes(self, image: Any) -> None:
        shape0 = image.levels[0].shape
        for axis, slider in (("z", self.z_slider), ("t", self.t_slider)):
            n = shape0[image.axes.index(axis)] if axis in image.axes else 1
            slider.max = max(0, n - 1)
            slider.value = n // 2 if axis == "z" else 0
            slider.layout.display = "" if n > 1 else "none"

    def _build_levels(self, image: Any) -> None:
        axes = image.axes
        iy = axes.index("y") if "y" in axes else -2
        ix = axes.index("x") if "x" in axes else -1
        options = [("auto", AUTO)] + [
            (f"{lv.index}: {lv.shape[ix]}×{lv.shape[iy]}", lv.index) for lv in image.levels]
        self.level_dropdown.options = options
        self.level_dropdown.value = AUTO

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
        self.roi_html.value = f"Zoomed to ROI <b>{esc(self.roi_name)}</b>" if zoomed else ""
        self.roi_reset.layout.display = "" if zoomed else "none"

    # -- rendering ------------------------------------------------------------------------------
    def _changed(self, _change: dict | None = None) -> None:
        if not self._is_quiet():
            self.request()

    def _contrast_changed(self, change: dict) -> None:
        if self._is_quiet():
            return
        i = self.contrast_sliders.index(change["owner"])
        self._user_windows[i] = tuple(change["new"])
        self.request()

    def snapshot(self) -> RenderSpec:
        """The controls as they are now (main thread), for the worker to render."""
        chans = tuple(i for i, t in enumerate(self.channel_toggles) if t.value)
        level = self.level_dropdown.value
        has_z = self.node is not None and "z" in self.node.axes
        has_t = self.node is not None and "t" in self.node.axes
        is_label = self.node is not None and self.node.kind == "label"
        label = self.label_dropdown.value
        return RenderSpec(
            channels=chans if not is_label else None,
            windows=tuple(self._user_windows.get(i) for i in chans) if not is_label else None,
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
        self.status.value = status_html("Loading preview …", "busy", spinner=True)
        self.worker.submit("preview", lambda: render_view(image, req),
                           on_result=lambda r: self._apply(r, req),
                           on_error=lambda msg, _exc: self._failed(msg))

    def _apply(self, result: ViewResult, req: RenderSpec) -> None:
        self.last_result = result
        self.image.value = result.png
        with self._programmatic():  # show the windows used, without rendering again
            shown = [c for c in req.channels if isinstance(c, int)] \
                if isinstance(req.channels, tuple) else []
            for i, window in zip(shown, result.windows):
                if i not in self._user_windows and i < len(self.contrast_sliders):
                    s = self.contrast_sliders[i]
                    lo, hi = min(s.min, window[0]), max(s.max, window[1])
                    if (lo, hi) != (s.min, s.max):
                        s.max, s.min = hi, lo
                    s.value = (max(lo, window[0]), min(hi, window[1]))
        where = f", ROI {self.roi_name}" if req.roi is not None else ""
        auto = " (auto)" if req.level is None else ""
        h, wd = result.shape
        name = (self.node.path or self.node.name) if self.node else ""
        self.status.value = status_html(
            f"{name}: level {result.level}{auto}, {wd}×{h} px{where}", "info")

    def _failed(self, message: str) -> None:
        self.status.value = status_html(message, "error")
        if self.on_error is not None:
            self.on_error(message)

