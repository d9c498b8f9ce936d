"""NGFF 0.6 `scene` groups: coordinate systems and the transforms placing member images.

A scene transform links two coordinate systems, each named by `name` and, when it belongs to
a member image, that member's `path` (`{"path": "tile_0", "name": "physical"}`). `scene_chain`
finds the transforms from one member's system to the scene's (pure; the node reads the
members and their own chains).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ._context import Ctx, require_dict, require_member_list
from .models import Scene
from .transforms import Transform, parse_transform
from .v06 import check_dimensions, coordinate_systems_of

#: a coordinate system in a scene's graph: (member path, "" for the scene's own; name)
Node = tuple[str, str]


def parse_scene(value: Any, ctx: Ctx) -> Scene:
    sc = require_dict(ctx, value, "scene")
    raw_systems = sc.get("coordinateSystems")
    systems = (coordinate_systems_of(raw_systems, ctx, "scene.coordinateSystems")
               if raw_systems != [] and raw_systems is not None else ())
    items = require_member_list(ctx, sc, "coordinateTransformations",
                                "scene.coordinateTransformations")
    transforms = []
    for i, item in enumerate(items):
        field = f"scene.coordinateTransformations[{i}]"
        t = parse_transform(item, ctx, field)
        for key in ("input", "output"):
            end = item.get(key)
            if end is None:
                ctx.error(f"{field}.{key}", "missing (MUST name a coordinate system)")
            if isinstance(end, dict) and end.get("name") is None:
                ctx.error(f"{field}.{key}.name", "missing (MUST name a coordinate system)")
        check_dimensions(t, {cs.name: cs for cs in systems}, ctx)
        transforms.append(t)
    return Scene(systems, tuple(transforms))


def scene_chain(scene: Scene, start: Node, target: Node) -> tuple[Transform, ...] | None:
    """The transforms from `start` to `target` in order (a bijection may be walked backwards
    through its inverse), or None when no chain links them."""
    edges: dict[Node, list[tuple[Node, Transform]]] = {}
    for t in scene.transforms:
        a, b = (t.input_path or "", t.input or ""), (t.output_path or "", t.output or "")
        edges.setdefault(a, []).append((b, t))
        if t.type == "bijection":
            edges.setdefault(b, []).append((a, t.children[1]))
    seen: dict[Node, tuple[Transform, ...]] = {start: ()}
    queue: deque[Node] = deque([start])
    while queue:
        node = queue.popleft()
        if node == target:
            return seen[node]
        for nxt, t in edges.get(node, []):
            if nxt not in seen:
                seen[nxt] = (*seen[node], t)
                queue.append(nxt)
    return None
