"""Tiles of a pan/zoom view: which level a screen needs, which tiles it shows, how one is drawn.

The interactive viewer (``kit.widgets.view``) sends the part of the image on screen in level-0
pixels and the canvas size; this module answers with the level (the coarsest one whose pixels
are no larger than a screen pixel: never finer than needed), the tiles of that level the view
touches, a ring of neighbours to prefetch, and the boxes to read for each tile. Tiles are
aligned to the level's stored chunks (a multiple of a chunk, or a chunk split evenly), so a
tile never reads a chunk another tile of the same batch reads too when chunks are small.

A tile is drawn with the render layer's own pieces: ``plan_plane`` (the z/t plane and
channels), ``composite`` (windows and colours), ``plan_label``/``overlay`` (labels on the tile's
own grid). Windows must be the same on every tile, so they are resolved once per view
(``resolve_windows``), never from one tile's data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kit.io.boxes import Box
from kit.render.color import robust_window
from kit.render.composite import composite, to_uint8
from kit.render.job import apply_colors, channel_colors, channel_windows, select_labels
from kit.render.labelplane import LabelPart, plan_label
from kit.render.overlay import auto_style, colorize, outline_mask, overlay
from kit.render.plane import Plane, axis_transform, channel_names, plan_plane, yx_axes
from kit.render.spec import InvalidRenderSpec, LabelStyle, RenderSpec, Window

if TYPE_CHECKING:
    from kit.nodes import Image, Label

__all__ = ["HIGHLIGHT", "TILE", "ImageSource", "LevelGeometry", "Part", "TileDrawer", "TileKey",
           "TilePlan", "TileSource", "View", "ahead_first", "choose_view_level", "geometry",
           "prefetch_ring", "PREFETCH_PER_VIEW",
           "resolve_windows", "tile_at", "tile_plane", "tile_side", "visible_tiles"]

TILE = 256          # wanted tile side in level pixels
MAX_TILE = 1024     # a tile is never larger than this (a chunk this big is split evenly)
_TOL = 1e-6
HIGHLIGHT = (255, 255, 0)  # the selected object's outline: yellow, unlike any label colour fill

TileKey = tuple[int, ...]  # (level, tile row, tile column), or (level, part, row, column)


def tile_side(chunk: int, wanted: int = TILE) -> int:
    """A tile side aligned to a chunk side: whole chunks when chunks are small, a chunk split
    in equal parts when it is larger than ``MAX_TILE``."""
    chunk = max(1, int(chunk))
    if chunk <= wanted:
        return chunk * max(1, round(wanted / chunk))
    if chunk <= MAX_TILE:
        return chunk
    return math.ceil(chunk / math.ceil(chunk / MAX_TILE))


@dataclass(frozen=True)
class LevelGeometry:
    """One level's grid of tiles as the viewer sees it: size, pixel size in level-0 pixels,
    tile size, and where it lies in the picture (``origin``, level-0 pixels: a well's field
    in a plate mosaic); ``part`` tells the grids of one level apart (None: the only one)."""

    index: int
    shape: tuple[int, int]          # (height, width) in level pixels
    factor: tuple[float, float]     # level-0 pixels per level pixel (y, x)
    tile: tuple[int, int]           # tile (height, width) in level pixels
    origin: tuple[float, float] = (0.0, 0.0)
    part: int | None = None

    def key(self, ty: int, tx: int) -> TileKey:
        """The key of tile (ty, tx) of this grid."""
        return (self.index, ty, tx) if self.part is None else (self.index, self.part, ty, tx)

    def placed(self, origin: tuple[float, float], part: int) -> LevelGeometry:
        """This grid moved to ``origin`` as part ``part`` of a mosaic."""
        return replace(self, origin=(float(origin[0]), float(origin[1])), part=part)

    def world(self, bounds: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in level-0 pixels of a box (y0, y1, x0, x1) of level pixels."""
        y0, y1, x0, x1 = bounds
        (oy, ox), (fy, fx) = self.origin, self.factor
        return (ox + x0 * fx, oy + y0 * fy, ox + x1 * fx, oy + y1 * fy)

    def grid(self) -> tuple[int, int]:
        """Number of tile rows and columns."""
        return (math.ceil(self.shape[0] / self.tile[0]), math.ceil(self.shape[1] / self.tile[1]))

    def bounds(self, ty: int, tx: int) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of a tile in level pixels (the last row/column may be smaller)."""
        th, tw = self.tile
        return (ty * th, min((ty + 1) * th, self.shape[0]),
                tx * tw, min((tx + 1) * tw, self.shape[1]))

    def to_json(self) -> dict[str, Any]:
        prefix = f"{self.index}/" if self.part is None else f"{self.index}/{self.part}/"
        return {"index": self.index, "shape": list(self.shape), "factor": list(self.factor),
                "tile": list(self.tile), "origin": list(self.origin), "prefix": prefix}


def geometry(image: Image) -> list[LevelGeometry]:
    """The levels of ``image`` (loaded), finest first: the pixel size of each in level-0
    pixels comes from the scales (shape ratios when a scale is missing)."""
    iy, ix = yx_axes(image.axes)
    levels = image.levels
    s0 = (axis_transform(levels[0], iy)[0], axis_transform(levels[0], ix)[0])
    h0, w0 = levels[0].shape[iy], levels[0].shape[ix]
    out = []
    for lv in levels:
        h, w = lv.shape[iy], lv.shape[ix]
        fy = axis_transform(lv, iy)[0] / s0[0] if s0[0] else h0 / h
        fx = axis_transform(lv, ix)[0] / s0[1] if s0[1] else w0 / w
        chunks = lv.chunks or lv.shape
        out.append(LevelGeometry(lv.index, (h, w), (float(fy), float(fx)),
                                 (tile_side(chunks[iy]), tile_side(chunks[ix]))))
    return out


@dataclass(frozen=True)
class View:
    """What the screen shows: a rectangle in level-0 pixels and the canvas size in pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: int
    height: int

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> View:
        """A view from the front end's message; nonsense (NaN, empty) is a ValueError."""
        x0, y0, x1, y1 = (float(msg[k]) for k in ("x0", "y0", "x1", "y1"))
        v = cls(x0, y0, x1, y1, int(msg["width"]), int(msg["height"]))
        if not all(math.isfinite(c) for c in (v.x0, v.y0, v.x1, v.y1)) or v.x1 <= v.x0 \
                or v.y1 <= v.y0 or v.width < 1 or v.height < 1:
            raise ValueError(f"not a view: {msg!r}")
        return v

    @property
    def screen_pixel(self) -> tuple[float, float]:
        """Level-0 pixels per screen pixel (y, x)."""
        return ((self.y1 - self.y0) / self.height, (self.x1 - self.x0) / self.width)


def choose_view_level(levels: Sequence[LevelGeometry], view: View) -> int:
    """The coarsest level whose pixel is no larger than a screen pixel (level 0 when every
    level's pixels are larger: zoomed in past 1:1)."""
    sy, sx = view.screen_pixel
    chosen = levels[0].index
    for g in levels:
        if g.factor[0] <= sy * (1 + _TOL) and g.factor[1] <= sx * (1 + _TOL):
            chosen = g.index
    return chosen


def _tile_range(g: LevelGeometry, view: View) -> tuple[range, range]:
    rows, cols = g.grid()
    (fy, fx), (th, tw), (oy, ox) = g.factor, g.tile, g.origin
    r0 = max(0, math.floor((view.y0 - oy) / fy / th))
    r1 = min(rows, math.ceil((view.y1 - oy) / fy / th - _TOL))
    c0 = max(0, math.floor((view.x0 - ox) / fx / tw))
    c1 = min(cols, math.ceil((view.x1 - ox) / fx / tw - _TOL))
    return range(r0, max(r0, r1)), range(c0, max(c0, c1))


def visible_tiles(g: LevelGeometry, view: View) -> list[TileKey]:
    """The tiles of grid ``g`` the view touches, row by row (none when it shows no data)."""
    rows, cols = _tile_range(g, view)
    return [g.key(r, c) for r in rows for c in cols]


def tile_at(grids: Sequence[LevelGeometry], x: float, y: float
            ) -> tuple[LevelGeometry, TileKey, int, int] | None:
    """(grid, tile, row and column in the tile) under level-0 pixel (x, y); None outside."""
    for g in grids:
        ly, lx = math.floor((y - g.origin[0]) / g.factor[0]), \
            math.floor((x - g.origin[1]) / g.factor[1])
        if 0 <= ly < g.shape[0] and 0 <= lx < g.shape[1]:
            ty, tx = ly // g.tile[0], lx // g.tile[1]
            return g, g.key(ty, tx), ly - ty * g.tile[0], lx - tx * g.tile[1]
    return None


PREFETCH_PER_VIEW = 2
"""Ring tiles read after a view's visible ones, at most: a view costs its visible tiles + 2
requests (issue 14's budget), and a steady pan finds its next tiles read (``ahead_first``)."""


def ahead_first(ring: Sequence[tuple[LevelGeometry, TileKey]], view: View,
                previous: View | None = None) -> list[TileKey]:
    """The ring's keys, those ahead of a pan from ``previous`` to ``view`` first, then the
    nearest to the view's centre (all by nearness after a zoom, or with no previous view)."""
    cx, cy = (view.x0 + view.x1) / 2, (view.y0 + view.y1) / 2
    panned = previous is not None and math.isclose(
        previous.x1 - previous.x0, view.x1 - view.x0, rel_tol=1e-6) and math.isclose(
        previous.y1 - previous.y0, view.y1 - view.y0, rel_tol=1e-6)
    mx, my = ((cx - (previous.x0 + previous.x1) / 2, cy - (previous.y0 + previous.y1) / 2)
              if previous is not None and panned else (0.0, 0.0))

    def rank(item: tuple[LevelGeometry, TileKey]) -> tuple[float, float]:
        g, key = item
        x0, y0, x1, y1 = g.world(g.bounds(key[-2], key[-1]))
        dx, dy = (x0 + x1) / 2 - cx, (y0 + y1) / 2 - cy
        return (-(dx * mx + dy * my), math.hypot(dx, dy))

    return [key for _, key in sorted(ring, key=rank)]


def prefetch_ring(g: LevelGeometry, view: View, width: int = 1) -> list[TileKey]:
    """The tiles within ``width`` tiles around the visible ones (inside the level), nearest
    ring first: panning by up to a tile then needs no read."""
    rows, cols = _tile_range(g, view)
    if not rows or not cols or width < 1:
        return []
    n_rows, n_cols = g.grid()
    out: list[TileKey] = []
    for k in range(1, width + 1):
        r0, r1, c0, c1 = rows.start - k, rows.stop - 1 + k, cols.start - k, cols.stop - 1 + k
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r in (r0, r1) or c in (c0, c1)) and 0 <= r < n_rows and 0 <= c < n_cols:
                    out.append(g.key(r, c))
    return out


# -- drawing ---------------------------------------------------------------------------------


def resolve_windows(image: Image, spec: RenderSpec, coarsest: np.ndarray | None) -> list[Window]:
    """One window per shown channel: the spec's, else the omero window, else percentiles of
    ``coarsest`` (the coarsest level's plane, (C, H, W)); the same for every tile."""
    chans = shown_channels(image, spec)
    windows = channel_windows(image, chans)
    if spec.windows is not None:
        if len(spec.windows) != len(chans):
            raise InvalidRenderSpec(f"windows gives {len(spec.windows)} window(s) for "
                                    f"{len(chans)} shown channel(s) {chans}")
        windows = [w if w is not None else o for w, o in zip(spec.windows, windows)]
    out: list[Window] = []
    for k, w in enumerate(windows):
        if w is None:
            w = robust_window(coarsest[k]) if coarsest is not None else (0.0, 1.0)
        out.append(w)
    return out


def needs_data_windows(image: Image, spec: RenderSpec) -> bool:
    """Whether some shown channel has neither a spec window nor an omero window."""
    if image.kind == "label":
        return False
    chans = shown_channels(image, spec)
    given = list(spec.windows) if spec.windows is not None else [None] * len(chans)
    return any(g is None and o is None
               for g, o in zip(given, channel_windows(image, chans)))


def shown_channels(image: Image, spec: RenderSpec) -> list[int]:
    """The channel indices the spec shows (empty: every channel switched off)."""
    if spec.channels == ():
        return []
    return plan_plane(image, len(image.levels) - 1, channels=spec.channels, z=spec.z,
                      t=spec.t).channels


@dataclass
class TilePlan:
    """The boxes one tile reads and how they become its picture and its label values."""

    key: TileKey
    bounds: tuple[int, int, int, int]    # (y0, y1, x0, x1) in level pixels
    plane: Plane | None                  # the image's tile box (None: every channel off)
    labels: list[LabelPart]              # each sampled on the tile's grid

    def boxes(self) -> list[Box]:
        out = [self.plane.box] if self.plane is not None else []
        return out + [p.box for p in self.labels if p.box is not None]

    def split(self, results: list[np.ndarray]) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """The tile's (C, H, W) data and each label's values on the tile grid."""
        rest = list(results)
        data = self.plane.as_chw(rest.pop(0)) if self.plane is not None else None
        labels = [p.finish(rest.pop(0) if p.box is not None else None) for p in self.labels]
        return data, labels


def tile_plane(base: Plane, image: Image, y0: int, y1: int, x0: int, x1: int) -> Plane:
    """``base`` (a whole plane of one level) cut to rows y0:y1 and columns x0:x1."""
    iy, ix = yx_axes(image.axes)
    sel: list[Any] = list(base.box.selection)
    sel[iy], sel[ix] = slice(y0, y1), slice(x0, x1)
    box = image.box(base.level.index, sel)
    (oy, ox), (sy, sx) = base.origin, base.step
    return replace(base, box=box, origin=(oy + y0 * sy, ox + x0 * sx))


class TileRenderer:
    """Plans and draws the tiles of one image under one spec's data choices (channels, z, t,
    labels); windows, colours, style and opacity are applied at draw time only."""

    def __init__(self, image: Image, spec: RenderSpec, labels: dict[str, Label],
                 levels: Sequence[LevelGeometry],
                 colors: list[tuple[int, int, int]] | None = None,
                 styles: dict[tuple[int, str], LabelStyle] | None = None):
        self.image = image
        self._colors = colors  # given: a mosaic's wells share the first one's colours
        # label_style "auto", decided once per (level, label) from the first tile holding
        # objects, so neighbouring tiles (and a mosaic's wells, sharing the dict) agree
        self.styles: dict[tuple[int, str], LabelStyle] = styles if styles is not None else {}
        self.spec = spec
        self.labels = select_labels(labels, spec.labels, image.url) \
            if image.kind != "label" else {}
        self.levels = {g.index: g for g in levels}
        self.is_label = image.kind == "label"
        self._planes: dict[int, Plane] = {}

    def data_key(self) -> tuple:
        """What the tiles' data depend on (not windows, colours, style or opacity)."""
        return (self.image.url, self.spec.channels, self.spec.z, self.spec.t,
                tuple(self.labels))

    def base_plane(self, level: int) -> Plane:
        if level not in self._planes:
            channels = None if self.is_label else self.spec.channels or None
            self._planes[level] = plan_plane(self.image, level, channels=channels,
                                             z=self.spec.z, t=self.spec.t)
        return self._planes[level]

    def plan(self, key: TileKey) -> TilePlan:
        level, ty, tx = key
        g = self.levels[level]
        y0, y1, x0, x1 = g.bounds(ty, tx)
        base = self.base_plane(level)
        blank = self.spec.channels == () and not self.is_label
        grid = tile_plane(base, self.image, y0, y1, x0, x1)
        parts = [plan_label(lab, grid, grid.shape) for lab in self.labels.values()]
        return TilePlan(key, (y0, y1, x0, x1), None if blank else grid, parts)

    def prepare(self, keys: Sequence[TileKey]) -> None:
        """Nothing to load: an image's level and label documents are loaded up front."""

    def colors(self) -> list[tuple[int, int, int]]:
        """The shown channels' colours: the spec's where it gives one, else the metadata's."""
        if self._colors is not None:
            return list(self._colors)
        chans = shown_channels(self.image, self.spec)
        n = len(channel_names(self.image, self.image.level(0))) if "c" in self.image.axes else 1
        return apply_colors(channel_colors(self.image, chans, n), self.spec, chans)

    def draw(self, plan: TilePlan, results: list[np.ndarray],
             windows: Sequence[Window]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """uint8 RGB of a tile and the label values under it, by label name (a label image
        viewed on its own: its values under ``""``)."""
        data, label_data = plan.split(results)
        y0, y1, x0, x1 = plan.bounds
        shape = (y1 - y0, x1 - x0)
        if self.is_label:
            assert data is not None
            own = np.asarray(data[0])
            color, alpha = colorize(own, self.image.colors)  # type: ignore[attr-defined]
            return to_uint8(color * alpha[..., None]), {"": own}
        if data is None:
            rgb = np.zeros(shape + (3,), np.float32)
        else:
            rgb = composite(data, self.colors(), list(windows), self.spec.gamma)
        values: dict[str, np.ndarray] = {}
        for name, lab in zip(self.labels, label_data):
            style = self.spec.label_style
            if style == "auto":
                style = self.styles.get((plan.key[0], name)) or auto_style(lab)
                if (lab != 0).any():
                    self.styles.setdefault((plan.key[0], name), style)
            rgb = draw_label(rgb, lab, self.labels[name].colors, self.spec, style)
            values[name] = lab
        return to_uint8(rgb), values


def draw_label(rgb: np.ndarray, label: np.ndarray,
               colors: dict[int, tuple[int, int, int, int]] | None, spec: RenderSpec,
               style: LabelStyle | None = None) -> np.ndarray:
    """``label`` (on the tile's grid) over ``rgb`` at the spec's style and opacity. Each tile
    reads only its own label chunks, so an object border lying exactly on a tile edge is not
    outlined there (reading a margin would read the neighbours' chunks too)."""
    return overlay(rgb, label, colors, style=style or spec.label_style, opacity=spec.opacity)


def highlight(label: np.ndarray, value: int) -> np.ndarray | None:
    """RGBA (uint8) marking object ``value`` in a tile's label values: a bright outline and a
    light veil; None when the object is not in the tile."""
    mask = np.asarray(label) == value
    if not mask.any():
        return None
    rgba = np.zeros(mask.shape + (4,), np.uint8)
    rgba[mask] = (*HIGHLIGHT, 60)
    rgba[outline_mask(mask.astype(np.uint8))] = (*HIGHLIGHT, 255)
    return rgba


# -- what a view shows: one interface for an image, a plate mosaic and a scene -----------------


@dataclass(frozen=True)
class Part:
    """One image placed in a picture of several (a well's field in a plate mosaic): its name
    and its box in the picture's level-0 pixels (x0, y0, x1, y1); ``image`` None: the plate
    lists the well but it holds no image."""

    index: int
    name: str                 # what hover says: "B03 · field 0"
    image: Image | None
    box: tuple[float, float, float, float]
    short: str = ""           # what the picture writes in the cell: "B03"

    def to_json(self) -> dict[str, Any]:
        x0, y0, x1, y1 = self.box
        return {"name": self.name, "short": self.short or self.name, "x0": x0, "y0": y0,
                "x1": x1, "y1": y1, "empty": self.image is None}


class TileDrawer(Protocol):
    """Plans and draws the tiles of a source under one spec's data choices."""

    def data_key(self) -> tuple: ...

    def prepare(self, keys: Sequence[TileKey]) -> None:
        """Load the metadata documents ``keys`` need, all in one batch on the kit loop."""

    def plan(self, key: TileKey) -> TilePlan: ...

    def draw(self, plan: TilePlan, results: list[np.ndarray], windows: Sequence[Window]
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]: ...

    def colors(self) -> list[tuple[int, int, int]]: ...


class TileSource(Protocol):
    """What a pan/zoom view shows, in one picture's level-0 pixels: an image, a plate mosaic,
    a scene. ``levels`` is the whole picture per level (its size and pixel size: the level a
    screen needs, the view that fits it); ``grids(level)`` the tile grids of that level, each
    placed at its origin (one for an image, one per well for a plate); ``reference`` the image
    whose channels, windows and colours every tile shares (settings kept across wells)."""

    reference: Image
    levels: list[LevelGeometry]

    def grids(self, level: int) -> list[LevelGeometry]: ...

    def parts(self) -> list[Part]: ...

    def part_of(self, key: TileKey) -> Part | None: ...

    def drawer(self, spec: RenderSpec) -> TileDrawer: ...


class ImageSource:
    """One image: its levels are the grids, at origin (0, 0)."""

    def __init__(self, image: Image, labels: dict[str, Label] | None = None,
                 spec_labels: Any = None):
        self.reference = image
        self.levels: list[LevelGeometry] = geometry(image)
        self._labels: tuple[str, dict[str, Label]] | None = \
            (repr(spec_labels), labels) if labels is not None else None

    def grids(self, level: int) -> list[LevelGeometry]:
        return [self.levels[level]]

    def parts(self) -> list[Part]:
        return []

    def part_of(self, key: TileKey) -> Part | None:
        return None

    def drawer(self, spec: RenderSpec) -> TileRenderer:
        from kit.io.loop import run_sync
        from kit.render.job import wanted_labels

        image = self.reference
        if self._labels is None or self._labels[0] != repr(spec.labels):
            found = run_sync(wanted_labels(image, spec.labels)) \
                if image.kind != "label" else {}
            self._labels = (repr(spec.labels), found)
        return TileRenderer(image, spec, self._labels[1], self.levels)
