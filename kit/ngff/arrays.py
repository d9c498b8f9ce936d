"""`check_level_array` and `check_pyramid`: the checks that need the levels' array metadata
(shape, dimension_names).

Kept apart from parsing because the node layer learns shapes only when it opens a level. A
pyramid's levels go from highest resolution to lowest (MUST), so no level is larger than the one
above it on any axis: a hostile level claiming 2**62 pixels under a 64-pixel level 0 is refused
here, before anything plans a read of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kit.errors import InvalidMetadata

from ._context import short
from .models import ImageMeta, Multiscale, NodeMeta
from .version import V06_VERSIONS


def check_level_array(meta_or_multiscale: NodeMeta | Multiscale, level_index: int,
                      shape: Sequence[int], dimension_names: Sequence[str | None] | None,
                      *, where: str) -> list[str]:
    """Check one level's array against its multiscale; return warnings (not emitted).

    Raises InvalidMetadata when the array's dimensionality differs from the number of axes
    (MUST) or when its physical extent (shape x scale + translation) is beyond float range. A
    0.5 array without `dimension_names`, or with names that differ from the axes, is only warned
    about: real data is sloppy and the axes order is what the spec defines. How its shape
    compares with the other levels is `check_pyramid`'s.
    """
    if isinstance(meta_or_multiscale, NodeMeta):
        if not isinstance(meta_or_multiscale, ImageMeta) or not meta_or_multiscale.multiscales:
            raise InvalidMetadata("this group has no multiscales", where=where)
        ms = meta_or_multiscale.multiscales[0]
        version = meta_or_multiscale.version
    else:
        ms = meta_or_multiscale
        version = ms.version
    if not 0 <= level_index < len(ms.datasets):
        raise IndexError(f"level {level_index} does not exist ({len(ms.datasets)} levels)")
    path = ms.datasets[level_index].path
    names = ms.axis_names
    if len(shape) != len(names):
        raise InvalidMetadata(
            f"level {level_index} (path {path!r}) has {len(shape)} dimensions but the "
            f"multiscale has {len(names)} axes {list(names)}", where=where)
    dataset = ms.datasets[level_index]
    if not all(_finite_extent(n, s, t)
               for n, s, t in zip(shape, dataset.scale, dataset.translation)):
        raise InvalidMetadata(
            f"level {level_index} (path {path!r}): shape {short(list(shape))} times scale "
            f"{list(dataset.scale)} is beyond float range (datasets[{level_index}]"
            f".coordinateTransformations)", where=where)
    found: list[str] = []
    if dimension_names is None:
        if version == "0.5" or version in V06_VERSIONS:
            found.append(f"{where}: level {level_index} (path {path!r}) has no dimension_names "
                         f"(MUST from 0.5 on); axes {list(names)} used")
    elif tuple(dimension_names) != names:
        found.append(f"{where}: level {level_index} (path {path!r}) dimension_names "
                     f"{list(dimension_names)} differ from the axes {list(names)}; axes used")
    return found


def _finite_extent(n: int, scale: float, translation: float) -> bool:
    """Whether ``n * scale + translation`` is a finite float (an int beyond float range is not:
    ``float(10**400)`` raises OverflowError)."""
    try:
        return math.isfinite(float(n) * scale + translation)
    except OverflowError:
        return False


def check_pyramid(multiscale: Multiscale, shapes: Sequence[Sequence[int]], *, where: str) -> None:
    """Raise InvalidMetadata when a level is larger than the level before it on some axis.

    ``shapes`` are the levels' array shapes in ``multiscale.datasets`` order (all of them, as the
    node layer has them once every level is open).
    """
    names, paths = multiscale.axis_names, [d.path for d in multiscale.datasets]
    for k in range(1, len(shapes)):
        above, shape = shapes[k - 1], shapes[k]
        larger = [f"{name} {short(n)} > {short(m)}"
                  for name, n, m in zip(names, shape, above) if n > m]
        if larger:
            raise InvalidMetadata(
                f"level {k} (path {paths[k]!r}) shape {short(list(shape))} is larger than level "
                f"{k - 1} (path {paths[k - 1]!r}) shape {short(list(above))} on axis "
                f"{', '.join(larger)}: "
                "levels MUST go from highest to lowest resolution", where=where)
