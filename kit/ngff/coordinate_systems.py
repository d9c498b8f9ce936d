"""Which transforms lead from a level's array indices to a named coordinate system (pure).

Before 0.6 there is one implied system, "physical", reached by the level's scale/translation
(for 0.1-0.3 the scale implied by the level shapes). From 0.6 on the level's transform reaches
the intrinsic system and the multiscale-level transforms form a graph of further systems,
walked breadth-first (a bijection may be walked backwards through its inverse).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from kit.errors import NotFound

from .models import CoordinateSystem, Multiscale
from .transforms import Transform

#: the name of the one implied coordinate system of 0.1-0.5 images
PHYSICAL = "physical"


def coordinate_systems(ms: Multiscale) -> tuple[CoordinateSystem, ...]:
    """Every coordinate system of a multiscale; the first is the one its levels map into."""
    return ms.coordinate_systems or (CoordinateSystem(PHYSICAL, ms.axes),)


def level_chain(ms: Multiscale, index: int, scale: Sequence[float],
                translation: Sequence[float], to: str | None, *, where: str
                ) -> tuple[tuple[Transform, ...], str]:
    """(transforms in order, target name) from level `index`'s indices to system `to`
    (default: the intrinsic system)."""
    intrinsic = coordinate_systems(ms)[0].name
    field = f"multiscales[0].datasets[{index}].coordinateTransformations[0]"
    first = Transform("sequence", input=ms.datasets[index].path, output=intrinsic, field=field,
                      children=(Transform("scale", vector=tuple(scale), field=field),
                                Transform("translation", vector=tuple(translation),
                                          field=field)))
    target = intrinsic if to is None else to
    known = [cs.name for cs in coordinate_systems(ms)]
    if target not in known:
        raise NotFound(f"no coordinate system {target!r} (known: {', '.join(known)})",
                       where=where)
    edges: dict[str, list[tuple[str, Transform]]] = {}
    for t in ms.transforms:
        if t.input is not None and t.output is not None:
            edges.setdefault(t.input, []).append((t.output, t))
            if t.type == "bijection":
                edges.setdefault(t.output, []).append((t.input, t.children[1]))
    seen: dict[str, tuple[Transform, ...]] = {intrinsic: ()}
    queue: deque[str] = deque([intrinsic])
    while queue:
        name = queue.popleft()
        if name == target:
            return (first, *seen[name]), target
        for nxt, t in edges.get(name, []):
            if nxt not in seen:
                seen[nxt] = (*seen[name], t)
                queue.append(nxt)
    raise NotFound(f"no transformation leads from {intrinsic!r} to {target!r}", where=where)
