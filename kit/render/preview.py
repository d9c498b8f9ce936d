"""``kit.preview``: one uint8 RGB picture of a node, reading only the chunks it shows.

The work is split in three so a plate can batch many images: ``load_metadata`` (async, every
independent document at once), ``plan_image`` (the boxes to read, no I/O) and
``ImageJob.finish`` (numpy only, after one ``read_boxes`` over all the boxes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import NotFound
from kit.io.loop import run_sync
from kit.io.boxes import Box, read_boxes
from kit.render.color import default_color, hex_to_rgb, robust_window
from kit.render.composite import composite, to_uint8
from kit.render.labelplane import LabelPart, plan_label
from kit.render.overlay import LabelStyle, colorize, overlay
from kit.render.plane import ChannelSpec, Plane, plan_plane
from kit.render.resample import output_shape, resize, resize_nearest

if TYPE_CHECKING:
    from kit.nodes import Image, Label

LabelSpec = bool | str | Sequence[str] | None


def select_labels(available: dict[str, Label], spec: LabelSpec, where: str) -> dict[str, Label]:
    """The labels a ``labels=`` argument names: None/False none, True all, a name or names."""
    if spec is None or spec is False:
        return {}
    if spec is True:
        return dict(available)
    names = [spec] if isinstance(spec, str) else list(spec)
    missing = [n for n in names if n not in available]
    if missing:
        raise NotFound(f"no label {missing[0]!r} (labels: {sorted(available)})", where=where)
    return {n: available[n] for n in names}


async def load_metadata(image: Image, labels: LabelSpec = None) -> dict[str, Label]:
    """Level documents of the image and of the wanted labels, fetched concurrently.

    The labels chain (labels group -> label groups -> their levels) runs beside the image's
    own level documents instead of after them.
    """
    async def wanted_labels() -> dict[str, Label]:
        if labels is None or labels is False:
            return {}
        chosen = select_labels(await image.alabels(), labels, image.url)
        await asyncio.gather(*(lab.alevels() for lab in chosen.values()))
        return chosen

    _, chosen = await asyncio.gather(image.alevels(), wanted_labels())
    return chosen


def channel_colors(image: Image, channels: list[int]) -> list[tuple[int, int, int]]:
    """Omero colour of each channel; a default when missing (grey for a lone channel)."""
    meta = image.channels
    n = len(image.channel_names) if "c" in image.axes else 1
    out = []
    for i in channels:
        rgb = hex_to_rgb(meta[i].color) if i < len(meta) else None
        out.append(rgb or default_color(i, n))
    return out


def channel_windows(image: Image, channels: list[int]) -> list[tuple[float, float] | None]:
    """Omero window (start, end) of each channel; None where the data must decide."""
    meta = image.channels
    out: list[tuple[float, float] | None] = []
    for i in channels:
        w = meta[i].window if i < len(meta) else None
        out.append((float(w.start), float(w.end)) if w is not None else None)
    return out


@dataclass
class ImageJob:
    """Everything needed to turn computed chunks into the preview of one image."""

    image: Image
    plane: Plane
    out_shape: tuple[int, int]
    colors: list[tuple[int, int, int]]
    windows: list[tuple[float, float] | None]
    labels: list[LabelPart] = field(default_factory=list)
    label_style: LabelStyle = "outline"
    opacity: float = 0.5

    def boxes_to_read(self) -> list[Box]:
        return [self.plane.box] + [p.box for p in self.labels if p.box is not None]

    def split(self, results: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """The (C, H, W) plane and the label data, from results in ``boxes_to_read`` order."""
        plane, rest = self.plane.as_chw(results[0]), list(results[1:])
        labels = [rest.pop(0) if p.box is not None else None for p in self.labels]
        return plane, labels

    def resolved_windows(self, plane: np.ndarray) -> list[tuple[float, float]]:
        return [w if w is not None else robust_window(plane[k])
                for k, w in enumerate(self.windows)]

    def finish(self, results: list[np.ndarray],
               windows: list[tuple[float, float]] | None = None) -> np.ndarray:
        """uint8 RGB of the computed arrays; ``windows`` overrides the per-image windows."""
        plane, label_data = self.split(results)
        rgb = composite(plane, self.colors, windows or self.resolved_windows(plane))
        rgb = resize(rgb, *self.out_shape)
        for part, data in zip(self.labels, label_data):
            rgb = overlay(rgb, part.finish(data), part.label.colors, style=self.label_style,
                          opacity=self.opacity)
        return to_uint8(rgb)


def plan_image(image: Image, *, max_size: int = 512, channels: ChannelSpec = None,
               z: int | None = None, t: int | None = None, labels: dict[str, Label] | None = None,
               level: int | None = None, label_style: LabelStyle = "outline",
               opacity: float = 0.5) -> ImageJob:
    """What to read for an image preview and how to draw it (levels must be loaded)."""
    if label_style not in ("outline", "fill"):
        raise ValueError(f"label_style must be 'outline' or 'fill', not {label_style!r}")
    index = image.pick_level(max_size) if level is None else image._level_index(level)
    plane = plan_plane(image, index, channels=channels, z=z, t=t)
    out = output_shape(*plane.shape, *plane.step, max_size)
    parts = [plan_label(lab, plane, out) for lab in (labels or {}).values()]
    return ImageJob(image, plane, out, channel_colors(image, plane.channels),
                    channel_windows(image, plane.channels), parts, label_style, opacity)


@dataclass
class Rendered:
    """A preview and the grid it shows (for figures: physical extent, channels)."""

    rgb: np.ndarray
    plane: Plane | None = None
    job: ImageJob | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def render_image(image: Image, *, max_size: int = 512, channels: ChannelSpec = None,
                 z: int | None = None, t: int | None = None, labels: LabelSpec = None,
                 level: int | None = None, label_style: LabelStyle = "outline",
                 opacity: float = 0.5) -> Rendered:
    chosen = run_sync(load_metadata(image, labels))
    job = plan_image(image, max_size=max_size, channels=channels, z=z, t=t, labels=chosen,
                     level=level, label_style=label_style, opacity=opacity)
    results = read_boxes(job.boxes_to_read())
    return Rendered(job.finish(results), job.plane, job)


def render_label(label: Label, *, max_size: int = 512, z: int | None = None,
                 t: int | None = None, level: int | None = None) -> Rendered:
    """A label image on its own: each object in its colour on black."""
    run_sync(label.alevels())
    index = label.pick_level(max_size) if level is None else label._level_index(level)
    plane = plan_plane(label, index, z=z, t=t)
    (data,) = read_boxes([plane.box])
    color, alpha = colorize(plane.as_chw(data)[0], label.colors)
    rgb = resize_nearest(color * alpha[..., None], *output_shape(*plane.shape, *plane.step,
                                                                 max_size))
    return Rendered(to_uint8(rgb), plane)


def first_field(well: Any) -> Image:
    images = well.images
    if not images:
        raise NotFound("this well has no field of view", where=well.url)
    return next(iter(images.values()))


def render(node: Any, *, max_size: int = 512, channels: ChannelSpec = None,
           z: int | None = None, t: int | None = None, labels: LabelSpec = None,
           level: int | None = None, label_style: LabelStyle = "outline",
           opacity: float = 0.5) -> Rendered:
    """Dispatch on the node kind (Plate, Well, Label, Image)."""
    from kit.nodes import Image, Label, Plate, Well

    if isinstance(node, Plate):
        from kit.render.overview import plate_overview

        return Rendered(plate_overview(node, max_size=max_size, channels=channels, z=z, t=t,
                                       labels=labels, label_style=label_style, opacity=opacity))
    if isinstance(node, Well):
        node = first_field(node)
    if isinstance(node, Label):
        return render_label(node, max_size=max_size, z=z, t=t, level=level)
    if isinstance(node, Image):
        return render_image(node, max_size=max_size, channels=channels, z=z, t=t, labels=labels,
                            level=level, label_style=label_style, opacity=opacity)
    raise TypeError(f"cannot preview a {type(node).__name__}: give an Image, Label, Well or Plate")


def preview(node: Any, *, max_size: int = 512, channels: ChannelSpec = None,
            z: int | None = None, t: int | None = None, labels: LabelSpec = None,
            level: int | None = None, label_style: LabelStyle = "outline",
            opacity: float = 0.5) -> np.ndarray:
    """uint8 RGB (H, W, 3) of a node, longest side <= ``max_size``, reading only what it shows.

    The coarsest level covering ``max_size`` is read (or ``level``), one z/t plane (default:
    middle z, first t), the chosen ``channels`` (indices or names; default: the active ones),
    composited with their omero colours and windows. ``labels`` (True, a name or names) are
    drawn as outlines or filled with ``opacity``. A Well shows its first field, a Label its
    colours, a Plate the mosaic of ``plate_overview``.
    """
    return render(node, max_size=max_size, channels=channels, z=z, t=t, labels=labels,
                  level=level, label_style=label_style, opacity=opacity).rgb
