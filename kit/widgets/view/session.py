"""The kernel side of a pan/zoom view, without any widget: one source, one spec, its caches.

A source (``kit.render.tiles.TileSource``) is what the view shows in one picture: an image
(``ImageSource``), a plate or a well's fields (``plate_tiles.Mosaic``), a scene
(``scene_tiles.SceneSource``). ``TileSession`` picks the level and the tiles a view shows,
loads the documents they need and reads the ones it has never read in one ``read_boxes``
batch (the kit loop does the I/O), draws them with the spec and returns the tiles.
Two caches make moving back free: the data read (per level, tile
and data choice: channels, z, t, labels), so new windows, colours or opacity redraw without a
request, and the PNGs drawn (per tile and whole spec).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.io.boxes import read_boxes
from kit.io.loop import run_sync
from kit.render.job import load_metadata
from kit.render.plane import plan_plane
from kit.render.png import to_png
from kit.render.spec import RenderSpec, Window
from kit.render.tiles import (
    ImageSource,
    LevelGeometry,
    Part,
    TileDrawer,
    TileKey,
    TileSource,
    View,
    ahead_first,
    choose_view_level,
    highlight,
    needs_data_windows,
    prefetch_ring,
    resolve_windows,
    tile_at,
    visible_tiles,
)
from kit.widgets.view.hover import FeatureRows, lookup

if TYPE_CHECKING:
    from kit.nodes import Image

__all__ = ["Tile", "TileSession", "key_text"]

DATA_CACHE = 192   # tiles of data kept (a 3-channel uint16 256x256 tile is 384 KiB)
PNG_CACHE = 512    # drawn tiles kept (raw RGBA: 256 KiB each)


def key_text(key: TileKey) -> str:
    """A tile key as the front end names it: "level/row/col"."""
    return "/".join(str(k) for k in key)


@dataclass
class TileData:
    """What a tile read: its picture's inputs and the label values under it."""

    results: list[np.ndarray]
    labels: dict[str, np.ndarray] = field(default_factory=dict)


def encode(rgb: np.ndarray, encoding: str) -> bytes:
    """A tile's bytes for the front end: PNG, or raw RGBA rows ("raw": no encoding time,
    four bytes a pixel on the wire; the default, as kernel and browser usually share a
    machine or a fast link)."""
    if encoding == "png":
        return to_png(rgb)
    if rgb.shape[2] == 3:
        rgb = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(rgb, np.uint8).tobytes()


def decode(data: bytes, shape: tuple[int, int], encoding: str) -> np.ndarray:
    """uint8 RGB of a tile's bytes (``encode``'s inverse)."""
    if encoding == "png":
        import io

        from matplotlib.image import imread

        return np.rint(imread(io.BytesIO(data), format="png")[..., :3] * 255).astype(np.uint8)
    return np.frombuffer(data, np.uint8).reshape(*shape, 4)[..., :3]


@dataclass
class Tile:
    """One tile ready to send: where it lies (its grid's level pixels, and the picture's
    level-0 pixels the front end draws it at) and its bytes (``encode``)."""

    key: TileKey
    bounds: tuple[int, int, int, int]
    data: bytes
    world: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, y0, x1, y1

    def meta(self) -> dict[str, Any]:
        y0, y1, x0, x1 = self.bounds
        wx0, wy0, wx1, wy1 = self.world
        return {"key": key_text(self.key), "level": self.key[0], "x0": x0, "y0": y0,
                "w": x1 - x0, "h": y1 - y0, "wx0": wx0, "wy0": wy0, "wx1": wx1, "wy1": wy1}


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_fresh(self, key: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class TileSession:
    """Tiles of one image (or another ``TileSource``) under one ``RenderSpec`` (blocking
    calls: run them off the main thread). ``prefetch`` is the width, in tiles, of the ring
    read after the visible tiles."""

    def __init__(self, image: Image | TileSource, spec: RenderSpec | None = None, *,
                 prefetch: int = 1, encoding: str = "raw"):
        if encoding not in ("raw", "png"):
            raise ValueError(f"encoding must be 'raw' or 'png', not {encoding!r}")
        self.prefetch = prefetch
        self.encoding = encoding
        self._lock = threading.RLock()
        self._data: _LRU = _LRU(DATA_CACHE)
        self._drawn: _LRU = _LRU(PNG_CACHE)
        self.reads = 0  # read_boxes batches issued (tests and the benchmark count them)
        self.set_image(image, spec if spec is not None else RenderSpec())

    # -- what is shown -------------------------------------------------------------------------
    def set_image(self, image: Image | TileSource, spec: RenderSpec | None = None) -> None:
        """Show another image (its level and label documents are loaded here) or source."""
        spec = spec if spec is not None else self.spec
        from kit.nodes import Image

        if not isinstance(image, Image):
            source = image
        else:
            wanted = spec.labels if image.kind != "label" else None
            source = ImageSource(image, run_sync(load_metadata(image, wanted)), spec.labels)
        with self._lock:
            self.source: TileSource = source
            self.image = source.reference
            self.levels: list[LevelGeometry] = source.levels
            self._grids = {(g.index, g.part): g for level in range(len(self.levels))
                           for g in source.grids(level)}
            self._rows: dict[str, FeatureRows] = {}
            self._set_spec(spec)

    @property
    def rows(self) -> FeatureRows:
        """The feature rows of the reference image (the image shown, for an image)."""
        return self._rows_of(self.image)

    def _rows_of(self, image: Image) -> FeatureRows:
        if image.url not in self._rows:
            self._rows[image.url] = FeatureRows(image)
        return self._rows[image.url]

    def grid(self, key: TileKey) -> LevelGeometry:
        """The tile grid ``key`` belongs to."""
        return self._grids[(key[0], key[1] if len(key) == 4 else None)]

    def set_spec(self, spec: RenderSpec) -> None:
        """Draw with another spec; data already read is reused when channels, z, t and labels
        are the same."""
        with self._lock:
            self._set_spec(spec)

    def _set_spec(self, spec: RenderSpec) -> None:
        self.spec = spec
        self.renderer: TileDrawer = self.source.drawer(spec)
        self.windows: list[Window] = [] if self.image.kind == "label" else \
            resolve_windows(self.image, spec, self._coarsest_plane(spec))
        text = repr((self.renderer.data_key(), self.windows, self.renderer.colors()
                     if self.image.kind != "label" else (), spec.gamma, spec.label_style,
                     spec.opacity))
        self.spec_key = hashlib.sha1(text.encode()).hexdigest()[:12]

    def _coarsest_plane(self, spec: RenderSpec) -> np.ndarray | None:
        """The coarsest level's plane, read only when a channel's window must come from data."""
        if not needs_data_windows(self.image, spec):
            return None
        return self._read_coarsest(spec)

    def shown_data(self, keys: Sequence[TileKey]) -> np.ndarray | None:
        """The (C, N) pixels of the image read for ``keys`` (tiles of one level), None when
        none of them is read yet (a label image: None)."""
        if self.image.kind == "label" or self.spec.channels == ():
            return None
        with self._lock:
            dk, renderer = self.renderer.data_key(), self.renderer
            read = [(k, self._data.get_fresh((dk, k))) for k in keys]
        planes = [renderer.plan(k).split(d.results)[0] for k, d in read if d is not None]
        parts = [p.reshape(p.shape[0], -1) for p in planes if p is not None]
        return np.concatenate(parts, axis=1) if parts else None

    def coarsest_data(self) -> np.ndarray | None:
        """The (C, H, W) plane of the coarsest level under the spec's channels, z and t: the
        pixel statistics of an image no view has shown yet (one small read)."""
        if self.image.kind == "label" or self.spec.channels == ():
            return None
        return self._read_coarsest(self.spec)

    def _read_coarsest(self, spec: RenderSpec) -> np.ndarray:
        plane = plan_plane(self.image, len(self.levels) - 1, channels=spec.channels or None,
                           z=spec.z, t=spec.t)
        (data,) = read_boxes([plane.box])
        self.reads += 1
        return plane.as_chw(data)

    def picture(self, view: View) -> np.ndarray:
        """uint8 RGB of what ``view`` shows, at the pixels of the level it reads (the tiles
        the screen would get, put together: for scripts, tests and saving a view)."""
        level, keys, _ = self.plan_view(view)
        g = self.levels[level]
        fy, fx = g.factor
        y0, x0 = int(view.y0 // fy), int(view.x0 // fx)
        y1, x1 = int(np.ceil(view.y1 / fy)), int(np.ceil(view.x1 / fx))
        y0, x0 = max(y0, 0), max(x0, 0)
        y1, x1 = min(y1, g.shape[0]), min(x1, g.shape[1])
        out = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0), 3), np.uint8)
        for tile in self.tiles(keys):
            by0, by1, bx0, bx1 = tile.bounds
            rgb = decode(tile.data, (by1 - by0, bx1 - bx0), self.encoding)
            ty0, tx0 = round(tile.world[1] / fy), round(tile.world[0] / fx)
            ty1, tx1 = ty0 + rgb.shape[0], tx0 + rgb.shape[1]
            cy0, cy1, cx0, cx1 = max(ty0, y0), min(ty1, y1), max(tx0, x0), min(tx1, x1)
            if cy1 > cy0 and cx1 > cx0:
                out[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = \
                    rgb[cy0 - ty0:cy1 - ty0, cx0 - tx0:cx1 - tx0]
        return out

    def level_json(self) -> list[dict[str, Any]]:
        return [g.to_json() for g in self.levels]

    # -- tiles ---------------------------------------------------------------------------------
    def plan_view(self, view: View, previous: View | None = None
                  ) -> tuple[int, list[TileKey], list[TileKey]]:
        """(level, visible tiles, prefetch ring) of a view: no I/O. The ring comes ahead of
        the motion from ``previous`` first, then nearest first (``ahead_first``)."""
        level = choose_view_level(self.levels, view)
        grids = self.source.grids(level)
        ring = [(g, k) for g in grids for k in prefetch_ring(g, view, self.prefetch)]
        return (level, [k for g in grids for k in visible_tiles(g, view)],
                ahead_first(ring, view, previous))

    def parts(self) -> list[Part]:
        """The images placed in the picture (a plate's wells; none for one image)."""
        return self.source.parts()

    def part_at(self, x: float, y: float) -> Part | None:
        """The part whose box holds level-0 pixel (x, y)."""
        for part in self.source.parts():
            x0, y0, x1, y1 = part.box
            if x0 <= x < x1 and y0 <= y < y1:
                return part
        return None

    def tiles(self, keys: Sequence[TileKey], stop: Callable[[], bool] | None = None
              ) -> list[Tile]:
        """The drawn tiles of ``keys``; those never read are read together in one batch.
        ``stop()`` true (a newer view is waiting) ends the drawing early: the data read is
        kept, the tiles drawn so far are returned."""
        with self._lock:
            data_key = self.renderer.data_key()
            spec_key = self.spec_key
            renderer, windows = self.renderer, list(self.windows)
            missing = [k for k in keys if self._drawn.get_fresh((spec_key, k)) is None
                       and self._data.get_fresh((data_key, k)) is None]
        if missing:
            renderer.prepare(missing)  # documents of wells not read yet: one batch
        plans = {k: renderer.plan(k) for k in missing}
        boxes = [b for p in plans.values() for b in p.boxes()]
        if boxes:
            results = read_boxes(boxes)
            with self._lock:
                self.reads += 1
        else:
            results = []
        for k, p in plans.items():
            n = len(p.boxes())
            mine, results = results[:n], results[n:]
            with self._lock:
                self._data.put((data_key, k), TileData(mine))
        out = []
        for k in keys:
            if stop is not None and stop():
                break
            with self._lock:
                data = self._drawn.get_fresh((spec_key, k))
                raw = self._data.get_fresh((data_key, k)) if data is None else None
            if data is None:
                plan = plans.get(k) or renderer.plan(k)
                if raw is None:  # dropped from the cache since: read again, alone
                    raw = TileData(read_boxes(plan.boxes()))
                    with self._lock:
                        self._data.put((data_key, k), raw)
                rgb, labels = renderer.draw(plan, raw.results, windows)
                raw.labels = labels
                data = encode(rgb, self.encoding)
                with self._lock:
                    self._drawn.put((spec_key, k), data)
            out.append(self._tile(k, data))
        return out

    def _tile(self, key: TileKey, data: bytes) -> Tile:
        g = self.grid(key)
        bounds = g.bounds(key[-2], key[-1])
        return Tile(key, bounds, data, g.world(bounds))

    # -- what is under the pointer -------------------------------------------------------------
    def _tile_at(self, level: int, x: float, y: float) -> tuple[TileKey, int, int] | None:
        found = tile_at(self.source.grids(level), x, y)
        return None if found is None else found[1:]

    def label_at(self, level: int, x: float, y: float) -> tuple[str, int] | None:
        """(label name, value) under level-0 pixel (x, y), from the tiles read at ``level``;
        the first label with an object there wins (a label image: its own value)."""
        found = self._tile_at(level, x, y)
        if found is None:
            return None
        key, row, col = found
        with self._lock:
            data = self._data.get_fresh((self.renderer.data_key(), key))
        if data is None or not data.labels:
            return None
        first: tuple[str, int] | None = None
        for name, values in data.labels.items():
            value = lookup(values, row, col)
            if value is None:
                continue
            if value != 0:
                return name, value
            first = first or (name, value)
        return first

    def hover(self, level: int, x: float, y: float) -> dict[str, Any]:
        """The hover card of level-0 pixel (x, y): label value and feature-table row."""
        out: dict[str, Any] = {"x": int(x), "y": int(y)}
        part = self.part_at(x, y)
        image = self.image
        if part is not None:  # a well's field: its name, and the field's own pixel
            out.update(where=part.name, part=part.index, x=int(x - part.box[0]),
                       y=int(y - part.box[1]))
            image = part.image if part.image is not None else image
        found = self.label_at(level, x, y)
        if found is not None:
            name, value = found
            out.update(label=name or (image.name or "label"), value=value)
            row = self._rows_of(image).row(name, value) if name and value else None
            if row is not None:
                out["table"], out["row"] = row
        return out

    def highlights(self, keys: Iterable[TileKey], label: str, value: int,
                   part: int | None = None) -> list[Tile]:
        """RGBA PNG tiles outlining object ``value`` of ``label``, for the tiles read of
        ``keys`` that contain it (of part ``part`` only, when given: one well's object)."""
        out = []
        for k in keys:
            if part is not None and (len(k) != 4 or k[1] != part):
                continue
            with self._lock:
                data = self._data.get_fresh((self.renderer.data_key(), k))
            if data is None or label not in data.labels:
                continue
            rgba = highlight(data.labels[label], value)
            if rgba is not None:
                out.append(self._tile(k, encode(rgba, self.encoding)))
        return out

    def cached(self, keys: Iterable[TileKey]) -> list[TileKey]:
        """Those of ``keys`` whose data is read."""
        with self._lock:
            dk = self.renderer.data_key()
            return [k for k in keys if (dk, k) in self._data]
