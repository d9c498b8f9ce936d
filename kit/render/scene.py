"""Pictures placed by affine transforms: a 0.6 scene's images composited in its coordinate
system, an image shown in one of its own coordinate systems (a rotated or affine one), and
the resampling under them (numpy only).

Every member is drawn as ``kit.preview`` draws it (its plane at the level covering the size),
then placed: each output pixel centre is mapped back through the member's transform (from the
picture's pixels to level indices to the scene's axes) and sampled, linearly for images,
nearest neighbour for label images and pictures carrying label overlays (a blend of label
values or outlines means nothing). Later members are drawn over earlier ones.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import KitError, KitWarning
from kit.io.boxes import read_boxes
from kit.io.loop import run_sync
from kit.render.composite import to_uint8
from kit.render.job import load_metadata, plan_image
from kit.render.levels import choose_level
from kit.render.overlay import colorize
from kit.render.plane import Plane, plan_plane, yx_axes
from kit.render.resample import output_shape, resize_nearest
from kit.render.spec import RenderSpec

if TYPE_CHECKING:
    from kit.nodes import Image
    from kit.nodes.scene import Scene

__all__ = ["Placed", "affine_sample", "composite_placed", "place", "render_in_system",
           "render_scene_rgb"]


def affine_sample(src: np.ndarray, matrix: np.ndarray, offset: Sequence[float],
                  out_shape: tuple[int, int], *, order: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Resample the first two axes of ``src`` (H, W[, C]) onto ``out_shape``: output index
    ``o`` reads input coordinate ``matrix @ o + offset`` (scipy.ndimage.affine_transform's
    convention, pixel centres at integers). ``order`` 0 is nearest neighbour, 1 bilinear.
    Returns (values as float32, mask of output pixels that fall inside the input)."""
    h, w = src.shape[:2]
    oy, ox = np.meshgrid(np.arange(out_shape[0]), np.arange(out_shape[1]), indexing="ij")
    m = np.asarray(matrix, float)
    cy = m[0, 0] * oy + m[0, 1] * ox + offset[0]
    cx = m[1, 0] * oy + m[1, 1] * ox + offset[1]
    inside = (cy > -0.5) & (cy < h - 0.5) & (cx > -0.5) & (cx < w - 0.5)
    data = src.astype(np.float32)
    if order == 0:
        iy = np.clip(np.floor(cy + 0.5), 0, h - 1).astype(np.intp)
        ix = np.clip(np.floor(cx + 0.5), 0, w - 1).astype(np.intp)
        return data[iy, ix], inside
    cy, cx = np.clip(cy, 0, h - 1), np.clip(cx, 0, w - 1)
    y0 = np.minimum(np.floor(cy).astype(np.intp), max(h - 2, 0))
    x0 = np.minimum(np.floor(cx).astype(np.intp), max(w - 2, 0))
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = cy - y0, cx - x0
    if data.ndim == 3:
        fy, fx = fy[..., None], fx[..., None]
    top = data[y0, x0] * (1 - fx) + data[y0, x1] * fx
    bottom = data[y1, x0] * (1 - fx) + data[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32), inside


@dataclass
class Placed:
    """A picture (H, W, 3) and the (3, 3) affine from its pixel (row, col, 1) to the shown
    (y, x, 1) of the target coordinate system; ``nearest`` for labels."""

    rgb: np.ndarray
    to_target: np.ndarray
    nearest: bool = False
    name: str = ""

    def corners(self) -> np.ndarray:
        h, w = self.rgb.shape[:2]
        pts = np.array([[-0.5, -0.5, 1], [-0.5, w - 0.5, 1], [h - 0.5, -0.5, 1],
                        [h - 0.5, w - 0.5, 1]])
        return (pts @ self.to_target.T)[:, :2]


def composite_placed(parts: Sequence[Placed], max_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The pictures drawn in one target grid covering them all, longest side ``max_size``.
    Returns (uint8 RGB, the (3, 3) affine from the output pixel to the target's y, x)."""
    if not parts:
        return np.zeros((1, 1, 3), np.uint8), np.eye(3)
    corners = np.concatenate([p.corners() for p in parts])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    extent = np.maximum(hi - lo, 1e-12)
    pixel = float(max(extent)) / max_size
    shape = tuple(max(1, math.ceil(e / pixel - 1e-9)) for e in extent)
    out_to_target = np.array([[pixel, 0, lo[0] + pixel / 2], [0, pixel, lo[1] + pixel / 2],
                              [0, 0, 1]])
    canvas = np.zeros((*shape, 3), np.float32)
    for p in parts:
        back = np.linalg.inv(p.to_target) @ out_to_target  # output pixel -> picture pixel
        values, inside = affine_sample(p.rgb, back[:2, :2], back[:2, 2], shape,
                                       order=0 if p.nearest else 1)
        canvas[inside] = values[inside]
    return to_uint8(canvas), out_to_target


def picture(image: Image, spec: RenderSpec, size: int) -> tuple[np.ndarray, Plane]:
    """One member drawn as ``kit.preview`` would (label images in their colours)."""
    from kit.nodes import Label

    if isinstance(image, Label):
        run_sync(image.alevels())
        plane = plan_plane(image, choose_level(image, size, None, None))
        (data,) = read_boxes([plane.box])
        color, alpha = colorize(plane.as_chw(data)[0], image.colors)
        out = output_shape(*plane.shape, *plane.step, size)
        return resize_nearest(color * alpha[..., None], *out), plane
    chosen = run_sync(load_metadata(image, spec.labels))
    job = plan_image(image, spec, chosen, max_size=size)
    results = read_boxes(job.boxes_to_read())
    return job.finish(results).astype(np.float32) / 255.0, job.plane


def pixel_to_target(plane: Plane, picture_shape: tuple[int, int], affine: np.ndarray,
                    axes: Sequence[str], target_yx: tuple[int, int]) -> np.ndarray:
    """(3, 3): a picture pixel (row, col) -> level indices (the plane's z/t, channel 0) ->
    the target's (y, x) through ``affine`` (level indices -> target, homogeneous)."""
    iy, ix = yx_axes(axes)
    n = len(axes)
    ph, pw = plane.shape
    h, w = picture_shape
    start_y, start_x = (int(s.start or 0) if isinstance(s, slice) else 0
                        for s in (plane.box.selection[iy], plane.box.selection[ix]))
    to_index = np.zeros((n + 1, 3))
    to_index[iy] = [ph / h, 0, start_y + 0.5 * ph / h - 0.5]
    to_index[ix] = [0, pw / w, start_x + 0.5 * pw / w - 0.5]
    for k, name in enumerate(axes):
        if name == "z" and plane.z is not None:
            to_index[k, 2] = plane.z
        elif name == "t" and plane.t is not None:
            to_index[k, 2] = plane.t
    to_index[n, 2] = 1.0
    full = affine @ to_index
    return np.vstack([full[list(target_yx)], [0, 0, 1]])


def place(image: Image, spec: RenderSpec, size: int, affine_of_level: Callable[[int], Any],
          target_axes: Sequence[str], name: str = "") -> Placed:
    """One image drawn and placed: ``affine_of_level(level)`` gives the homogeneous matrix
    from that level's indices to the target system (whose axes are ``target_axes``)."""
    from kit.nodes import Label

    rgb, plane = picture(image, spec, size)
    affine = np.asarray(affine_of_level(plane.level.index), float)
    to_target = pixel_to_target(plane, rgb.shape[:2], affine, image.axes, yx_axes(target_axes))
    if abs(np.linalg.det(to_target)) < 1e-300:
        raise KitError(f"the placement of {name or image.name!r} flattens its y/x plane",
                       where=image.url)
    return Placed(rgb, to_target, nearest=isinstance(image, Label) or bool(spec.labels),
                  name=name)


def render_in_system(image: Image, to: str, spec: RenderSpec | None = None,
                     size: int = 512) -> np.ndarray:
    """uint8 RGB of an image shown in its coordinate system ``to`` (one its multiscale's
    transforms reach: a rotated or affine "world"), resampled like a scene's member."""
    spec = spec if spec is not None else RenderSpec()
    axes = next((cs.axes for cs in image.coordinate_systems if cs.name == to), None)
    part = place(image, spec, size, lambda level: image.transform(level, to=to).affine,
                 [a.name for a in axes] if axes else image.axes, image.name)
    return composite_placed([part], size)[0]


def render_scene_rgb(scene: Scene, spec: RenderSpec, size: int) -> np.ndarray:
    """uint8 RGB of a scene: every readable member placed in the scene's coordinate system
    (a member that cannot be placed is a KitWarning and left out)."""
    images = scene.images
    axes = scene_axes(scene)
    parts = []
    for path, image in images.items():
        def affine(level: int, path: str = path) -> np.ndarray:
            return scene.placement(path, level).affine

        try:
            parts.append(place(image, spec, size, affine, axes, path))
        except KitError as exc:
            warnings.warn(f"{scene.url}: scene image {path!r} not shown: {exc.message}",
                          KitWarning, stacklevel=4)
    return composite_placed(parts, size)[0]


def scene_axes(scene: Scene) -> list[str]:
    """Axis names of the system the scene is shown in (its own, else the member's)."""
    path, name = scene.meta.scene.target
    systems = (scene.coordinate_systems if not path
               else scene.images[path].coordinate_systems if path in scene.images else [])
    for cs in systems:
        if cs.name == name:
            return [a.name for a in cs.axes]
    raise KitError(f"the scene's coordinate system {scene.target!r} is not defined",
                   where=scene.url)
