"""Contrast from the data: the statistics of the pixels shown, an auto window, a slider range.

A 16-bit microscope channel rarely spans its dtype: the Fractal plate's DAPI sits in 110-800 of
0-65535, so a slider over the dtype puts the whole useful range in its first 1 %. The range a
control offers, the auto window (0.1-99.9 percentiles, as napari and Fiji's "auto" do) and the
small histogram drawn beside a slider all come from the data shown, computed here once per
picture with numpy only, so the browser's viewer, a pan/zoom view and the CLI can share them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["AUTO_PERCENTILES", "ChannelStats", "auto_window", "channel_stats", "slider_range"]

#: The auto window: a few hot or dead pixels in a thousand do not set the contrast.
AUTO_PERCENTILES = (0.1, 99.9)
#: Histogram bins: enough to see a background peak and a signal tail in 300 px.
BINS = 64
#: The statistics of at most this many pixels (a strided subsample beyond it): percentiles of a
#: million pixels are as good as those of ten million, at a tenth of the cost.
MAX_SAMPLES = 1 << 20

Window = tuple[float, float]


@dataclass(frozen=True)
class ChannelStats:
    """What the shown pixels of one channel hold.

    ``low``/``high``: the smallest and largest finite values; ``auto``: the auto window;
    ``top``: where the useful range ends, the auto window's end plus its width again, at most
    ``high`` (one saturated pixel must not stretch a slider a hundredfold);
    ``counts``/``edges``: the histogram over [low, top], values above ``top`` counted in the
    last bin (``len(edges) == len(counts) + 1``); ``integer``: the data is integral.
    """

    low: float
    high: float
    auto: Window
    top: float
    counts: np.ndarray
    edges: np.ndarray
    integer: bool

    def log_counts(self) -> np.ndarray:
        """log(1 + count) per bin: microscopy histograms are a tall background peak and a long
        faint tail, which a linear scale flattens to nothing."""
        return np.log1p(self.counts.astype(np.float64))


def _finite_sample(data: np.ndarray) -> np.ndarray:
    flat = np.asarray(data).reshape(-1)
    if flat.size > MAX_SAMPLES:
        flat = flat[:: math.ceil(flat.size / MAX_SAMPLES)]
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    return flat


def auto_window(data: np.ndarray,
                percentiles: Sequence[float] = AUTO_PERCENTILES) -> Window:
    """The (start, end) that spans ``percentiles`` of the finite values of ``data``; a span of
    1 (integers) or of the value's magnitude when the data is flat, (0, 1) when empty."""
    return channel_stats(data, percentiles=percentiles).auto


def channel_stats(data: np.ndarray, *, bins: int = BINS,
                  percentiles: Sequence[float] = AUTO_PERCENTILES) -> ChannelStats:
    """The statistics of one channel's shown pixels (any shape, any real dtype)."""
    arr = np.asarray(data)
    integer = arr.dtype.kind in "iub"
    sample = _finite_sample(arr)
    if sample.size == 0:
        return ChannelStats(0.0, 1.0, (0.0, 1.0), 1.0, np.zeros(bins, np.int64),
                            np.linspace(0.0, 1.0, bins + 1), integer)
    low, high = float(sample.min()), float(sample.max())
    start, end = (float(v) for v in np.percentile(sample, list(percentiles)))
    if integer:
        start, end = math.floor(start), math.ceil(end)
    if end <= start:  # flat data (a blank plane): a window that still spans something
        end = start + (1.0 if integer else max(abs(start) * 1e-3, 1e-6))
    top = max(min(high, end + (end - start)), end)
    counts, edges = np.histogram(np.minimum(sample, top), bins=bins, range=(low, top))
    return ChannelStats(low, high, (float(start), float(end)), float(top), counts, edges,
                        integer)


def slider_range(stats: ChannelStats | None, window: Window | None, *,
                 limits: tuple[float | None, float | None] = (None, None)) -> Window:
    """The range a contrast slider offers: what the data spans, with the window inside it.

    The data's [low, top] (when ``stats`` is known: ``top`` ignores a few saturated pixels)
    joined with the display ``window`` (start, end), kept within ``limits`` (the omero
    window's min/max, the data range the metadata declares) where those leave the window
    room. Never the dtype's range unless the data or the window reach it.
    """
    spans: list[Window] = []
    if stats is not None:
        spans.append((stats.low, stats.top))
    if window is not None:
        spans.append((min(window), max(window)))
    if not spans:
        return (0.0, 1.0)
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    floor, ceiling = limits
    if floor is not None and (window is None or floor <= min(window)):
        lo = max(lo, float(floor))
    if ceiling is not None and (window is None or ceiling >= max(window)):
        hi = min(hi, float(ceiling))
    if hi <= lo:
        hi = lo + 1.0
    return (float(lo), float(hi))
