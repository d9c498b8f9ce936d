"""Pictures placed by affine transforms: a 0.6 scene's images composited in its coordinate
system, an image shown in one of its own coordinate systems (a rotated or affine one), and
the resampling under them (numpy only).

Every member is drawn as ``kit.preview`` draws it (its plane at the level covering the size),
then placed: each output pixel centre is mapped back through the member's transform (from the
picture's pixels to level indices to the target system's axes) and sampled, linearly for
images, nearest neighbour for label images. Label overlays travel as label values, not as
colours: they are sampled by nearest neighbour onto the output grid and drawn there (outline
or fill, with the spec's opacity), so an outline stays one output pixel wide after a rotation
and the image under it stays linearly resampled. Later members are drawn over earlier ones
(their labels too). A non-linear (displacements, coordinates) transform is parsed but not
rendered: a KitWarning says so and the picture falls back to the image's intrinsic system (a
scene leaves such a member out).
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.errors import KitError, KitWarning, NotFound
from kit.io.boxes import read_boxes
from kit.io.loop import run_sync
from kit.ngff.coordinate_systems import level_chain
from kit.render.annotate import LegendEntry, legend_entries
from kit.render.composite import to_uint8
from kit.render.job import load_metadata, plan_image, warn_fill
from kit.render.levels import choose_level
from kit.render.overlay import colorize, overlay
from kit.render.plane import Plane, plan_plane, yx_axes
from kit.render.resample import output_shape, resize_nearest
from kit.render.spec import LabelStyle, RenderSpec

if TYPE_CHECKING:
    from kit.ngff.models import Axis, CoordinateSystem
    from kit.nodes import Image
    from kit.nodes.scene import Scene

__all__ = ["Placed", "PlacedLabel", "SystemPicture", "affine_sample", "composite_placed",
           "draw_footprints", "image_in_system", "nearest_sample", "place", "render_in_system",
           "render_scene_rgb", "scene_picture", "shown_system"]


def _source_coords(matrix: np.ndarray, offset: Sequence[float], out_shape: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Input (row, col) coordinate of every output pixel: ``matrix @ o + offset``."""
    oy, ox = np.meshgrid(np.arange(out_shape[0]), np.arange(out_shape[1]), indexing="ij")
    m = np.asarray(matrix, float)
    return (m[0, 0] * oy + m[0, 1] * ox + offset[0], m[1, 0] * oy + m[1, 1] * ox + offset[1])


def nearest_sample(src: np.ndarray, matrix: np.ndarray, offset: Sequence[float],
                   out_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``affine_sample`` by nearest neighbour, keeping ``src``'s dtype (label values stay
    exact, even above float32's 2**24). Returns (values, mask of output pixels inside)."""
    h, w = src.shape[:2]
    cy, cx = _source_coords(matrix, offset, out_shape)
    inside = (cy > -0.5) & (cy < h - 0.5) & (cx > -0.5) & (cx < w - 0.5)
    iy = np.clip(np.floor(cy + 0.5), 0, h - 1).astype(np.intp)
    ix = np.clip(np.floor(cx + 0.5), 0, w - 1).astype(np.intp)
    return np.asarray(src)[iy, ix], inside


def affine_sample(src: np.ndarray, matrix: np.ndarray, offset: Sequence[float],
                  out_shape: tuple[int, int], *, order: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Resample the first two axes of ``src`` (H, W[, C]) onto ``out_shape``: output index
    ``o`` reads input coordinate ``matrix @ o + offset`` (scipy.ndimage.affine_transform's
    convention, pixel centres at integers). ``order`` 0 is nearest neighbour, 1 bilinear.
    Returns (values as float32, mask of output pixels that fall inside the input)."""
    if order == 0:
        values, inside = nearest_sample(src, matrix, offset, out_shape)
        return values.astype(np.float32), inside
    h, w = src.shape[:2]
    cy, cx = _source_coords(matrix, offset, out_shape)
    inside = (cy > -0.5) & (cy < h - 0.5) & (cx > -0.5) & (cx < w - 0.5)
    data = src.astype(np.float32)
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
class PlacedLabel:
    """A label image's values on its image's picture grid (0: none), and its colours."""

    ids: np.ndarray
    colors: dict[int, tuple[int, int, int, int]] | None


@dataclass
class Placed:
    """A picture (H, W, 3) and the (3, 3) affine from its pixel (row, col, 1) to the shown
    (y, x, 1) of the target coordinate system; ``nearest`` for labels; the label overlays
    to draw on it (on the same grid) and its legend."""

    rgb: np.ndarray
    to_target: np.ndarray
    nearest: bool = False
    name: str = ""
    labels: list[PlacedLabel] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)

    def outline(self) -> np.ndarray:
        """The picture's four corners in the target (y, x), in order round its edge."""
        return self.corners()[[0, 1, 3, 2]]

    def corners(self) -> np.ndarray:
        h, w = self.rgb.shape[:2]
        pts = np.array([[-0.5, -0.5, 1], [-0.5, w - 0.5, 1], [h - 0.5, -0.5, 1],
                        [h - 0.5, w - 0.5, 1]])
        return (pts @ self.to_target.T)[:, :2]


@dataclass
class SystemPicture:
    """A picture drawn in a coordinate system: uint8 RGB, the (3, 3) affine from its pixel
    (row, col, 1) to the system's (y, x, 1) (axis-aligned: square pixels), the system's name,
    the (vertical, horizontal) axes shown with their units, and the legend of what is drawn."""

    rgb: np.ndarray
    to_target: np.ndarray
    system: str
    axes: tuple[Axis, Axis]
    legend: list[LegendEntry] = field(default_factory=list)
    #: a scene's members: (path, their outline as four (y, x) corners in the system, in order
    #: round the edge), for a figure to show where each one lies on a dark background
    footprints: list[tuple[str, np.ndarray]] = field(default_factory=list)

    @property
    def pixel(self) -> float:
        """The width of one picture pixel in the system's x unit."""
        return float(self.to_target[1, 1])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x0, x1, y1, y0) of the picture's outer edges: ``imshow(extent=...)``'s order."""
        h, w = self.rgb.shape[:2]
        sy, sx = float(self.to_target[0, 0]), float(self.to_target[1, 1])
        top = float(self.to_target[0, 2]) - sy / 2
        left = float(self.to_target[1, 2]) - sx / 2
        return (left, left + w * sx, top + h * sy, top)


FOOTPRINT_RGB = (190, 190, 190)
DASH = 4  # on and off length of a footprint's dashes, in picture pixels


def draw_footprints(picture: SystemPicture) -> np.ndarray:
    """``picture.rgb`` with each scene member's outline drawn in dashed grey (one pixel wide),
    for a picture that explains itself (``annotate=True``): on a dark background the edges of
    the members are otherwise invisible."""
    rgb = np.array(picture.rgb, copy=True)
    h, w = rgb.shape[:2]
    back = np.linalg.inv(picture.to_target)
    for _, corners in picture.footprints:
        pts = np.c_[corners, np.ones(len(corners))] @ back.T  # output pixel (row, col)
        for a, b in zip(pts, np.roll(pts, -1, axis=0)):
            n = max(2, math.ceil(2 * np.abs(b[:2] - a[:2]).max()))
            t = np.linspace(0.0, 1.0, n)
            along = t * np.hypot(*(b[:2] - a[:2]))
            on = (along // DASH) % 2 == 0
            rows = np.floor(a[0] + t * (b[0] - a[0]) + 0.5).astype(np.intp)[on]
            cols = np.floor(a[1] + t * (b[1] - a[1]) + 0.5).astype(np.intp)[on]
            # an edge on the picture's own border falls half a pixel out: onto the border
            keep = (rows >= -1) & (rows <= h) & (cols >= -1) & (cols <= w)
            rgb[np.clip(rows[keep], 0, h - 1), np.clip(cols[keep], 0, w - 1)] = FOOTPRINT_RGB
    return rgb


def composite_placed(parts: Sequence[Placed], max_size: int, *,
                     label_style: LabelStyle = "auto", opacity: float | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The pictures drawn in one target grid covering them all, longest side ``max_size``,
    each with its label overlays drawn on the grid in ``label_style`` at ``opacity`` (as
    ``overlay`` draws them on a plain preview). Returns (uint8 RGB, the (3, 3) affine from
    the output pixel to the target's y, x)."""
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
        for lab in p.labels:
            ids, within = nearest_sample(lab.ids, back[:2, :2], back[:2, 2], shape)
            canvas = overlay(canvas, np.where(within, ids, 0), lab.colors, style=label_style,
                             opacity=opacity).astype(np.float32)
    return to_uint8(canvas), out_to_target


@dataclass
class Drawn:
    """One image drawn on its own grid: float RGB in [0, 1] without its label overlays, the
    plane it shows, the overlays' values on that grid, and its legend."""

    rgb: np.ndarray
    plane: Plane
    labels: list[PlacedLabel]
    legend: list[LegendEntry]


def picture(image: Image, spec: RenderSpec, size: int) -> Drawn:
    """One member drawn as ``kit.preview`` would (label images in their colours), its label
    overlays kept apart as values, to be drawn once placed."""
    from kit.nodes import Label

    if isinstance(image, Label):
        run_sync(image.alevels())
        plane = plan_plane(image, choose_level(image, size, spec.level, spec.roi), z=spec.z,
                           t=spec.t, roi=spec.roi)
        (data,) = read_boxes([plane.box])
        color, alpha = colorize(plane.as_chw(data)[0], image.colors)
        out = output_shape(*plane.shape, *plane.step, size)
        return Drawn(resize_nearest(color * alpha[..., None], *out), plane, [], [])
    chosen = run_sync(load_metadata(image, spec.labels))
    job = plan_image(image, spec, chosen, max_size=size)
    results = read_boxes(job.boxes_to_read())
    warn_fill(job, results, stacklevel=5)
    _, label_data = job.split(results)
    rgb = replace(job, labels=[]).finish(results).astype(np.float32) / 255.0
    labels = [PlacedLabel(part.finish(data), part.label.colors)
              for part, data in zip(job.labels, label_data)]
    return Drawn(rgb, job.plane, labels, legend_entries(job))


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

    drawn = picture(image, spec, size)
    affine = np.asarray(affine_of_level(drawn.plane.level.index), float)
    to_target = pixel_to_target(drawn.plane, drawn.rgb.shape[:2], affine, image.axes,
                                yx_axes(target_axes))
    if abs(np.linalg.det(to_target)) < 1e-300:
        raise KitError(f"{name or image.name!r} is seen edge-on there: the target's y and x "
                       "do not both vary across the image's y/x plane (they come from other "
                       "axes, e.g. z); such a reslice is not drawn", where=image.url)
    return Placed(drawn.rgb, to_target, nearest=isinstance(image, Label), name=name,
                  labels=drawn.labels, legend=drawn.legend)


def shown_axes(system: CoordinateSystem) -> tuple[Axis, Axis]:
    """The (vertical, horizontal) axes of a system: y and x (else its last two)."""
    iy, ix = yx_axes([a.name for a in system.axes])
    return system.axes[iy], system.axes[ix]


def shown_system(image: Image, name: str | None, *, stacklevel: int = 2
                 ) -> CoordinateSystem | None:
    """The coordinate system ``name`` of ``image`` to draw it in, or None for the intrinsic
    one (the plain picture of its pixels). An unknown name is a NotFound listing the image's
    systems; one reached only through a displacements/coordinates field is drawn in the
    intrinsic system with a KitWarning (such fields are parsed, not rendered)."""
    systems = image.coordinate_systems
    if name is None or name == systems[0].name:
        return None
    system = next((cs for cs in systems if cs.name == name), None)
    if system is None:
        raise NotFound(f"no coordinate system {name!r} in this {image.kind} (its coordinate "
                       f"systems: {', '.join(cs.name for cs in systems)})", where=image.url)
    n = len(image.axes)
    try:
        chain, _ = level_chain(image.multiscale, 0, (1.0,) * n, (0.0,) * n, name,
                               where=image.url)
    except NotFound:
        # a field written the other way (an inverse field, sampled from the target): the
        # system is meant to be reached through it, which is not rendered either
        chain = tuple(t for t in image.multiscale.transforms
                      if t.is_nonlinear and name in (t.input, t.output))
        if not chain:
            raise
    fields = [t for t in chain if t.is_nonlinear]
    if fields:
        warnings.warn(f"{image.url}: coordinate system {name!r} is reached through a "
                      f"{fields[0].type} transformation ({fields[0].field}), which is parsed "
                      f"but not rendered; drawn in {systems[0].name!r} instead", KitWarning,
                      stacklevel=stacklevel + 1)
        return None
    return system


def image_in_system(image: Image, to: str | None, spec: RenderSpec, size: int, *,
                    stacklevel: int = 2) -> SystemPicture:
    """An image drawn in its coordinate system ``to`` (None: the intrinsic one), with its
    label overlays, resampled through its transforms."""
    system = shown_system(image, to, stacklevel=stacklevel + 1) or image.coordinate_systems[0]
    part = place(image, spec, size, lambda level: image.transform(level, to=system.name).affine,
                 [a.name for a in system.axes], image.name)
    rgb, grid = composite_placed([part], size, label_style=spec.label_style,
                                 opacity=spec.opacity)
    return SystemPicture(rgb, grid, system.name, shown_axes(system), part.legend)


def render_in_system(image: Image, to: str, spec: RenderSpec | None = None,
                     size: int = 512) -> np.ndarray:
    """uint8 RGB of an image shown in its coordinate system ``to`` (one its multiscale's
    transforms reach: a rotated or affine "world"), resampled like a scene's member."""
    spec = spec if spec is not None else RenderSpec()
    return image_in_system(image, to, spec, size, stacklevel=2).rgb


def member_specs(scene: Scene, images: dict[str, Image], spec: RenderSpec
                 ) -> dict[str, RenderSpec]:
    """Each member's spec: the labels it has of those ``spec.labels`` names (all of its own
    for True). A name no member has is a NotFound listing the labels they have."""
    from kit.nodes import Label

    wanted = spec.labels
    if not isinstance(wanted, tuple):  # None or True: every member its own (all, or none)
        return {path: spec for path in images}

    async def labels_of(image: Image) -> dict:
        return {} if isinstance(image, Label) else await image.alabels()

    async def every() -> list[dict]:
        return list(await asyncio.gather(*(labels_of(im) for im in images.values())))

    found = dict(zip(images, run_sync(every())))
    have = {name for names in found.values() for name in names}
    missing = [n for n in wanted if n not in have]
    if missing:
        raise NotFound(f"no image of the scene has a label {missing[0]!r} (their labels: "
                       f"{sorted(have)})", where=scene.url)
    return {path: spec.with_(labels=tuple(n for n in wanted if n in found[path]) or None)
            for path in images}


def scene_picture(scene: Scene, spec: RenderSpec, size: int, *, stacklevel: int = 2
                  ) -> SystemPicture:
    """A scene: every readable member (and the labels ``spec`` asks for) placed in the
    scene's coordinate system (a member that cannot be placed is a KitWarning, left out)."""
    system = scene_system(scene)
    if spec.coordinate_system not in (None, scene.target, system.name):
        raise NotFound(f"a scene is shown in its coordinate system {scene.target!r}, not "
                       f"{spec.coordinate_system!r}", where=scene.url)
    images = scene.images
    axes = [a.name for a in system.axes]
    specs = member_specs(scene, images, spec)
    parts = []
    legend: dict[str, LegendEntry] = {}
    for path, image in images.items():
        def affine(level: int, path: str = path) -> np.ndarray:
            return scene.placement(path, level).affine

        try:
            part = place(image, specs[path], size, affine, axes, path)
        except KitError as exc:
            warnings.warn(f"{scene.url}: scene image {path!r} not shown: {exc.message}",
                          KitWarning, stacklevel=stacklevel + 1)
            continue
        parts.append(part)
        for entry in part.legend:  # channels by name, labels; not a grey member's own name
            if "c" in image.axes or entry.name != image.name:
                legend.setdefault(entry.name, entry)
    rgb, grid = composite_placed(parts, size, label_style=spec.label_style,
                                 opacity=spec.opacity)
    return SystemPicture(rgb, grid, scene.target, shown_axes(system), list(legend.values()),
                         [(p.name, p.outline()) for p in parts])


def render_scene_rgb(scene: Scene, spec: RenderSpec, size: int) -> np.ndarray:
    """uint8 RGB of a scene: every readable member placed in the scene's coordinate system
    (a member that cannot be placed is a KitWarning and left out)."""
    return scene_picture(scene, spec, size, stacklevel=2).rgb


def scene_system(scene: Scene) -> CoordinateSystem:
    """The coordinate system the scene is shown in (its own, else the member's)."""
    path, name = scene.meta.scene.target
    systems = (scene.coordinate_systems if not path
               else scene.images[path].coordinate_systems if path in scene.images else [])
    for cs in systems:
        if cs.name == name:
            return cs
    raise KitError(f"the scene's coordinate system {scene.target!r} is not defined",
                   where=scene.url)
