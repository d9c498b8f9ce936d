"""`check_level_array`: the checks that need a level's array metadata (shape, dimension_names).

Kept apart from parsing because the node layer learns shapes only when it opens a level.
"""

from __future__ import annotations

from collections.abc import Sequence

from kit.errors import InvalidMetadata

from .models import ImageMeta, Multiscale, NodeMeta
from .version import V06_VERSIONS


def check_level_array(meta_or_multiscale: NodeMeta | Multiscale, level_index: int,
                      shape: Sequence[int], dimension_names: Sequence[str | None] | None,
                      *, where: str) -> list[str]:
    """Check one level's array against its multiscale; return warnings (not emitted).

    Raises InvalidMetadata when the array's dimensionality differs from the number of axes
    (MUST). A 0.5 array without `dimension_names`, or with names that differ from the axes, is
    only warned about: real data is sloppy and the axes order is what the spec defines.
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
    found: list[str] = []
    if dimension_names is None:
        if version == "0.5" or version in V06_VERSIONS:
            found.append(f"{where}: level {level_index} (path {path!r}) has no dimension_names "
                         f"(MUST from 0.5 on); axes {list(names)} used")
    elif tuple(dimension_names) != names:
        found.append(f"{where}: level {level_index} (path {path!r}) dimension_names "
                     f"{list(dimension_names)} differ from the axes {list(names)}; axes used")
    return found
