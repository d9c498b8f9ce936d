"""A scene as one pan/zoom picture: a ``TileSource`` whose tiles are regions of the scene's
coordinate system, each composited from the members that reach into it.

The picture's level-0 pixel is the finest member pixel (in scene units); level ``k`` has pixels
``2**k`` times larger, down to one that fits a 512-pixel view. A tile of level ``k`` reads, of
each member, only the level whose pixel is no larger than the tile's (the coarsest such) and
only the box of that level the tile's corners map back into (through the member's placement),
then resamples that box onto the tile with ``kit.render.scene``'s own pieces
(``pixel_to_target``, ``affine_sample``): bilinear for images, nearest neighbour for label
images, later members over earlier ones, as ``render_scene_rgb`` draws the whole scene.
Every member keeps its own windows and colours (a scene's images need not share them).
Label overlays on members are not drawn here (the whole-scene PNG draws them).
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kit.errors import KitError, KitWarning
from kit.io.boxes import Box, read_boxes
from kit.io.loop import run_sync
from kit.render.composite import composite, to_uint8
from kit.render.overlay import colorize
from kit.render.plane import Plane, plan_plane, yx_axes
from kit.render.scene import affine_sample, pixel_to_target, scene_system
from kit.render.spec import NotRenderable, RenderSpec, Window
from kit.render.tiles import (
    TILE,
    LevelGeometry,
    Part,
    TileKey,
    TilePlan,
    TileRenderer,
    needs_data_windows,
    resolve_windows,
    tile_plane,
)

if TYPE_CHECKING:
    from kit.nodes import Image
    from kit.nodes.scene import Scene

__all__ = ["SceneSource"]

FIT = 512  # the coarsest level shows the whole scene in about this many pixels


@dataclass
class _Member:
    path: str
    image: Image
    pixel: list[float]      # pixel size (scene units) per level, from the multiscale's scales


@dataclass
class ScenePlan(TilePlan):
    """A scene tile: per member drawn, its plane box and where the box lies in the scene."""

    members: list[tuple[int, Plane, np.ndarray]] = field(default_factory=list)

    def boxes(self) -> list[Box]:
        return [plane.box for _, plane, _ in self.members]

    def split(self, results: list[np.ndarray]) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """The first member's (C, H, W) data (the slider statistics), no label values."""
        if not self.members:
            return None, []
        return self.members[0][1].as_chw(results[0]), []


class SceneSource:
    """The members of a scene placed in its coordinate system (``TileSource``)."""

    def __init__(self, scene: Scene):
        images = scene.images
        if not images:
            raise NotRenderable("this scene has no readable image", where=scene.url)
        self.scene = scene
        self.axes = [a.name for a in scene_system(scene).axes]
        self.target_yx = yx_axes(self.axes)
        members: list[_Member] = []
        corners = []
        for path, image in images.items():
            try:
                to = self._to_scene(path, image, 0)
            except KitError as exc:
                warnings.warn(f"{scene.url}: scene image {path!r} not shown: {exc.message}",
                              KitWarning, stacklevel=3)
                continue
            h, w = to[1]
            p0 = math.sqrt(abs(np.linalg.det(to[0][:2, :2])))
            iy = yx_axes(image.axes)[0]
            scales = [d.scale[iy] for d in image.multiscale.datasets]
            members.append(_Member(path, image, [p0 * s / scales[0] if scales[0] else p0
                                                 for s in scales]))
            pts = np.array([[-0.5, -0.5, 1], [-0.5, w - 0.5, 1], [h - 0.5, -0.5, 1],
                            [h - 0.5, w - 0.5, 1]])
            corners.append((pts @ to[0].T)[:, :2])
        if not members:
            raise NotRenderable("no image of this scene can be placed", where=scene.url)
        self.members = members
        self.reference: Image = members[0].image
        allc = np.concatenate(corners)
        self.lo = allc.min(axis=0)
        self.unit = min(m.pixel[0] for m in members)  # scene units per level-0 pixel
        extent = (allc.max(axis=0) - self.lo) / self.unit
        h0, w0 = max(1, math.ceil(extent[0] - 1e-9)), max(1, math.ceil(extent[1] - 1e-9))
        n = 1 + max(0, math.ceil(math.log2(max(h0, w0) / FIT)))
        self.levels: list[LevelGeometry] = [
            LevelGeometry(k, (math.ceil(h0 / 2 ** k), math.ceil(w0 / 2 ** k)),
                          (float(2 ** k), float(2 ** k)), (TILE, TILE)) for k in range(n)]
        self._placements: dict[tuple[int, int], np.ndarray] = {}

    def _to_scene(self, path: str, image: Image, level: int
                  ) -> tuple[np.ndarray, tuple[int, int]]:
        """(3, 3) from a whole level plane's pixel to the scene's (y, x), and the plane shape."""
        affine = np.asarray(self.scene.placement(path, level).affine, float)
        plane = plan_plane(image, level)
        to = pixel_to_target(plane, plane.shape, affine, image.axes, self.target_yx)
        if abs(np.linalg.det(to)) < 1e-300:
            raise KitError(f"the placement of {path!r} flattens its y/x plane", where=image.url)
        return to, plane.shape

    # -- geometry ------------------------------------------------------------------------------
    def grids(self, level: int) -> list[LevelGeometry]:
        return [self.levels[level]]

    def parts(self) -> list[Part]:
        return []

    def part_of(self, key: TileKey) -> Part | None:
        return None

    def member_level(self, member: int, pixel: float) -> int:
        """The coarsest level of a member whose pixel is no larger than ``pixel``."""
        chosen = 0
        for k, p in enumerate(self.members[member].pixel):
            if p <= pixel * (1 + 1e-6):
                chosen = k
        return chosen

    def placement(self, member: int, level: int) -> np.ndarray:
        """The homogeneous matrix from a member level's indices to the scene (loaded)."""
        return self._placements[(member, level)]

    async def aload(self, member: int, level: int) -> None:
        if (member, level) not in self._placements:
            m = self.members[member]
            mapping = await self.scene.aplacement(m.path, level)
            self._placements[(member, level)] = np.asarray(mapping.affine, float)

    def drawer(self, spec: RenderSpec) -> SceneDrawer:
        return SceneDrawer(self, spec)


class SceneDrawer:
    """A scene's tiles under one spec."""

    def __init__(self, source: SceneSource, spec: RenderSpec):
        self.source = source
        self.spec = spec
        self._styles: dict[int, tuple[list[tuple[int, int, int]], list[Window]]] = {}

    def data_key(self) -> tuple:
        s = self.spec
        return (self.source.scene.url, s.channels, s.z, s.t)

    def colors(self) -> list[tuple[int, int, int]]:
        return self._style(0)[0] if self.source.reference.kind != "label" else []

    def _style(self, member: int) -> tuple[list[tuple[int, int, int]], list[Window]]:
        """A member's colours and windows (its own; read from its coarsest level if needed)."""
        if member not in self._styles:
            image = self.source.members[member].image
            if image.kind == "label":
                self._styles[member] = ([], [])
            else:
                coarsest = None
                if needs_data_windows(image, self.spec):
                    plane = plan_plane(image, len(image.multiscale.datasets) - 1,
                                       channels=self.spec.channels or None, z=self.spec.z,
                                       t=self.spec.t)
                    coarsest = plane.as_chw(read_boxes([plane.box])[0])
                colors = TileRenderer(image, self.spec, {}, []).colors()
                self._styles[member] = (colors, resolve_windows(image, self.spec, coarsest))
        return self._styles[member]

    def _levels(self, key: TileKey) -> list[tuple[int, int]]:
        g = self.source.levels[key[0]]
        pixel = g.factor[0] * self.source.unit
        return [(i, self.source.member_level(i, pixel)) for i in range(len(self.source.members))]

    def prepare(self, keys: Sequence[TileKey]) -> None:
        """The member levels' documents and placements the tiles need, in one batch."""
        todo = sorted({ml for k in keys for ml in self._levels(k)}
                      - set(self.source._placements))
        if todo:
            async def load() -> None:
                await asyncio.gather(*(self.source.aload(i, lv) for i, lv in todo))

            run_sync(load())

    def _out_to_scene(self, key: TileKey) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        g = self.source.levels[key[0]]
        y0, y1, x0, x1 = g.bounds(key[1], key[2])
        p = g.factor[0] * self.source.unit
        lo = self.source.lo
        return np.array([[p, 0, lo[0] + (y0 + 0.5) * p], [0, p, lo[1] + (x0 + 0.5) * p],
                         [0, 0, 1]]), (y0, y1, x0, x1)

    def plan(self, key: TileKey) -> ScenePlan:
        self.prepare([key])
        out, bounds = self._out_to_scene(key)
        h, w = bounds[1] - bounds[0], bounds[3] - bounds[2]
        members = []
        for i, level in self._levels(key):
            image = self.source.members[i].image
            channels = None if image.kind == "label" else self.spec.channels or None
            if channels is None and self.spec.channels == () and image.kind != "label":
                continue
            whole = plan_plane(image, level, channels=channels, z=self.spec.z, t=self.spec.t)
            affine = self.source.placement(i, level)
            to = pixel_to_target(whole, whole.shape, affine, image.axes, self.source.target_yx)
            back = np.linalg.inv(to) @ out  # tile pixel -> the member level's pixel
            corners = np.array([[-0.5, -0.5, 1], [-0.5, w - 0.5, 1], [h - 0.5, -0.5, 1],
                                [h - 0.5, w - 0.5, 1]]) @ back.T
            ph, pw = whole.shape
            ry0 = max(0, math.floor(corners[:, 0].min()) - 1)
            ry1 = min(ph, math.ceil(corners[:, 0].max()) + 2)
            rx0 = max(0, math.floor(corners[:, 1].min()) - 1)
            rx1 = min(pw, math.ceil(corners[:, 1].max()) + 2)
            if ry1 <= ry0 or rx1 <= rx0:
                continue  # this member is not in the tile
            region = tile_plane(whole, image, ry0, ry1, rx0, rx1)
            members.append((i, region, pixel_to_target(region, region.shape, affine,
                                                        image.axes, self.source.target_yx)))
        return ScenePlan(key, bounds, None, [], members)

    def draw(self, plan: TilePlan, results: list[np.ndarray], windows: Sequence[Window]
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        assert isinstance(plan, ScenePlan)
        out, (y0, y1, x0, x1) = self._out_to_scene(plan.key)
        shape = (y1 - y0, x1 - x0)
        canvas = np.zeros(shape + (3,), np.float32)
        for (i, region, to), data in zip(plan.members, results):
            image = self.source.members[i].image
            chw = region.as_chw(data)
            if image.kind == "label":
                color, alpha = colorize(chw[0], image.colors)  # type: ignore[attr-defined]
                rgb, nearest = color * alpha[..., None], True
            else:
                colors, wins = self._style(i)
                rgb, nearest = composite(chw, colors, wins, self.spec.gamma), False
            back = np.linalg.inv(to) @ out
            values, inside = affine_sample(rgb, back[:2, :2], back[:2, 2], shape,
                                           order=0 if nearest else 1)
            canvas[inside] = values[inside]
        return to_uint8(canvas), {}
