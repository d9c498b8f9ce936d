"""One channel's controls: on/off with its colour, contrast window, auto button, histogram.

A row is built once and reused for every image the viewer shows (``ChannelRow.show``), so
browsing a plate does not leave a trail of widget models behind. The on/off state is a
checkbox beside a colour swatch (the colour picker itself), legible whatever the colour; the
slider spans what the data holds (``kit.render.contrast.slider_range``), never the dtype; the
histogram is a tiny inline SVG of log counts with the window drawn on it.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w
import numpy as np

from kit.render.contrast import ChannelStats
from kit.widgets._messages import esc

__all__ = ["ChannelRow", "histogram_svg"]

Window = tuple[float, float]
_SVG_H = 22


def histogram_svg(stats: ChannelStats | None, window: Window | None, span: Window,
                  color: str, *, on: bool = True) -> str:
    """A ``span``-wide strip: log-count bars of ``stats`` and the ``window`` as a band with
    edges, in ``color`` (grey when the channel is off). Empty stats: the band alone."""
    lo, hi = span
    width = hi - lo if hi > lo else 1.0
    fill = color if on else "#999999"

    def x(v: float) -> float:
        return round(min(max((v - lo) / width, 0.0), 1.0) * 1000, 1)

    parts = []
    if window is not None:
        a, b = x(min(window)), x(max(window))
        parts.append(f"<rect x='{a}' y='0' width='{max(b - a, 1)}' height='{_SVG_H}' "
                     f"fill='{fill}' fill-opacity='0.15'/>")
    if stats is not None and stats.counts.size:
        heights = stats.log_counts()
        top = float(heights.max()) or 1.0
        edges = stats.edges
        for k, h in enumerate(heights):
            if h <= 0:
                continue
            a, b = x(float(edges[k])), x(float(edges[k + 1]))
            bar = round(float(h) / top * (_SVG_H - 2), 1)
            parts.append(f"<rect x='{a}' y='{_SVG_H - bar}' width='{max(b - a, 2)}' "
                         f"height='{bar}' fill='{fill}' fill-opacity='0.8'/>")
    if window is not None:
        for v in window:
            parts.append(f"<rect x='{x(v) - 3}' y='0' width='6' height='{_SVG_H}' "
                         f"fill='#333'/>")
    return (f"<svg viewBox='0 0 1000 {_SVG_H}' preserveAspectRatio='none' width='100%' "
            f"height='{_SVG_H}' style='display:block;background:#f4f4f4' "
            f"class='ngff-kit-histogram'>{''.join(parts)}</svg>")


class ChannelRow(w.VBox):
    """The controls of one channel; ``on_change(row, what)`` reports a user's change
    ("visible", "color", "window" or "auto"), never a programmatic one."""

    def __init__(self, on_change: Callable[[ChannelRow, str], None]) -> None:
        self.on_change = on_change
        self.index = 0
        self.integer = True
        self.stats: ChannelStats | None = None
        self._quiet = False
        self.visible = w.Checkbox(value=True, description="", indent=False,
                                  layout=w.Layout(width="200px", overflow="hidden"))
        self.visible.add_class("ngff-kit-channel-on")
        self.color = w.ColorPicker(value="#888888", concise=True, description="",
                                   layout=w.Layout(width="32px"))
        self.auto = w.Button(description="auto", tooltip="auto contrast: 0.1–99.9 percentiles "
                             "of the pixels shown", disabled=True,
                             layout=w.Layout(width="52px", height="24px", padding="0"))
        self.auto.add_class("ngff-kit-auto")
        self.window = w.FloatRangeSlider(value=(0.0, 1.0), min=0.0, max=1.0, step=1.0,
                                         description="", continuous_update=False,
                                         readout_format=".0f",
                                         layout=w.Layout(width="100%", margin="0"))
        self.histogram = w.HTML("", layout=w.Layout(width="100%", margin="0 0 4px 0"))
        self.visible.observe(lambda _c: self._report("visible"), names="value")
        self.color.observe(lambda _c: self._report("color"), names="value")
        self.window.observe(lambda _c: self._report("window"), names="value")
        self.auto.on_click(lambda _b: self._report("auto"))
        self.auto.layout.margin = "0 0 0 auto"  # pushed to the right end of the row
        head = w.HBox([self.color, self.visible, self.auto],
                      layout=w.Layout(align_items="center", grid_gap="4px"))
        super().__init__([head, self.window, self.histogram],
                         layout=w.Layout(width="100%", margin="0 0 2px 0"))
        self.add_class("ngff-kit-channel")

    def _report(self, what: str) -> None:
        if not self._quiet:
            self.on_change(self, what)
            if what in ("visible", "color", "window"):
                self.draw_histogram()

    def show(self, index: int, name: str, *, visible: bool, color: str,
             window: Window | None, span: Window, integer: bool) -> None:
        """Point the row at channel ``index`` of a new image (no change is reported)."""
        self.index, self.stats, self.integer = index, None, integer
        self._quiet = True
        try:
            self.visible.description = name
            self.visible.tooltip = f"show or hide channel {name}"
            self.visible.value = visible
            self.color.value = color
            self.window.readout_format = ".0f" if integer else ".4g"
            self.set_window(window, span)
        finally:
            self._quiet = False
        self.auto.disabled = True
        self.layout.display = ""
        self.draw_histogram()

    def set_window(self, window: Window | None, span: Window) -> None:
        """Slider range ``span`` with ``window`` inside it (None: unknown until data arrives,
        the slider waits disabled). Reports nothing."""
        s = self.window
        lo, hi = span
        quiet, self._quiet = self._quiet, True
        try:
            s.step = 1.0 if self.integer else max((hi - lo) / 1000.0, np.finfo(float).tiny)
            s.max = max(s.max, hi)  # widen first: the value is never clamped on the way
            s.min = min(s.min, lo)
            if window is not None:
                s.value = (min(max(window[0], lo), hi), min(max(window[1], lo), hi))
            s.min, s.max = lo, hi
            s.disabled = window is None
        finally:
            self._quiet = quiet
        self.draw_histogram()

    def set_stats(self, stats: ChannelStats) -> None:
        self.stats = stats
        self.auto.disabled = False
        self.draw_histogram()

    @property
    def current_window(self) -> Window:
        lo, hi = self.window.value
        return (float(lo), float(hi))

    def draw_histogram(self) -> None:
        window = None if self.window.disabled else self.current_window
        self.histogram.value = histogram_svg(self.stats, window,
                                             (self.window.min, self.window.max),
                                             esc(self.color.value), on=self.visible.value)
