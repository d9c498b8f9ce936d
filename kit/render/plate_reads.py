"""Read only what a plate picture shows: the shown field of each well, the chosen level.

A plate overview shows one field per well at one level. Loading every field's metadata and
every level's array metadata to find out which one that is costs a request per field and per
level and well. Here a well loads only its first field, and a level is chosen from the level
shapes of the first field that answers (the *probe*): the fields of a plate share one layout,
so every other field with the same multiscale metadata loads just the level the probe's
shapes pick, and checks that level's shape against the probe's (a field that differs loads
all its levels and picks exactly, as a lone preview does). The price is one round trip: the
other fields wait for the probe's level documents before asking for their own.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import TYPE_CHECKING

from kit.errors import KitWarning, NotFound
from kit.render.levels import choose_level, coarsest_covering, level_index
from kit.render.plane import yx_axes
from kit.render.spec import RenderSpec

if TYPE_CHECKING:
    from kit.nodes import Image, Well

__all__ = ["SharedLayout", "afirst_field", "field_paths"]


def field_paths(well: Well) -> list[str]:
    """A well's field paths, in its metadata's order (no request): the one place the render
    layer reads them."""
    meta = well.meta.well
    return [im.path for im in meta.images] if meta is not None else []


async def afirst_field(well: Well) -> Image | None:
    """The first listed field that exists, loading only that field's metadata."""
    from kit.nodes import Image, load_node

    for path in field_paths(well):
        try:
            node = await load_node(well.location.child(path))
        except NotFound:
            warnings.warn(f"{well.location.where(path)}: listed field is missing", KitWarning,
                          stacklevel=2)
            continue
        if isinstance(node, Image):
            return node
    return None


def _layout_key(image: Image) -> tuple:
    """What fields must share for one's level shapes to stand for another's."""
    return (tuple(image.axes), tuple((d.path, tuple(d.scale), tuple(d.translation or ()))
                                     for d in image.multiscale.datasets))


class SharedLayout:
    """Level choice for many images of one plate, loading one level's metadata per image."""

    def __init__(self) -> None:
        self._probes: dict[tuple, asyncio.Future] = {}

    async def choose(self, image: Image, max_size: int, spec: RenderSpec) -> int:
        """The level ``spec`` and ``max_size`` pick for ``image``, its metadata loaded."""
        if spec.level is not None:
            index = level_index(image, spec.level)
            await image.alevel(index)
        elif spec.roi is not None:  # a crop's extent depends on every level: ask them all
            await image.alevels()
            index = choose_level(image, max_size, None, spec.roi)
        else:
            index = await self._shared(image, max_size)
        if spec.z is not None:
            await image.alevel(0)  # z is a level-0 index
        return index

    async def _exact(self, image: Image, max_size: int) -> int:
        await image.alevels()
        return choose_level(image, max_size)

    async def _shared(self, image: Image, max_size: int) -> int:
        key = _layout_key(image)
        probe = self._probes.get(key)
        if probe is None:
            probe = self._probes[key] = asyncio.get_running_loop().create_future()
            try:
                levels = await image.alevels()
                probe.set_result([lv.shape for lv in levels])
            except Exception as exc:
                probe.set_exception(exc)
                probe.exception()  # retrieved: the waiters fall back to their own levels
                raise
            finally:
                if not probe.done():  # cancelled: the waiters fall back too
                    probe.cancel()
            return choose_level(image, max_size)
        try:
            shapes: list[tuple[int, ...]] | None = await asyncio.shield(probe)
        except asyncio.CancelledError:
            if not probe.cancelled():
                raise  # this read itself was cancelled
            shapes = None
        except Exception:  # noqa: BLE001 - the probe's failure is the probe's own
            shapes = None
        if shapes is None:
            return await self._exact(image, max_size)
        iy, ix = yx_axes(image.axes)
        index = coarsest_covering([(s[iy], s[ix]) for s in shapes], max_size)
        level = await image.alevel(index)
        if tuple(level.shape) != tuple(shapes[index]):
            return await self._exact(image, max_size)
        return index
