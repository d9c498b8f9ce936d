"""Colours and display windows: omero hints when present, data-driven defaults otherwise.

Kept apart from the compositor so the choice of colours (a metadata question) and the
arithmetic of blending (a numpy question) can be tested and changed separately.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

# Used when a channel has no omero colour: one channel is grey, several get distinct hues.
DEFAULT_PALETTE = ("FF00FF", "00FF00", "00FFFF", "FF0000", "FFFF00", "0000FF", "FF8000",
                   "8000FF")
ROBUST_PERCENTILES = (0.5, 99.5)
_GOLDEN = 0.618033988749895


def hex_to_rgb(color: str | None) -> tuple[int, int, int] | None:
    """``"00FF7F"`` (or ``"#00ff7f"``) -> (0, 255, 127); None when it is not 6 hex digits."""
    if not color:
        return None
    text = color.strip().lstrip("#")
    if len(text) != 6:
        return None
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        return None


def default_color(index: int, count: int) -> tuple[int, int, int]:
    """Colour of channel ``index`` of ``count`` when the metadata gives none."""
    if count == 1:
        return (255, 255, 255)
    return hex_to_rgb(DEFAULT_PALETTE[index % len(DEFAULT_PALETTE)])  # type: ignore[return-value]


def robust_window(data: np.ndarray,
                  percentiles: Sequence[float] = ROBUST_PERCENTILES) -> tuple[float, float]:
    """Display range from percentiles of the shown data, so one hot pixel does not wash it out."""
    finite = np.asarray(data, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(finite, list(percentiles))
    if hi <= lo:
        hi = lo + 1.0
    return (float(lo), float(hi))


def label_color(value: int) -> tuple[int, int, int, int]:
    """A stable colour for a label value: the same value gets the same colour in every call.

    Golden-ratio hue steps keep neighbouring values (1, 2, 3...) visibly different; the
    saturation/brightness cycle separates values whose hues come close again.
    """
    v = int(value)
    hue = (v * _GOLDEN) % 1.0
    sat = (0.65, 0.9, 0.8)[v % 3]
    val = (1.0, 0.85, 0.95)[(v // 3) % 3]
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255), 255)  # round(float) is an int


def label_lut(values: np.ndarray,
              colors: dict[int, tuple[int, int, int, int]] | None) -> np.ndarray:
    """RGBA (uint8) for each value in ``values``: the label's own colours, else stable ones."""
    colors = colors or {}
    out = np.empty((len(values), 4), np.uint8)
    for i, v in enumerate(values.tolist()):
        out[i] = colors.get(int(v)) or label_color(int(v))
    return out
