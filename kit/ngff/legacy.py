"""NGFF 0.1-0.3 multiscales, normalised to the same `Multiscale` model as 0.4/0.5.

What those versions leave implicit is filled in once, here, so no other layer branches on the
version: 0.1 and 0.2 arrays are 5D (t, c, z, y, x) with no `axes` field; 0.3 writes `axes` as
a list of dimension names (a subset of t, c, z, y, x in that order, ending in y, x); none has
`coordinateTransformations`, so a level's scale is only known from the level shapes
(`implied_scale`: level 0 shape / level shape on each space axis). One warning per multiscale
says what was assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._context import Ctx, optional_str, require_list
from .fields import dataset_path
from .models import Axis, Dataset, Multiscale

#: The implied axes of 0.1/0.2 and the allowed names and order of 0.3.
CANONICAL = "tczyx"
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}


def parse_legacy_multiscale(ms: dict, ctx: Ctx, field: str) -> Multiscale:
    """One 0.1/0.2/0.3 `multiscales` entry; levels get unit scales until shapes are known."""
    version = ctx.version or "0.3"
    _check_layout(ms, ctx, field, version)
    if version == "0.3" or "axes" in ms:
        if "axes" not in ms:
            ctx.error(f"{field}.axes", "missing (MUST in 0.3)")
        names = _axis_names(ms["axes"], ctx, f"{field}.axes")
        if version != "0.3":
            ctx.warn(f"{field}.axes", f"is not part of NGFF {version} (arrays are 5D tczyx); "
                                      f"read as written: {list(names)}")
        assumed = f"axes {''.join(names)} as named"
    else:
        names = CANONICAL
        assumed = "5D axes (t, c, z, y, x)"
    if "datasets" not in ms:
        ctx.error(f"{field}.datasets", "missing (MUST)")
    items = require_list(ctx, ms["datasets"], f"{field}.datasets")
    n = len(names)
    datasets = []
    for k, item in enumerate(items):
        dfield = f"{field}.datasets[{k}]"
        _, path = dataset_path(ctx, item, dfield)
        datasets.append(Dataset(path, (1.0,) * n, (0.0,) * n))
    paths = [d.path for d in datasets]
    if len(set(paths)) != len(paths):
        ctx.error(f"{field}.datasets", f"level paths must be distinct, got {paths}")
    if "coordinateTransformations" in ms:
        ctx.warn(f"{field}.coordinateTransformations", f"is not part of NGFF {version}; ignored")
    ctx.warn(field, f"NGFF {version}: assumed {assumed}, no units, and each level's scale = "
                    "level 0 shape / level shape on each space axis (no coordinateTransformations)")
    metadata = ms.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        ctx.error(f"{field}.metadata", f"must be an object, got {type(metadata).__name__}")
    axes = tuple(Axis(a, AXIS_TYPES[a]) for a in names)
    return Multiscale(optional_str(ctx, ms, "name", field), axes, tuple(datasets),
                      optional_str(ctx, ms, "type", field), metadata, version,
                      scale_from_shapes=True)


def _check_layout(ms: dict, ctx: Ctx, field: str, version: str) -> None:
    """A document saying 0.1-0.3 but written in the 0.4+ layout is not guessed at: its
    version is wrong (the 0.4 suite's `invalid_version` case is this)."""
    datasets = ms.get("datasets")
    newer = []
    if isinstance(ms.get("axes"), list) and any(isinstance(a, dict) for a in ms["axes"]):
        newer.append("axes objects")
    if isinstance(datasets, list) and any(isinstance(d, dict) and "coordinateTransformations" in d
                                          for d in datasets):
        newer.append("per-level coordinateTransformations")
    if newer:
        ctx.unsupported(f"{field}.version", f"says NGFF version {version!r}, but the multiscale "
                                            f"has {' and '.join(newer)} (0.4 and later); "
                                            "read as neither")


def _axis_names(value: Any, ctx: Ctx, field: str) -> str:
    items = require_list(ctx, value, field)
    if not all(isinstance(a, str) for a in items):
        ctx.error(field, f"must be a list of dimension names (0.3), got {items!r}")
    names = "".join(items) if all(len(a) == 1 for a in items) else None
    if names is None or any(a not in CANONICAL for a in items):
        ctx.error(field, f"names must be among t, c, z, y, x, got {items!r}")
    if len(set(names)) != len(names):
        ctx.error(field, f"names must be unique, got {items!r}")
    it = iter(CANONICAL)
    if not all(a in it for a in names) or not names.endswith("yx") or not 2 <= len(names) <= 5:
        ctx.error(field, f"must be an ordered subset of t, c, z, y, x ending in y, x "
                         f"(2 to 5 axes), got {items!r}")
    return names


def implied_scale(ms: Multiscale, shape0: Sequence[int], shape: Sequence[int]
                  ) -> tuple[float, ...]:
    """A level's scale where the metadata has none: level 0 shape / level shape per space axis
    (1.0 elsewhere), i.e. the level's pixel size in level-0 pixels."""
    return tuple(float(s0) / float(s) if ax.type == "space" and s else 1.0
                 for ax, s0, s in zip(ms.axes, shape0, shape))
