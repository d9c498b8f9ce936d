"""A plate (or a well's fields) as one pan/zoom picture: a ``TileSource`` for ``kit.view``.

The wells lie in one picture, in level-0 pixels of the fields: well (row, column) at
``row * (height + gap)``, ``column * (width + gap)``, a gap of ``GAP`` of a field's longest
side between them, so zooming from the plate into one well is one continuous move. Each well's
first field is a tile grid of its own, per level, placed at its cell (``LevelGeometry.placed``);
the level index is the same for every well, so a plate-scale view reads one small tile per
well at the coarsest level, and a view inside one well reads only that well's tiles at the
level the screen needs.

Opening reads what ``kit.plate_overview`` reads (``overview.first_fields`` and
``plate_reads.SharedLayout``: each well's first field, the level documents of the first field
to answer, one level's for the others); a finer level's document of a well is loaded when a
view first needs it, those of every well a view shows together in one batch on the kit loop.
Channels, windows and colours are the first field's for every well (settings kept across
wells, a plate comparable at a glance).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kit.errors import NotFound
from kit.io.loop import run_sync
from kit.render.job import wanted_labels
from kit.render.overview import fields_grid, first_fields
from kit.render.plate_reads import SharedLayout, _layout_key, field_paths
from kit.render.spec import NotRenderable, RenderSpec, Window
from kit.render.tiles import LevelGeometry, Part, TileKey, TilePlan, TileRenderer, geometry

if TYPE_CHECKING:
    from kit.nodes import Image, Label, Plate, Well

__all__ = ["GAP", "Mosaic", "mosaic_of"]

GAP = 0.04  # the gap between wells (and fields), a share of a field's longest side


@dataclass
class _Cell:
    name: str                  # what hover says: "B03 · field 0", "field 1"
    short: str                 # what the picture says in the cell: "B03", "1"
    image: Image | None
    row: int
    column: int


class Mosaic:
    """Images laid out in a grid of cells, one picture (``TileSource``)."""

    def __init__(self, url: str, cells: Sequence[_Cell], rows: int, columns: int):
        images = [c.image for c in cells if c.image is not None]
        if not images:
            raise NotRenderable("no well of this plate holds an image", where=url)
        self.url = url
        self.reference: Image = images[0]
        first = geometry(self.reference)
        h0, w0 = first[0].shape
        gap = max(1, round(GAP * max(h0, w0)))
        self.pitch = (h0 + gap, w0 + gap)
        key = _layout_key(self.reference)
        self._cells = list(cells)
        self._geo: list[list[LevelGeometry] | None] = []
        self._parts: list[Part] = []
        for i, cell in enumerate(self._cells):
            origin = (cell.row * self.pitch[0], cell.column * self.pitch[1])
            box: tuple[float, float, float, float]
            if cell.image is None:
                self._geo.append(None)
                box = (origin[1], origin[0], origin[1] + w0, origin[0] + h0)
            else:
                own = first if _layout_key(cell.image) == key else geometry(cell.image)
                placed = [g.placed(origin, i) for g in own]
                self._geo.append(placed)
                gh, gw = own[0].shape
                box = (origin[1], origin[0], origin[1] + gw * own[0].factor[1],
                       origin[0] + gh * own[0].factor[0])
            self._parts.append(Part(i, cell.name, cell.image, box, cell.short))
        total = (rows * self.pitch[0] - gap, columns * self.pitch[1] - gap)
        self.levels: list[LevelGeometry] = [
            LevelGeometry(g.index, (math.ceil(total[0] / g.factor[0]),
                                    math.ceil(total[1] / g.factor[1])), g.factor, g.tile)
            for g in first]
        self._labels: dict[tuple[int, str], dict[str, Label]] = {}
        self._loaded: set[tuple[int, int, str]] = set()  # (part, level, labels) documents

    # -- geometry ------------------------------------------------------------------------------
    def grids(self, level: int) -> list[LevelGeometry]:
        return [geo[min(level, len(geo) - 1)] for geo in self._geo if geo is not None]

    def parts(self) -> list[Part]:
        return list(self._parts)

    def part_of(self, key: TileKey) -> Part:
        return self._parts[key[1]]

    def part_geometry(self, part: int) -> list[LevelGeometry]:
        geo = self._geo[part]
        if geo is None:
            raise NotFound(f"{self._parts[part].name} holds no image", where=self.url)
        return geo

    # -- drawing -------------------------------------------------------------------------------
    def drawer(self, spec: RenderSpec) -> MosaicDrawer:
        return MosaicDrawer(self, spec)

    def missing(self, keys: Sequence[TileKey], labels: Any) -> list[tuple[int, int]]:
        """(part, level) pairs of ``keys`` whose documents are not loaded yet."""
        return sorted({(k[1], k[0]) for k in keys} - {(p, lv) for p, lv, lab in self._loaded
                                                      if lab == repr(labels)})

    async def aload(self, part: int, level: int, labels: Any) -> None:
        """Level ``level``'s document of a well's field and its labels' documents."""
        image = self._parts[part].image
        assert image is not None
        key = (part, repr(labels))
        if key in self._labels:
            await image.alevel(level)
        else:
            _, self._labels[key] = await asyncio.gather(image.alevel(level),
                                                        wanted_labels(image, labels))
        self._loaded.add((part, level, repr(labels)))

    def labels_of(self, part: int, labels: Any) -> dict[str, Label]:
        return self._labels.get((part, repr(labels)), {})


class MosaicDrawer:
    """A mosaic's tiles under one spec: each well's tiles are its own image's tiles
    (``TileRenderer``), drawn with the reference's colours and the view's windows."""

    def __init__(self, mosaic: Mosaic, spec: RenderSpec):
        self.mosaic = mosaic
        self.spec = spec
        self.image = mosaic.reference
        ref = TileRenderer(mosaic.reference, spec.with_(labels=None), {}, mosaic.levels)
        self._colors = ref.colors() if mosaic.reference.kind != "label" else []
        self._renderers: dict[int, TileRenderer] = {}
        self.styles: dict[tuple[int, str], Any] = {}  # one "auto" label style for all wells

    def data_key(self) -> tuple:
        s = self.spec
        return (self.mosaic.url, s.channels, s.z, s.t, repr(s.labels))

    def colors(self) -> list[tuple[int, int, int]]:
        return list(self._colors)

    def prepare(self, keys: Sequence[TileKey]) -> None:
        """The level (and label) documents of every well ``keys`` touch, in one batch."""
        todo = self.mosaic.missing(keys, self.spec.labels)
        if todo:
            async def load() -> None:
                await asyncio.gather(*(self.mosaic.aload(p, lv, self.spec.labels)
                                       for p, lv in todo))

            run_sync(load())

    def _renderer(self, part: int) -> TileRenderer:
        if part not in self._renderers:
            image = self.mosaic.parts()[part].image
            assert image is not None
            labels = self.mosaic.labels_of(part, self.spec.labels)
            self._renderers[part] = TileRenderer(image, self.spec, labels,
                                                 self.mosaic.part_geometry(part),
                                                 colors=self._colors, styles=self.styles)
        return self._renderers[part]

    def plan(self, key: TileKey) -> TilePlan:
        level, part, ty, tx = key
        plan = self._renderer(part).plan((level, ty, tx))
        plan.key = key
        return plan

    def draw(self, plan: TilePlan, results: list[np.ndarray], windows: Sequence[Window]
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self._renderer(plan.key[1]).draw(plan, results, windows)


def mosaic_of(node: Plate | Well, cell_px: float = 64.0,
              spec: RenderSpec | None = None) -> Mosaic:
    """The mosaic of a plate (each well's first field) or of a well (all its fields); opening
    reads what a plate overview of cells ``cell_px`` wide reads."""
    from kit.nodes import Plate, Well

    spec = spec if spec is not None else RenderSpec()
    layout = SharedLayout()
    size = max(1, int(cell_px))

    async def chosen(images: list[Image]) -> list[Image]:
        if images:
            await layout.choose(images[0], size, spec)
        return images

    if isinstance(node, Plate):
        per_well = cast(dict[str, list[Any]], run_sync(first_fields(
            node, chosen)))  # type: ignore[arg-type]
        rows, columns = list(node.rows), list(node.columns)
        cells = []
        for ref in node.plate.wells:
            images = per_well.get(ref.path)
            image = images[0] if images else None
            short = f"{rows[ref.row_index]}{columns[ref.column_index]}"
            name = short
            if image is not None and image.path:
                name = f"{short} · field {image.path.rstrip('/').split('/')[-1]}"
            cells.append(_Cell(name, short if image is not None else f"{short}: no image",
                               image, ref.row_index, ref.column_index))
        return Mosaic(node.url, cells, len(rows), len(columns))
    if isinstance(node, Well):
        paths = field_paths(node)
        if not paths:
            raise NotRenderable("this well lists no field of view", where=node.url)
        n_rows, cols = fields_grid(len(paths))

        async def fields() -> list[Image | None]:
            from kit.nodes import Image, load_node

            async def one(path: str) -> Image | None:
                try:
                    found = await load_node(node.location.child(path))
                except NotFound:
                    return None
                if isinstance(found, Image):
                    await layout.choose(found, size, spec)
                    return found
                return None

            return list(await asyncio.gather(*(one(p) for p in paths)))

        cells = [_Cell(f"field {p}", p if im is not None else f"{p}: no image", im,
                       k // cols, k % cols)
                 for k, (p, im) in enumerate(zip(paths, run_sync(fields())))]
        return Mosaic(node.url, cells, n_rows, cols)
    raise NotRenderable(f"a mosaic needs a Plate or a Well, not a {type(node).__name__}")
