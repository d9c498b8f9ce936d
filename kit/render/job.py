"""The image pipeline under every picture: metadata, plan, read, draw.

The work is split in three so a plate can batch many images: ``load_metadata`` (async, every
independent document at once), ``plan_image`` (the boxes to read, no I/O) and
``ImageJob.finish`` (numpy only, after one ``read_boxes`` over all the boxes). The options come
as one ``RenderSpec``, already validated.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kit.errors import KitWarning, NotFound
from kit.io.boxes import Box
from kit.render.color import default_color, hex_to_rgb, robust_window
from kit.render.composite import composite, to_uint8
from kit.render.labelplane import LabelPart, plan_label
from kit.render.levels import choose_level
from kit.render.overlay import object_areas, overlay
from kit.render.plane import Plane, channel_names, plan_plane
from kit.render.resample import output_shape, resize
from kit.render.spec import InvalidRenderSpec, LabelSpec, LabelStyle, RenderSpec, Window

if TYPE_CHECKING:
    from kit.nodes import Image, Label


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


async def wanted_labels(image: Image, labels: LabelSpec = None) -> dict[str, Label]:
    """The labels ``labels`` names, with their level documents (labels group -> label groups
    -> their levels)."""
    if labels is None or labels is False:
        return {}
    chosen = select_labels(await image.alabels(), labels, image.url)
    await asyncio.gather(*(lab.alevels() for lab in chosen.values()))
    return chosen


async def load_metadata(image: Image, labels: LabelSpec = None) -> dict[str, Label]:
    """Level documents of the image and of the wanted labels, fetched concurrently: the
    labels chain runs beside the image's own level documents instead of after them."""
    _, chosen = await asyncio.gather(image.alevels(), wanted_labels(image, labels))
    return chosen


def channel_colors(image: Image, channels: list[int], n: int) -> list[tuple[int, int, int]]:
    """Omero colour of each of ``n`` channels; a default when missing (grey for a lone one)."""
    meta = image.channels
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
    """Everything needed to turn computed chunks into the picture of one image."""

    image: Image
    plane: Plane
    out_shape: tuple[int, int]
    colors: list[tuple[int, int, int]]
    windows: list[Window | None]
    labels: list[LabelPart] = field(default_factory=list)
    label_style: LabelStyle = "auto"
    opacity: float | None = None
    gamma: float = 1.0

    def boxes_to_read(self) -> list[Box]:
        return [self.plane.box] + [p.box for p in self.labels if p.box is not None]

    def split(self, results: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """The (C, H, W) plane and the label data, from results in ``boxes_to_read`` order."""
        plane, rest = self.plane.as_chw(results[0]), list(results[1:])
        labels = [rest.pop(0) if p.box is not None else None for p in self.labels]
        return plane, labels

    def resolved_windows(self, plane: np.ndarray) -> list[Window]:
        return [w if w is not None else robust_window(plane[k])
                for k, w in enumerate(self.windows)]

    def is_fill(self, results: list[np.ndarray]) -> bool:
        """Whether every pixel read equals the level's fill value (no data stored there)."""
        try:
            fill = self.image.level_array(self.plane.level.index).fill_value
        except Exception:  # noqa: BLE001 - no fill value known: nothing to say
            return False
        plane = np.asarray(results[0])
        if fill is None or plane.size == 0:
            return False
        if isinstance(fill, float) and np.isnan(fill):
            return bool(np.isnan(plane).all())
        return bool((plane == fill).all())

    def fill_warning(self) -> str:
        fill = self.image.level_array(self.plane.level.index).fill_value
        fill = fill.item() if hasattr(fill, "item") else fill
        return (f"no data stored there: every pixel read from level {self.plane.level.path} "
                f"equals the array's fill value {fill!r} (its chunks are missing or hold only "
                f"the fill value), so the picture is blank")

    def label_areas(self, results: list[np.ndarray]) -> np.ndarray:
        """The shown area of every object of every label drawn (for one ``auto`` choice
        across the images of a plate)."""
        _, label_data = self.split(results)
        areas = [object_areas(part.finish(data)) for part, data in zip(self.labels, label_data)]
        return np.concatenate(areas) if areas else np.zeros(0, np.int64)

    def finish(self, results: list[np.ndarray],
               windows: list[Window] | None = None) -> np.ndarray:
        """uint8 RGB of the computed arrays; ``windows`` overrides the per-image windows."""
        plane, label_data = self.split(results)
        rgb = composite(plane, self.colors, windows or self.resolved_windows(plane), self.gamma)
        rgb = resize(rgb, *self.out_shape)
        for part, data in zip(self.labels, label_data):
            rgb = overlay(rgb, part.finish(data), part.label.colors, style=self.label_style,
                          opacity=self.opacity)
        return to_uint8(rgb)


def warn_fill(job: ImageJob, results: list[np.ndarray], stacklevel: int = 3) -> None:
    """A KitWarning when the picture of ``job`` shows nothing but the fill value."""
    if job.is_fill(results):
        warnings.warn(f"{job.image.url}: {job.fill_warning()}", KitWarning,
                      stacklevel=stacklevel)


def plan_image(image: Image, spec: RenderSpec, labels: dict[str, Label] | None = None, *,
               max_size: int, level: int | None = None) -> ImageJob:
    """What to read for the picture of an image and how to draw it (no I/O).

    ``max_size`` is the side of the picture (the spec's, or a plate tile's). ``level``: the
    level already chosen (only its metadata need be loaded); None chooses it here from every
    level (all loaded).
    """
    index = level if level is not None else choose_level(image, max_size, spec.level, spec.roi)
    plane = plan_plane(image, index, channels=spec.channels, z=spec.z, t=spec.t, roi=spec.roi)
    out = output_shape(*plane.shape, *plane.step, max_size)
    parts = [plan_label(lab, plane, out) for lab in (labels or {}).values()]
    windows = channel_windows(image, plane.channels)
    if spec.windows is not None:
        if len(spec.windows) != len(plane.channels):
            raise InvalidRenderSpec(f"windows gives {len(spec.windows)} window(s) for "
                                    f"{len(plane.channels)} shown channel(s) {plane.channels}")
        windows = [w if w is not None else o for w, o in zip(spec.windows, windows)]
    n = len(channel_names(image, plane.level)) if "c" in image.axes else 1
    colors = apply_colors(channel_colors(image, plane.channels, n), spec, plane.channels)
    return ImageJob(image, plane, out, colors, windows, parts, spec.label_style, spec.opacity,
                    spec.gamma)


def apply_colors(own: list[tuple[int, int, int]], spec: RenderSpec,
                 channels: Sequence[int]) -> list[tuple[int, int, int]]:
    """The spec's colours (one per shown channel, None: keep) over the metadata's ``own``."""
    if spec.colors is None:
        return own
    if len(spec.colors) != len(channels):
        raise InvalidRenderSpec(f"colors gives {len(spec.colors)} colour(s) for "
                                f"{len(channels)} shown channel(s) {list(channels)}")
    return [c if c is not None else o for c, o in zip(spec.colors, own)]
