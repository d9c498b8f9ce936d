"""``kit.plate_overview``: every well of a plate in one mosaic, fetched concurrently.

Per well four requests in a row after the plate (well, its shown field, the chosen level with
labels beside it, chunks), however many wells, and no barrier between wells: each well goes on
to its next step as soon as its own answer arrives, so the client's work on early answers
overlaps the wait for late ones. Only the shown field and the chosen level are read
(``plate_reads``: the first field to answer picks the level for the fields shaped like it,
one round trip for a request less per level and field). Only the contrast windows and the
drawing wait for all wells.
A well the plate lists but the store lacks, or does not list at all, is an empty cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import warnings
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import KitWarning, NotFound
from kit.io.boxes import aread_boxes
from kit.io.loop import run_reporting
from kit.render.annotate import (
    Annotations,
    LegendEntry,
    ScaleBar,
    draw_box,
    draw_legend_inline,
    draw_scale_bar,
    draw_text,
    legend_entries,
    shown_scale_bar,
    text_size,
)
from kit.render.color import robust_window
from kit.render.composite import to_uint8
from kit.render.job import ImageJob, plan_image, wanted_labels
from kit.render.overlay import style_for_areas
from kit.render.plate_reads import SharedLayout, afirst_field
from kit.render.png import Picture
from kit.render.progress import make_progress
from kit.render.resample import resize, resize_nearest
from kit.render.spec import InvalidRenderSpec, NotRenderable, RenderSpec

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from kit.nodes import Image, Label, Plate
    from kit.render.spec import RenderOptions

OVERVIEW_SIZE = 1024

MISSING_RGB = (48, 48, 48)  # an empty cell: a well that is not there
BACKGROUND_RGB = (0, 0, 0)


@dataclass
class Layout:
    """Square cells, one per (row, column) of the plate; ``pad`` pixels frame each cell."""

    rows: int
    columns: int
    cell: int
    pad: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows * self.cell, self.columns * self.cell)

    def cell_origin(self, row: int, column: int) -> tuple[int, int]:
        return (row * self.cell, column * self.cell)

    def tile_size(self, fields: int) -> tuple[int, int]:
        """(grid side, tile side) for ``fields`` images sharing a cell."""
        g = max(1, math.ceil(math.sqrt(fields)))
        return g, max(1, (self.cell - 2 * self.pad) // g)


def layout(n_rows: int, n_columns: int, max_size: int) -> Layout:
    cell = max(2, max_size // max(n_rows, n_columns, 1))
    return Layout(n_rows, n_columns, cell, 1 if cell >= 16 else 0)


def fit(rgb: np.ndarray, tile: int) -> np.ndarray:
    """Enlarge a small thumbnail (nearest neighbour) so its longest side fills the tile."""
    h, w = rgb.shape[:2]
    if max(h, w) >= tile:
        return rgb
    f = tile / max(h, w)
    return resize_nearest(rgb, max(1, min(tile, round(h * f))), max(1, min(tile, round(w * f))))


Planner = Callable[[Any, dict, int, int], ImageJob]  # (image, labels, fields in well, level)
Fetched = list[tuple[ImageJob, list[np.ndarray]]]


async def fetch_plate(plate: Plate, spec: RenderSpec, tile: Callable[[int], int], plan: Planner,
                      wells_done: list[int]) -> dict[str, Fetched]:
    """Per well: the shown fields' metadata, the chosen level's, the labels beside them, then
    the plan and the chunks, each well on its own (no barrier across wells, except that the
    first field to answer decides the level for the fields shaped like it).
    ``plan(image, labels, n_fields, level)`` runs on the kit loop (no I/O); ``tile(n_fields)``
    is a tile's side; ``wells_done[0]`` counts finished wells for a progress bar."""
    layout = SharedLayout()

    async def image_chain(image: Image, n_fields: int) -> tuple[ImageJob, list[np.ndarray]]:
        found: dict[str, Label] = {}
        if spec.labels is None or spec.labels is False:  # no labels chain beside it
            index = await layout.choose(image, tile(n_fields), spec)
        else:
            index, found = await asyncio.gather(layout.choose(image, tile(n_fields), spec),
                                                wanted_labels(image, spec.labels))
        job = plan(image, found, n_fields, index)
        return job, await aread_boxes(job.boxes_to_read())

    async def fields_chain(images: list[Image]) -> Fetched:
        if len(images) == 1:  # one field: no task of its own
            fetched = [await image_chain(images[0], 1)]
        else:
            fetched = list(await asyncio.gather(*(image_chain(im, len(images))
                                                  for im in images)))
        wells_done[0] += 1
        return fetched

    if spec.fields == "all":
        per_well = await plate.amap_wells(
            lambda _path, images: fields_chain(list(images.values())))
    else:
        per_well = await first_fields(plate, fields_chain)
    wells_done[0] = len(plate.well_paths)  # missing wells are done too: the bar ends full
    return per_well


async def first_fields(plate: Plate, fn: Callable[[list[Image]], Awaitable[Fetched]]
                       ) -> dict[str, Fetched]:
    """``await fn([first field])`` for every well, loading only that field of each well; a
    well the plate lists but the store lacks is left out with a warning, as in ``wells``."""
    from kit.nodes import Well, load_node

    async def one(path: str) -> Fetched | None:
        try:
            well = await load_node(plate.location.child(path))
        except NotFound:
            warnings.warn(f"{plate.location.where(path)}: listed well is missing", KitWarning,
                          stacklevel=2)
            return None
        if not isinstance(well, Well):
            return None
        image = await afirst_field(well)
        return await fn([image] if image is not None else [])

    paths = plate.well_paths
    results = await asyncio.gather(*(one(p) for p in paths))
    return {p: r for p, r in zip(paths, results) if r is not None}


def shared_windows(jobs: Sequence[ImageJob], planes: Sequence[np.ndarray]
                   ) -> list[list[tuple[float, float]]]:
    """Windows per job: omero ones as given, the rest from percentiles over the whole plate,
    so wells without omero hints stay comparable."""
    pooled: dict[int, list[np.ndarray]] = {}
    for job, plane in zip(jobs, planes):
        for k, (ch, w) in enumerate(zip(job.plane.channels, job.windows)):
            if w is None:
                pooled.setdefault(ch, []).append(plane[k][::2, ::2].ravel())
    data_windows = {ch: robust_window(np.concatenate(parts)) for ch, parts in pooled.items()}
    return [[w if w is not None else data_windows[ch]
             for ch, w in zip(job.plane.channels, job.windows)] for job in jobs]


def plate_overview(plate: Plate, spec: RenderSpec | None = None, *, progress: bool = True,
                   **options: Unpack[RenderOptions]) -> Picture:
    """uint8 RGB mosaic (rows x columns of square cells, longest side <= ``max_size``, 1024).

    ``fields="first"`` shows each well's first field, ``"all"`` tiles every field in its cell.
    Missing wells are cells of ``MISSING_RGB``. ``progress`` shows a bar (ipywidgets in a
    notebook, tqdm in a terminal) while chunks arrive. ``level`` forces one level per image
    (-1: the coarsest, what notebook cards use); by default a tile reads the coarsest level
    that covers it. The other options are those of ``kit.preview`` (or one ``spec``). The
    mosaic is a numpy array that also displays itself as a PNG in a notebook.

    ``annotate=True`` lays the wells out with gaps between them and each field at its own
    aspect ratio (no letterboxing), names the rows and columns along the edges (and each well
    in its cell when there is room), and adds the channel legend and a scale bar of one
    field below. Off by default, so the array keeps its grid of square cells.
    """
    return overview_of(plate, RenderSpec.from_kwargs(spec, **options), progress=progress)


def overview_of(plate: Plate, spec: RenderSpec, *, progress: bool = True) -> Picture:
    """The mosaic of ``plate`` as ``spec`` says (``plate_overview`` without the keywords)."""
    return plate_picture(plate, spec, progress=progress)[0]


def plate_picture(plate: Plate, spec: RenderSpec, *, progress: bool = True, burn: bool = True
                  ) -> tuple[Picture, PlateFrame | None]:
    """The mosaic and, when ``spec`` annotates, the frame it was laid out in (where each row
    and column is, for a figure's ticks). ``burn`` False lays the annotated mosaic out (gaps,
    tiles at the field's aspect) without drawing its text (a figure draws its own)."""
    from kit.nodes import Plate

    if not isinstance(plate, Plate):
        raise NotRenderable(f"plate_overview needs a Plate, not a {type(plate).__name__}: "
                            "use kit.preview or kit.show for an image, label or well",
                            where=getattr(plate, "url", None))
    if spec.coordinate_system is not None:
        raise InvalidRenderSpec("coordinate_system applies to an image, label, well or scene; a "
                                "plate overview shows each field on its own grid",
                                where=plate.url)
    size = spec.size(OVERVIEW_SIZE)
    grid = layout(len(plate.rows), len(plate.columns), size)
    frame = (plate_frame(list(plate.rows), list(plate.columns), size, burn)
             if spec.annotated(False) else None)

    def tile_side(n_fields: int) -> int:
        return frame.tile_side(n_fields) if frame is not None else grid.tile_size(n_fields)[1]

    def plan(image: Image, found: dict[str, Label], n_fields: int, level: int) -> ImageJob:
        return plan_image(image, spec, found, max_size=tile_side(n_fields), level=level)

    wells_done = [0]
    bar = make_progress(progress, "plate overview")
    try:
        n_wells = len(plate.well_paths)
        with collector_paused():
            per_well = run_reporting(fetch_plate(plate, spec, tile_side, plan, wells_done),
                                     lambda: bar.update(wells_done[0], n_wells))
    finally:
        bar.close()
    jobs = [(well, k, job, res) for well, fetched in per_well.items()
            for k, (job, res) in enumerate(fetched)]
    if jobs and all(job.is_fill(res) for _, _, job, res in jobs):
        warnings.warn(f"{plate.url}: {jobs[0][2].fill_warning()} in every well shown",
                      KitWarning, stacklevel=4)
    planes = [job.split(res)[0] for _, _, job, res in jobs]
    windows = shared_windows([job for _, _, job, _ in jobs], planes)
    if spec.label_style == "auto" and any(job.labels for _, _, job, _ in jobs):
        # one style for the whole plate, from every well's objects: not fill here, outline there
        style = style_for_areas(np.concatenate([job.label_areas(res) for _, _, job, res in jobs]))
        for _, _, job, _ in jobs:
            job.label_style = style
    positions = {w.path: (w.row_index, w.column_index) for w in plate.plate.wells}
    tiles = {(well, k): job.finish(res, win) for (well, k, job, res), win in zip(jobs, windows)}
    if frame is not None:
        first = jobs[0][2] if jobs else None
        return frame.compose(plate, per_well, tiles, positions, first), frame
    return _mosaic(grid, per_well, tiles, positions), None


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a plate's metadata and chunks are fetched.

    The fetch keeps every well's nodes and chunks alive until the mosaic is drawn, so the
    heap only grows, and each full collection it triggers scans the whole process (the
    imported libraries too) to free nothing: on a 1536-well plate that was ~25-40% of the
    client's CPU. Reference counting still frees everything as usual; cycles made meanwhile
    wait for the next collection after it (the collector is left as it was found).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _mosaic(grid: Layout, per_well: dict[str, Fetched], tiles: dict[tuple[str, int], np.ndarray],
            positions: dict[str, tuple[int, int]]) -> Picture:
    """The plain mosaic: square cells, each field fitted (centred) in its tile."""
    mosaic = np.empty(grid.shape + (3,), np.uint8)
    mosaic[...] = MISSING_RGB
    for well, fetched in per_well.items():
        if fetched:  # a well without any field stays a missing cell
            y0, x0 = grid.cell_origin(*positions[well])
            mosaic[y0:y0 + grid.cell, x0:x0 + grid.cell] = BACKGROUND_RGB
    for (well, k), picture in tiles.items():
        g, tile = grid.tile_size(len(per_well[well]))
        rgb = fit(picture, tile)
        r, c = positions[well]
        y0, x0 = grid.cell_origin(r, c)
        ty = y0 + grid.pad + (k // g) * tile + (tile - rgb.shape[0]) // 2
        tx = x0 + grid.pad + (k % g) * tile + (tile - rgb.shape[1]) // 2
        mosaic[ty:ty + rgb.shape[0], tx:tx + rgb.shape[1]] = rgb
    return mosaic.view(Picture)


def plate_frame(rows: list[str], columns: list[str], max_size: int, burn: bool = True
                ) -> PlateFrame:
    """The annotated layout's margins and gaps for a plate picture of ``max_size``: row
    letters on the left, column numbers on top, the legend and scale bar below (when
    ``burn``), a gap between wells that grows with the cells."""
    cell = max(2, max_size // max(len(rows), len(columns), 1))
    gap = int(min(12, max(2, round(cell * 0.05))))
    px = int(min(16, max(8, round(cell * 0.3))))
    if not burn:
        return PlateFrame(rows, columns, max_size, px, gap, 0, 0, 0, 0)
    pad = max(2, px // 3)
    left = max(text_size(r, px)[1] for r in rows) + 2 * pad if rows else 0
    top = max(text_size(c, px)[0] for c in columns) + 2 * pad if columns else 0
    bottom = 2 * px + 4 * pad
    return PlateFrame(rows, columns, max_size, px, gap, left, top, bottom, pad)


@dataclass
class PlateFrame:
    """An annotated plate picture: wells in cells of the fields' own aspect ratio, a ``gap``
    of ``FRAME_RGB`` between them, margins for the well names, a strip for legend and bar."""

    rows: list[str]
    columns: list[str]
    max_size: int
    px: int      # text height
    gap: int
    left: int
    top: int
    bottom: int
    right: int
    cell_h: int = 0  # set by ``compose``: the cell of one well and the tile of one field
    cell_w: int = 0
    tile_h: int = 0
    tile_w: int = 0
    annotations: Annotations | None = None

    def budget(self) -> tuple[int, int]:
        """(height, width) a cell may take, margins and gaps deducted from ``max_size``."""
        nr, nc = max(len(self.rows), 1), max(len(self.columns), 1)
        h = (self.max_size - self.top - self.bottom - (nr - 1) * self.gap) // nr
        w = (self.max_size - self.left - self.right - (nc - 1) * self.gap) // nc
        return max(1, h), max(1, w)

    def tile_side(self, n_fields: int) -> int:
        """The longest side a field is read at (the fields' aspect is not known yet)."""
        return max(1, min(self.budget()) // fields_grid(n_fields)[1])

    def cell_origin(self, row: int, column: int) -> tuple[int, int]:
        return (self.top + row * (self.cell_h + self.gap),
                self.left + column * (self.cell_w + self.gap))

    def row_centers(self) -> list[float]:
        return [self.cell_origin(r, 0)[0] + self.cell_h / 2 - 0.5 for r in range(len(self.rows))]

    def column_centers(self) -> list[float]:
        return [self.cell_origin(0, c)[1] + self.cell_w / 2 - 0.5
                for c in range(len(self.columns))]

    def compose(self, plate: Plate, per_well: dict[str, Fetched],
                tiles: dict[tuple[str, int], np.ndarray], positions: dict[str, tuple[int, int]],
                first: ImageJob | None) -> Picture:
        """Lay the tiles out at the first field's physical aspect, then draw the names."""
        n_max = max((len(f) for f in per_well.values()), default=1) or 1
        rows_g, cols_g = fields_grid(n_max)
        if first is not None:
            (h, w), (sy, sx) = first.plane.shape, first.plane.step
            fh, fw = h * abs(sy), w * abs(sx)
        else:
            fh = fw = 1.0
        bh, bw = self.budget()
        sep = FIELD_GAP if n_max > 1 else 0  # a line between the fields of one well
        scale = min((bw - (cols_g - 1) * sep) / (cols_g * fw),
                    (bh - (rows_g - 1) * sep) / (rows_g * fh))
        self.tile_h, self.tile_w = max(1, math.floor(fh * scale)), max(1, math.floor(fw * scale))
        if first is not None:  # the first field's own picture when it fits: not resampled
            oh, ow = first.out_shape
            if (rows_g * (oh + sep) - sep <= bh and cols_g * (ow + sep) - sep <= bw
                    and max(oh, ow) >= max(self.tile_h, self.tile_w)):
                self.tile_h, self.tile_w = oh, ow
        self.cell_h = rows_g * (self.tile_h + sep) - sep
        self.cell_w = cols_g * (self.tile_w + sep) - sep
        nr, nc = len(self.rows), len(self.columns)
        height = self.top + nr * self.cell_h + max(nr - 1, 0) * self.gap + self.bottom
        width = self.left + nc * self.cell_w + max(nc - 1, 0) * self.gap + self.right
        mosaic = np.empty((height, width, 3), np.uint8)
        mosaic[...] = FRAME_RGB
        for r in range(nr):
            for c in range(nc):
                y0, x0 = self.cell_origin(r, c)
                mosaic[y0:y0 + self.cell_h, x0:x0 + self.cell_w] = MISSING_RGB
        for well, fetched in per_well.items():
            if fetched:
                y0, x0 = self.cell_origin(*positions[well])
                mosaic[y0:y0 + self.cell_h, x0:x0 + self.cell_w] = BACKGROUND_RGB
                for k in range(1, cols_g):  # the lines between fields
                    x = x0 + k * (self.tile_w + sep) - sep
                    mosaic[y0:y0 + self.cell_h, x:x + sep] = FRAME_RGB
                for k in range(1, rows_g):
                    y = y0 + k * (self.tile_h + sep) - sep
                    mosaic[y:y + sep, x0:x0 + self.cell_w] = FRAME_RGB
        for (well, k), picture in tiles.items():
            rgb = fit_within(picture, self.tile_h, self.tile_w)
            y0, x0 = self.cell_origin(*positions[well])
            ty = y0 + (k // cols_g) * (self.tile_h + sep) + (self.tile_h - rgb.shape[0]) // 2
            tx = x0 + (k % cols_g) * (self.tile_w + sep) + (self.tile_w - rgb.shape[1]) // 2
            mosaic[ty:ty + rgb.shape[0], tx:tx + rgb.shape[1]] = rgb
        self.annotations = Annotations()
        if first is not None:
            legend = legend_entries(first)
            self.annotations.legend = legend
            bar, note = shown_scale_bar(first.image, fw / self.tile_w, self.tile_w,
                                        PLATE_BAR_FRACTION)
            self.annotations.scale_bar, self.annotations.note = bar, note
            if self.bottom:
                self._draw_strip(mosaic, legend, bar, note)
        if self.top or self.left:
            self._draw_names(mosaic, positions, per_well)
        return mosaic.view(Picture)

    def _draw_names(self, mosaic: np.ndarray, positions: dict[str, tuple[int, int]],
                    per_well: dict[str, Fetched]) -> None:
        """Column numbers above the columns, row letters left of the rows, and each well's
        name inside its cell when the cell is large enough to hold it legibly."""
        px = self.px
        for c, name in enumerate(self.columns):
            th, tw = text_size(name, px)
            x = round(self.column_centers()[c] - tw / 2)
            draw_text(mosaic, name, (self.top - th) // 2, x, px)
        for r, name in enumerate(self.rows):
            th, tw = text_size(name, px)
            draw_text(mosaic, name, round(self.row_centers()[r] - th / 2),
                      (self.left - tw) // 2, px)
        inner = max(9, min(16, px))
        if self.cell_w < 8 * inner or self.cell_h < 3 * inner:
            return
        shown = {positions[w] for w, fetched in per_well.items() if fetched}
        for r, c in ((r, c) for r in range(len(self.rows)) for c in range(len(self.columns))):
            y0, x0 = self.cell_origin(r, c)
            label = f"{self.rows[r]}{self.columns[c]}" + ("" if (r, c) in shown else ": no image")
            th, tw = text_size(label, inner)
            pad = max(2, inner // 3)
            draw_box(mosaic, y0, x0, y0 + th + 2 * pad, x0 + tw + 2 * pad)
            draw_text(mosaic, label, y0 + pad, x0 + pad, inner)

    def _draw_strip(self, mosaic: np.ndarray, legend: list[LegendEntry], bar: ScaleBar | None,
                    note: str | None) -> None:
        """The legend (left) and the scale bar of one field's tile (right) below the wells."""
        px, pad = self.px, self.right
        y = mosaic.shape[0] - self.bottom
        right = mosaic.shape[1] - pad
        if bar is not None:
            bottom = mosaic.shape[0] - pad
            row, span = draw_scale_bar(mosaic, bar, bottom, right, px, box=False)
            self.annotations.bar_row, self.annotations.bar_span = row, span  # type: ignore[union-attr]
        elif note:
            th, tw = text_size(note, px)
            draw_text(mosaic, note, y + (self.bottom - th) // 2, right - tw, px)
        draw_legend_inline(mosaic, legend, y + (self.bottom - px) // 2, self.left, px)


FIELD_GAP = 1  # pixels of FRAME_RGB between the fields of one well (``fields="all"``)
PLATE_BAR_FRACTION = 0.5  # a plate's bar measures one field's tile: up to half its width
FRAME_RGB = (20, 20, 20)  # gaps and margins of an annotated plate picture


def fields_grid(n_fields: int) -> tuple[int, int]:
    """(rows, columns) of the fields of one well in its cell: near square, filled by row."""
    cols = max(1, math.ceil(math.sqrt(n_fields)))
    return max(1, math.ceil(n_fields / cols)), cols


def fit_within(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """``rgb`` scaled to fit (height, width) keeping its aspect: the tile itself for a field
    shaped like the first, a centred smaller picture for an odd one."""
    h, w = rgb.shape[:2]
    if (h, w) == (height, width):
        return rgb
    f = min(height / h, width / w)
    th, tw = max(1, min(height, round(h * f))), max(1, min(width, round(w * f)))
    if height - th <= 1 and width - tw <= 1:  # the same aspect but for rounding: fill it
        th, tw = height, width
    if th >= h and tw >= w:
        return resize_nearest(rgb, th, tw)
    return to_uint8(resize(rgb.astype(np.float32) / 255.0, th, tw))
