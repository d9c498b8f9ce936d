"""0.6 scenes for tests and the demo: member images placed by transforms in one system.

    write_scene(path, {"a": {"type": "translation", "translation": [0, 0]},
                       "b": {"type": "rotation", "rotation": [[0, -1], [1, 0]]}})

Each member is a 0.6rc0 image (``write_image``, pixel size 1 unless ``image_options`` say
otherwise); ``missing`` names members the scene lists
but that are not written (a scene pointing at an absent image).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kit.demo._zarrio import open_new_group
from kit.demo.images import write_image
from kit.ngff import build

VERSION = "0.6rc0"


def write_scene(path: str | Path, placements: Mapping[str, Mapping[str, Any]], *,
                axes: str = "yx", shape: Sequence[int] = (64, 64), levels: int = 2,
                system: str = "world", missing: Sequence[str] = (),
                image_options: Mapping[str, Any] | None = None) -> Path:
    """Write a scene group and its member images; returns the group path."""
    path = Path(path)
    block = build.scene(VERSION, system=system, axes=build.axes(axes), placements=placements)
    open_new_group(path, VERSION, build.ome_attributes(VERSION, {"scene": block}))
    for k, name in enumerate(placements):
        if name in missing:
            continue
        options = {"labels": (), "seed": k, "scale": {a: 1.0 for a in axes if a in "zyx"},
                   **(image_options or {})}
        write_image(path / name, version=VERSION, axes=axes, shape=shape, levels=levels,
                    **options)
    return path


__all__ = ["write_scene"]
