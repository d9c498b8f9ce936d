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
import math
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import KitWarning, NotFound
from kit.io.boxes import aread_boxes
from kit.io.loop import run_reporting
from kit.render.color import robust_window
from kit.render.job import ImageJob, plan_image, wanted_labels
from kit.render.plate_reads import SharedLayout, afirst_field
from kit.render.png import Picture
from kit.render.progress import make_progress
from kit.render.resample import resize_nearest
from kit.render.spec import NotRenderable, RenderSpec

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
        index, found = await asyncio.gather(layout.choose(image, tile(n_fields), spec),
                                            wanted_labels(image, spec.labels))
        job = plan(image, found, n_fields, index)
        return job, await aread_boxes(job.boxes_to_read())

    async def fields_chain(images: list[Image]) -> Fetched:
        fetched = list(await asyncio.gather(*(image_chain(im, len(images)) for im in images)))
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
    """
    return overview_of(plate, RenderSpec.from_kwargs(spec, **options), progress=progress)


def overview_of(plate: Plate, spec: RenderSpec, *, progress: bool = True) -> Picture:
    """The mosaic of ``plate`` as ``spec`` says (``plate_overview`` without the keywords)."""
    from kit.nodes import Plate

    if not isinstance(plate, Plate):
        raise NotRenderable(f"plate_overview needs a Plate, not a {type(plate).__name__}: "
                            "use kit.preview or kit.show for an image, label or well",
                            where=getattr(plate, "url", None))
    grid = layout(len(plate.rows), len(plate.columns), spec.size(OVERVIEW_SIZE))
    mosaic = np.empty(grid.shape + (3,), np.uint8)
    mosaic[...] = MISSING_RGB
    positions = {w.path: (w.row_index, w.column_index) for w in plate.plate.wells}

    def tile_side(n_fields: int) -> int:
        return grid.tile_size(n_fields)[1]

    def plan(image: Image, found: dict[str, Label], n_fields: int, level: int) -> ImageJob:
        return plan_image(image, spec, found, max_size=tile_side(n_fields), level=level)

    wells_done = [0]
    bar = make_progress(progress, "plate overview")
    try:
        per_well = run_reporting(fetch_plate(plate, spec, tile_side, plan, wells_done),
                                 lambda: bar.update(wells_done[0], len(plate.well_paths)))
    finally:
        bar.close()
    jobs = [(well, k, job, res) for well, fetched in per_well.items()
            for k, (job, res) in enumerate(fetched)]
    if jobs and all(job.is_fill(res) for _, _, job, res in jobs):
        warnings.warn(f"{plate.url}: {jobs[0][2].fill_warning()} in every well shown",
                      KitWarning, stacklevel=3)
    planes = [job.split(res)[0] for _, _, job, res in jobs]
    windows = shared_windows([job for _, _, job, _ in jobs], planes)
    for well, fetched in per_well.items():
        if fetched:  # a well without any field stays a missing cell
            y0, x0 = grid.cell_origin(*positions[well])
            mosaic[y0:y0 + grid.cell, x0:x0 + grid.cell] = BACKGROUND_RGB
    for (well, k, job, res), win in zip(jobs, windows):
        g, tile = grid.tile_size(len(per_well[well]))
        rgb = fit(job.finish(res, win), tile)
        r, c = positions[well]
        y0, x0 = grid.cell_origin(r, c)
        ty = y0 + grid.pad + (k // g) * tile + (tile - rgb.shape[0]) // 2
        tx = x0 + grid.pad + (k % g) * tile + (tile - rgb.shape[1]) // 2
        mosaic[ty:ty + rgb.shape[0], tx:tx + rgb.shape[1]] = rgb
    return mosaic.view(Picture)
