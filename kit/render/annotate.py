"""Pictures that explain themselves: scale bar, channel legend and text drawn into the RGB.

``annotate=True`` on a ``RenderSpec`` burns these into the picture itself, so a PNG that leaves
the notebook (a CLI preview, a slide, an e-mail) still says what it shows. Text is rasterised
with matplotlib's own FreeType (``matplotlib.ft2font``, already a dependency, no figure made)
in white with a dark outline, on a translucent dark box: it reads on bright and dark images.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kit.render.color import label_color
from kit.render.plane import channel_names, yx_axes

if TYPE_CHECKING:
    from kit.nodes import Image, Label
    from kit.render.job import ImageJob
    from kit.render.plane import Plane

__all__ = ["Annotations", "LegendEntry", "ScaleBar", "annotate_picture", "draw_legend",
           "draw_scale_bar", "draw_text", "font_px", "nice_length", "scale_bar", "text_size",
           "unit_symbol"]

UNIT_SYMBOLS = {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm", "meter": "m",
                "angstrom": "Å", "centimeter": "cm"}
WHITE = (255, 255, 255)
BOX_ALPHA = 0.6  # the dark box under text: dark enough on a white image, see-through on black
BAR_FRACTION = 0.25  # a scale bar is the largest round length up to this share of the width
UNKNOWN_UNITS = "no scale bar: units unknown"

RGB = tuple[int, int, int]


def unit_symbol(unit: str | None) -> str:
    """``micrometer`` -> ``µm`` (the unit itself when it has no symbol here; ``px`` if none)."""
    if not unit:
        return "px"
    return UNIT_SYMBOLS.get(unit, unit)


def nice_length(span: float, fraction: float = 0.2) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) up to ``fraction`` of ``span``."""
    target = abs(span) * fraction
    if target <= 0 or not math.isfinite(target):
        return 1.0
    power = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * power <= target * (1 + 1e-9):
            return m * power
    return power


@dataclass(frozen=True)
class ScaleBar:
    """A bar of ``length`` ``unit`` that is ``pixels`` picture pixels long."""

    length: float
    unit: str
    pixels: float

    @property
    def label(self) -> str:
        return f"{self.length:g} {self.unit}"


def scale_bar(pixel_size: float, unit: str | None, width_px: int,
              fraction: float = BAR_FRACTION) -> ScaleBar | None:
    """The bar for a picture ``width_px`` wide whose pixels are ``pixel_size`` ``unit`` wide;
    None when the unit is unknown (a bar in unknown units would claim what nobody knows)."""
    if not unit or not math.isfinite(pixel_size) or pixel_size <= 0 or width_px < 1:
        return None
    length = nice_length(width_px * pixel_size, fraction)
    return ScaleBar(length, unit_symbol(unit), length / pixel_size)


@dataclass(frozen=True)
class LegendEntry:
    """A legend line: a swatch of ``colors`` (one colour, or a few for a label layer)."""

    name: str
    colors: tuple[RGB, ...]


@dataclass
class Annotations:
    """What was drawn, where: for figures that redraw it and for tests that measure it."""

    scale_bar: ScaleBar | None = None
    bar_row: int | None = None         # the first picture row of the bar
    bar_span: tuple[int, int] | None = None  # its first column and one past its last
    legend: list[LegendEntry] = field(default_factory=list)
    note: str | None = None

    @property
    def legend_names(self) -> list[str]:
        return [e.name for e in self.legend]


def label_entry(label: Label) -> LegendEntry:
    """A label layer's legend line: its name on a swatch of its first colours."""
    colors = [c[:3] for _, c in sorted((label.colors or {}).items()) if _ != 0][:4]
    return LegendEntry(f"{label.name} (labels)",
                       tuple(colors) or tuple(label_color(v)[:3] for v in (1, 2, 3, 4)))


def legend_entries(job: ImageJob) -> list[LegendEntry]:
    """One line per shown channel (its colour and name), then one per label layer drawn."""
    image = job.image
    names = channel_names(image, job.plane.level) if "c" in image.axes else [image.name]
    return ([LegendEntry(names[i], (rgb,)) for i, rgb in zip(job.plane.channels, job.colors)]
            + [label_entry(part.label) for part in job.labels])


def shown_pixel(plane: Plane, width: int) -> float:
    """Physical width of one pixel of a picture ``width`` pixels wide of ``plane``."""
    return plane.shape[1] * plane.step[1] / max(width, 1)


def shown_scale_bar(source: Image, pixel: float, width: int, fraction: float = BAR_FRACTION
                    ) -> tuple[ScaleBar | None, str | None]:
    """The scale bar of a picture ``width`` pixels wide whose pixels are ``pixel`` wide in
    ``source``'s x unit; or None and the note that says why there is none."""
    _, ix = yx_axes(source.axes)
    bar = scale_bar(pixel, source.units.get(source.axes[ix]), width, fraction)
    return bar, (None if bar is not None else UNKNOWN_UNITS)


def font_px(height: int, width: int) -> int:
    """Text height in pixels for a picture of this size: legible, never dominating."""
    return int(min(18, max(9, round(max(height, width) / 36))))


@functools.lru_cache(maxsize=512)
def _text_alpha(text: str, px: int) -> np.ndarray:
    """Coverage (H, W) in [0, 1] of ``text`` set ``px`` pixels high (ascent to descent)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font, LoadFlags

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans",
                                                             weight="bold"))
    font = FT2Font(path)
    size = px * 0.78  # DejaVu's ascent + descent is ~1.2 em: a line is about px high
    font.set_size(size, 72)
    font.set_text(text, 0.0, flags=LoadFlags.FORCE_AUTOHINT)
    font.draw_glyphs_to_bitmap(antialiased=True)
    glyphs = np.asarray(font.get_image(), np.float32) / 255.0
    # one line height for every text, the baseline at the same row: "nanog" and "DAPI" align
    em = size / font.units_per_EM
    ascent, descent = math.ceil(font.ascender * em), math.ceil(-font.descender * em)
    below = font.get_descent() / 64
    top = max(0, round(ascent - (glyphs.shape[0] - below)))
    alpha = np.zeros((max(ascent + descent, top + glyphs.shape[0]), glyphs.shape[1]), np.float32)
    alpha[top:top + glyphs.shape[0]] = glyphs
    alpha.setflags(write=False)
    return alpha


def text_size(text: str, px: int) -> tuple[int, int]:
    """(height, width) in pixels that ``draw_text`` covers, outline included."""
    h, w = _text_alpha(text, px).shape
    return h + 2, w + 2


def _blend(rgb: np.ndarray, y: int, x: int, alpha: np.ndarray, color: Sequence[int]) -> None:
    """``rgb[y:, x:] = mix(rgb, color, alpha)`` clipped to the picture (in place, uint8)."""
    h, w = alpha.shape
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, rgb.shape[0]), min(x + w, rgb.shape[1])
    if y0 >= y1 or x0 >= x1:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    part = rgb[y0:y1, x0:x1].astype(np.float32)
    mixed = part * (1.0 - a) + np.asarray(color, np.float32) * a
    rgb[y0:y1, x0:x1] = np.rint(mixed).astype(np.uint8)


def _dilate(alpha: np.ndarray) -> np.ndarray:
    """The coverage grown by one pixel each way (3x3 maximum): the text's dark outline."""
    padded = np.pad(alpha, 2)
    out = np.zeros((alpha.shape[0] + 2, alpha.shape[1] + 2), np.float32)
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, padded[dy:dy + out.shape[0], dx:dx + out.shape[1]], out=out)
    return out


def draw_box(rgb: np.ndarray, y0: int, x0: int, y1: int, x1: int,
             alpha: float = BOX_ALPHA) -> None:
    """Darken a rectangle (clipped to the picture) so text on it reads whatever is below."""
    if y1 > y0 and x1 > x0:
        _blend(rgb, y0, x0, np.full((y1 - y0, x1 - x0), alpha, np.float32), (0, 0, 0))


def draw_text(rgb: np.ndarray, text: str, y: int, x: int, px: int,
              color: Sequence[int] = WHITE) -> tuple[int, int]:
    """White (or ``color``) ``text`` with a dark outline, its top-left corner at (y, x);
    returns (height, width) covered."""
    alpha = _text_alpha(text, px)
    _blend(rgb, y, x, _dilate(alpha), (0, 0, 0))
    _blend(rgb, y + 1, x + 1, alpha, color)
    return alpha.shape[0] + 2, alpha.shape[1] + 2


def _swatch(rgb: np.ndarray, y: int, x: int, side: int, colors: Sequence[RGB]) -> None:
    """A square of one colour, or a small checker of a label layer's colours."""
    if len(colors) == 1:
        patches = [(0, 0, side, side, colors[0])]
    else:
        half = max(1, side // 2)
        patches = [(dy, dx, half if dy == 0 else side - half, half if dx == 0 else side - half,
                    colors[k % len(colors)])
                   for k, (dy, dx) in enumerate([(0, 0), (0, half), (half, half), (half, 0)])]
    for dy, dx, h, w, color in patches:
        if h > 0 and w > 0:
            _blend(rgb, y + dy, x + dx, np.ones((h, w), np.float32), color)
    _blend(rgb, y - 1, x - 1, _frame(side + 2), (255, 255, 255))


def _frame(side: int) -> np.ndarray:
    """A one-pixel square border, half opaque (a swatch of black still shows)."""
    a = np.zeros((side, side), np.float32)
    a[[0, -1], :] = 0.7
    a[:, [0, -1]] = 0.7
    return a


def legend_size(entries: Sequence[LegendEntry], px: int) -> tuple[int, int]:
    """(height, width) of a vertical legend box of ``entries``."""
    pad, line = max(2, px // 3), px + px // 2
    width = max((text_size(e.name, px)[1] for e in entries), default=0)
    return 2 * pad + line * len(entries), 2 * pad + px + pad + width


def draw_legend(rgb: np.ndarray, entries: Sequence[LegendEntry], y: int, x: int,
                px: int, *, box: bool = True) -> tuple[int, int]:
    """A box of swatch + name lines, top-left corner at (y, x); returns its (height, width)."""
    if not entries:
        return 0, 0
    h, w = legend_size(entries, px)
    if box:
        draw_box(rgb, y, x, y + h, x + w)
    pad, line = max(2, px // 3), px + px // 2
    for k, entry in enumerate(entries):
        top = y + pad + k * line
        th, _ = text_size(entry.name, px)
        _swatch(rgb, top + (line - px) // 2, x + pad, px, entry.colors)
        draw_text(rgb, entry.name, top + (line - th) // 2, x + pad + px + pad, px)
    return h, w


def inline_legend_width(entries: Sequence[LegendEntry], px: int) -> int:
    """Width of ``draw_legend_inline``: the entries side by side on one line."""
    pad = max(2, px // 3)
    return sum(px + pad + text_size(e.name, px)[1] + 2 * pad for e in entries)


def draw_legend_inline(rgb: np.ndarray, entries: Sequence[LegendEntry], y: int, x: int,
                       px: int) -> None:
    """The legend on one line (a plate overview's bottom strip), from (y, x)."""
    pad = max(2, px // 3)
    for entry in entries:
        th, tw = text_size(entry.name, px)
        _swatch(rgb, y + 1, x, px, entry.colors)
        draw_text(rgb, entry.name, y + (px + 2 - th) // 2, x + px + pad, px)
        x += px + pad + tw + 2 * pad


def bar_thickness(px: int) -> int:
    return max(2, px // 4)


def scale_bar_size(bar: ScaleBar, px: int) -> tuple[int, int]:
    """(height, width) of the bar with its label above it, box padding included."""
    pad = max(2, px // 3)
    th, tw = text_size(bar.label, px)
    return 2 * pad + th + 2 + bar_thickness(px), 2 * pad + max(tw, round(bar.pixels))


def draw_scale_bar(rgb: np.ndarray, bar: ScaleBar, bottom: int, right: int, px: int, *,
                   box: bool = True) -> tuple[int, tuple[int, int]]:
    """The bar and its label, the box's bottom-right corner at (bottom, right); returns the
    bar's first row and its column span [x0, x1)."""
    pad = max(2, px // 3)
    h, w = scale_bar_size(bar, px)
    if box:
        draw_box(rgb, bottom - h, right - w, bottom, right)
    thick = bar_thickness(px)
    length = max(1, round(bar.pixels))
    x1 = right - pad
    x0 = x1 - length
    y0 = bottom - pad - thick
    rgb[max(y0, 0):max(y0 + thick, 0), max(x0, 0):max(x1, 0)] = WHITE
    th, tw = text_size(bar.label, px)
    draw_text(rgb, bar.label, y0 - 2 - th, x0 + (length - tw) // 2 if tw <= length else x1 - tw,
              px)
    return y0, (x0, x1)


def annotate_picture(rgb: np.ndarray, bar: ScaleBar | None, legend: Sequence[LegendEntry],
                     note: str | None = None) -> tuple[np.ndarray, Annotations]:
    """A copy of ``rgb`` with the legend (top left) and the scale bar (bottom right) drawn in;
    ``note`` (e.g. why there is no bar) goes where the bar would be."""
    out = np.array(rgb, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    px = font_px(h, w)
    margin = max(2, px // 2)
    done = Annotations(scale_bar=bar, legend=list(legend), note=note)
    if legend:
        draw_legend(out, legend, margin, margin, px)
    if bar is not None:
        done.bar_row, done.bar_span = draw_scale_bar(out, bar, h - margin, w - margin, px)
    elif note:
        th, tw = text_size(note, max(8, px - 3))
        pad = max(2, px // 3)
        draw_box(out, h - margin - th - 2 * pad, w - margin - tw - 2 * pad, h - margin,
                 w - margin)
        draw_text(out, note, h - margin - th - pad, w - margin - tw - pad, max(8, px - 3))
    return out, done
