"""``kit.preview``: one uint8 RGB picture of any node, reading only the chunks it shows.

The dispatcher of the render layer: a ``RenderSpec`` in (built from the keyword arguments in
``RenderSpec.from_kwargs``, the one place they are read), the picture of a Plate (its mosaic),
Well (its first field), Label (its colours), Scene (its members placed) or Image out, with
the grid it shows: a plane of the image's own pixels, or, for a scene and for an image drawn in
another of its coordinate systems (``coordinate_system=``), the ``SystemPicture``'s grid in
that system.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import NotFound
from kit.io.boxes import aread_boxes, read_boxes
from kit.io.loop import run_sync
from kit.render.annotate import (
    UNKNOWN_UNITS,
    Annotations,
    LegendEntry,
    annotate_picture,
    label_entry,
    legend_entries,
    scale_bar,
    shown_pixel,
    shown_scale_bar,
)
from kit.render.composite import to_uint8
from kit.render.job import ImageJob, load_metadata, plan_image, wanted_labels, warn_fill
from kit.render.levels import choose_level
from kit.render.overlay import colorize
from kit.render.overview import overview_of
from kit.render.plane import Plane, plan_plane
from kit.render.plate_reads import SharedLayout, afirst_field
from kit.render.resample import output_shape, resize_nearest
from kit.render.scene import (
    SystemPicture,
    draw_footprints,
    image_in_system,
    scene_picture,
    shown_system,
)
from kit.render.spec import NotRenderable, RenderSpec, Window

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from kit.nodes import Image, Label
    from kit.render.spec import RenderOptions

__all__ = ["PREVIEW_SIZE", "Rendered", "first_field", "preview", "render", "render_blank",
           "well_thumbnail"]

PREVIEW_SIZE = 512


@dataclass
class Rendered:
    """A picture and what it shows: the grid (for figures), the level and windows used."""

    rgb: np.ndarray
    plane: Plane | None = None
    job: ImageJob | None = None
    windows: list[Window] = field(default_factory=list)
    annotations: Annotations | None = None
    #: the picture's grid and axes when it is drawn in a coordinate system (scenes, images
    #: shown in a non-intrinsic system); None for a plain plane of pixels
    system: SystemPicture | None = None

    @property
    def level(self) -> int | None:
        return self.plane.level.index if self.plane is not None else None


def render_image(image: Image, spec: RenderSpec) -> Rendered:
    chosen = run_sync(load_metadata(image, spec.labels))
    job = plan_image(image, spec, chosen, max_size=spec.size(PREVIEW_SIZE))
    results = read_boxes(job.boxes_to_read())
    warn_fill(job, results, stacklevel=5)  # the caller of preview/show
    plane, _ = job.split(results)
    windows = job.resolved_windows(plane)
    return Rendered(job.finish(results, windows), job.plane, job, windows)


def render_label(label: Label, spec: RenderSpec) -> Rendered:
    """A label image on its own: each object in its colour on black."""
    run_sync(label.alevels())
    size = spec.size(PREVIEW_SIZE)
    plane = plan_plane(label, choose_level(label, size, spec.level, spec.roi), z=spec.z, t=spec.t,
                       roi=spec.roi)
    (data,) = read_boxes([plane.box])
    color, alpha = colorize(plane.as_chw(data)[0], label.colors)
    rgb = resize_nearest(color * alpha[..., None], *output_shape(*plane.shape, *plane.step, size))
    return Rendered(to_uint8(rgb), plane)


def render_blank(image: Image, spec: RenderSpec) -> Rendered:
    """Every channel switched off: a black picture of the right size (no chunk read)."""
    run_sync(image.alevels())
    size = spec.size(PREVIEW_SIZE)
    plane = plan_plane(image, choose_level(image, size, spec.level, spec.roi), z=spec.z,
                       t=spec.t, roi=spec.roi)
    h, w = output_shape(*plane.shape, *plane.step, size)
    return Rendered(np.zeros((h, w, 3), np.uint8), plane)


def first_field(well: Any) -> Image:
    """A well's first field that exists, loading only that field's metadata."""
    image = run_sync(afirst_field(well))
    if image is None:
        raise NotFound("this well has no field of view", where=well.url)
    return image


def well_thumbnail(well: Any, spec: RenderSpec, layout: SharedLayout) -> np.ndarray:
    """The picture of a well's first field, as ``kit.preview(well)`` draws it, reading that
    field's metadata and only the level ``layout`` (shared by the thumbnails of one plate)
    picks: a plate grid of thumbnails costs what a plate overview does."""
    size = spec.size(PREVIEW_SIZE)

    async def fetch() -> tuple[ImageJob, list[np.ndarray]]:
        image = await afirst_field(well)
        if image is None:
            raise NotFound("this well has no field of view", where=well.url)
        index, found = await asyncio.gather(layout.choose(image, size, spec),
                                            wanted_labels(image, spec.labels))
        job = plan_image(image, spec, found, max_size=size, level=index)
        return job, await aread_boxes(job.boxes_to_read())

    job, results = run_sync(fetch())
    warn_fill(job, results, stacklevel=3)
    return job.finish(results)


def annotated(rendered: Rendered, source: Image, legend: list[LegendEntry]) -> Rendered:
    """``rendered`` with its scale bar and legend drawn in."""
    if rendered.plane is None:
        return rendered
    width = rendered.rgb.shape[1]
    bar, note = shown_scale_bar(source, shown_pixel(rendered.plane, width), width)
    rendered.rgb, rendered.annotations = annotate_picture(rendered.rgb, bar, legend, note)
    return rendered


def system_annotated(picture: SystemPicture) -> Rendered:
    """A picture in a coordinate system with its scale bar (in the system's x unit), legend
    and, for a scene, its members' outlines drawn in."""
    width = picture.rgb.shape[1]
    bar = scale_bar(picture.pixel, picture.axes[1].unit, width)
    rgb, notes = annotate_picture(draw_footprints(picture), bar, picture.legend,
                                  None if bar is not None else UNKNOWN_UNITS)
    return Rendered(rgb, annotations=notes, system=picture)


def in_system(picture: SystemPicture, spec: RenderSpec) -> Rendered:
    return (system_annotated(picture) if spec.annotated(False)
            else Rendered(picture.rgb, system=picture))


def render(node: Any, spec: RenderSpec | None = None, *, stacklevel: int = 3) -> Rendered:
    """Dispatch on the node kind (Scene, Plate, Well, Label, Image); ``annotate`` off by
    default. ``stacklevel`` of the warnings: the caller of ``kit.preview``/``kit.show``."""
    from kit.nodes import Image, Label, Plate, Scene, Well

    spec = spec if spec is not None else RenderSpec()
    if isinstance(node, Scene):
        return in_system(scene_picture(node, spec, spec.size(PREVIEW_SIZE),
                                       stacklevel=stacklevel), spec)
    if isinstance(node, Plate):
        # a preview's default size, not the overview's: kit.preview(plate) is 512 px wide
        return Rendered(overview_of(node, spec.with_(max_size=spec.size(PREVIEW_SIZE)),
                                    progress=True))
    if isinstance(node, Well):
        node = first_field(node)
    if (isinstance(node, Image) and spec.coordinate_system is not None
            and shown_system(node, spec.coordinate_system, stacklevel=stacklevel) is not None):
        return in_system(image_in_system(node, spec.coordinate_system, spec,
                                         spec.size(PREVIEW_SIZE), stacklevel=stacklevel), spec)
    if isinstance(node, Label):
        rendered = render_label(node, spec)
        return (annotated(rendered, node, [label_entry(node)]) if spec.annotated(False)
                else rendered)
    if isinstance(node, Image):
        rendered = render_image(node, spec)
        if spec.annotated(False) and rendered.job is not None:
            return annotated(rendered, node, legend_entries(rendered.job))
        return rendered
    raise NotRenderable(f"cannot preview a {type(node).__name__}: give an Image, Label, Well, "
                        "Plate or Scene")


def preview(node: Any, spec: RenderSpec | None = None, **options: Unpack[RenderOptions]
            ) -> np.ndarray:
    """uint8 RGB (H, W, 3) of a node, longest side <= ``max_size``, reading only what it shows.

    The coarsest level covering ``max_size`` (512) is read (or ``level``), one z/t plane
    (default: middle z, first t), the chosen ``channels`` (indices or names; default: the
    active ones), composited with their omero colours and ``windows`` (default: omero, else
    percentiles). ``labels`` (True, a name or names) are drawn as outlines or filled with
    ``opacity``; ``roi`` (a ROI table row) shows only that part. A Well shows its first field,
    a Label its colours, a Plate the mosaic of ``plate_overview``. ``spec`` (a ``RenderSpec``)
    gives every option at once; keyword arguments override it.

    ``coordinate_system`` (a name from ``image.coordinate_systems``) draws the picture in that
    system, resampled through the image's transforms (scale, translation, affine, rotation,
    sequence...), labels by nearest neighbour; default: the first (intrinsic) one. A Scene
    shows its images (and their ``labels``) placed in the scene's system.

    ``annotate=True`` draws a scale bar (in the axis unit; a note when it is unknown) and a
    legend of the shown channels and labels into the picture. Off by default: the array is
    the data's picture, for numbers to be computed on; ``kit.show`` and the CLI annotate.
    """
    return np.asarray(render(node, RenderSpec.from_kwargs(spec, **options)).rgb)
