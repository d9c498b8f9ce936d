"""`multiscales`: axes, per-level transforms and the effective scale/translation of each level.

The JSON schemas miss most of the MUST rules here (axis order, at most one time/channel axis,
translation after scale, vector lengths), so they are all checked by hand. The one tolerated
defect is a 0.4 scale/translation vector *shorter* than the axes (a 0.4 "valid" spec case has
one, ome/ngff#325): it is padded at the front with identity values and warned about.
"""

from __future__ import annotations

import math
from typing import Any

from ._context import (
    Ctx,
    as_float,
    is_numeric,
    optional_str,
    require_dict,
    require_list,
    short,
)
from .fields import dataset_path, parse_axis
from .legacy import parse_legacy_multiscale
from .models import Axis, Dataset, Multiscale
from .v06 import parse_v06_multiscale
from .version import LEGACY_VERSIONS, V06_VERSIONS

# Axis order rank: time first, then channel/custom/untyped, then space.
_RANK_TIME, _RANK_OTHER, _RANK_SPACE = 0, 1, 2


def parse_multiscales(value: Any, ctx: Ctx) -> tuple[Multiscale, ...]:
    items = require_list(ctx, value, "multiscales")
    return tuple(_parse_one(item, ctx, f"multiscales[{i}]") for i, item in enumerate(items))


def _parse_one(value: Any, ctx: Ctx, field: str) -> Multiscale:
    ms = require_dict(ctx, value, field)
    if ctx.version in LEGACY_VERSIONS:
        return parse_legacy_multiscale(ms, ctx, field)
    if ctx.version in V06_VERSIONS:
        return parse_v06_multiscale(ms, ctx, field, _parse_axes)
    if "axes" not in ms:
        ctx.error(f"{field}.axes", "missing (MUST)")
    if "datasets" not in ms:
        ctx.error(f"{field}.datasets", "missing (MUST)")
    axes = _parse_axes(ms["axes"], ctx, f"{field}.axes")
    n = len(axes)
    ms_scale, ms_trans = (1.0,) * n, (0.0,) * n
    if ms.get("coordinateTransformations") is not None:
        ms_scale, ms_trans = parse_transforms(ms["coordinateTransformations"], n, ctx,
                                              f"{field}.coordinateTransformations")
    items = require_list(ctx, ms["datasets"], f"{field}.datasets")
    datasets = []
    for k, item in enumerate(items):
        dfield = f"{field}.datasets[{k}]"
        ds, path = dataset_path(ctx, item, dfield)
        if "coordinateTransformations" not in ds:
            ctx.error(f"{dfield}.coordinateTransformations", "missing (MUST)")
        s_k, t_k = parse_transforms(ds["coordinateTransformations"], n, ctx,
                                    f"{dfield}.coordinateTransformations")
        # physical = s_ms * (s_k * i + t_k) + t_ms
        scale = tuple(a * b for a, b in zip(ms_scale, s_k))
        translation = tuple(a * t + b for a, t, b in zip(ms_scale, t_k, ms_trans))
        if not all(map(math.isfinite, scale + translation)):
            ctx.error(f"{dfield}.coordinateTransformations",
                      f"combined with {field}.coordinateTransformations gives scale "
                      f"{list(scale)} and translation {list(translation)}, beyond float range")
        datasets.append(Dataset(path, scale, translation))
    _check_levels(datasets, ctx, field)
    name = optional_str(ctx, ms, "name", field)
    type_ = optional_str(ctx, ms, "type", field)
    metadata = ms.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        ctx.error(f"{field}.metadata", f"must be an object, got {type(metadata).__name__}")
    for key in ("name", "type", "metadata") + (("version",) if ctx.version == "0.4" else ()):
        if key not in ms:
            ctx.should(f"{field}.{key}", "missing (SHOULD)")
    return Multiscale(name, axes, tuple(datasets), type_, metadata, ctx.version)


def _parse_axes(value: Any, ctx: Ctx, field: str) -> tuple[Axis, ...]:
    items = require_list(ctx, value, field)
    if not 2 <= len(items) <= 5:
        ctx.error(field, f"must have 2 to 5 axes, has {len(items)}")
    axes = []
    for i, item in enumerate(items):
        axes.append(parse_axis(ctx, item, f"{field}[{i}]"))
    names = [a.name for a in axes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        ctx.error(field, f"axis names must be unique, repeated: {dupes}")
    types = [a.type for a in axes]
    n_space = types.count("space")
    if not 2 <= n_space <= 3:
        ctx.error(field, f"must have 2 or 3 axes of type 'space', has {n_space}")
    if types.count("time") > 1:
        ctx.error(field, "at most one axis of type 'time' is allowed")
    others = [a.name for a in axes if a.type not in ("space", "time")]
    if len(others) > 1:
        ctx.error(field, f"at most one channel/custom axis is allowed, found {others}")
    ranks = [_RANK_TIME if t == "time" else _RANK_SPACE if t == "space" else _RANK_OTHER
             for t in types]
    if ranks != sorted(ranks):
        ctx.error(field, f"axes must be ordered time, channel/custom, space; got {names}")
    return tuple(axes)


def parse_transforms(value: Any, n: int, ctx: Ctx, field: str
                     ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Validate one coordinateTransformations list; return (scale, translation) of length n."""
    items = require_list(ctx, value, field)
    kinds: list[str] = []
    vectors: list[tuple[float, ...]] = []
    for j, item in enumerate(items):
        tfield = f"{field}[{j}]"
        tr = require_dict(ctx, item, tfield)
        kind = tr.get("type")
        if kind not in ("scale", "translation"):
            ctx.error(f"{tfield}.type", f"must be 'scale' or 'translation', got {kind!r}")
        kinds.append(kind)
        vectors.append(_vector(tr, kind, n, 1.0 if kind == "scale" else 0.0, ctx, tfield))
    if kinds.count("scale") != 1:
        ctx.error(field, f"must contain exactly one 'scale' transformation, has "
                         f"{kinds.count('scale')}")
    if kinds.count("translation") > 1:
        ctx.error(field, "may contain at most one 'translation' transformation")
    if kinds[0] != "scale":
        ctx.error(field, "the 'translation' transformation must come after the 'scale'")
    scale = vectors[0]
    translation = vectors[1] if len(vectors) > 1 else (0.0,) * n
    return scale, translation


def _vector(tr: dict, key: str, n: int, fill: float, ctx: Ctx, field: str) -> tuple[float, ...]:
    if key not in tr:
        if "path" in tr:
            ctx.error(f"{field}.path", f"{key} stored in a binary array is not supported")
        ctx.error(f"{field}.{key}", "missing (MUST)")
    values = tr[key]
    if not isinstance(values, list) or not all(is_numeric(v) for v in values):
        ctx.error(f"{field}.{key}", f"must be a list of numbers, got {short(values)}")
    floats = [as_float(v) for v in values]
    bad = [short(v) for v, f in zip(values, floats) if f is None]
    if bad:
        ctx.error(f"{field}.{key}", f"{', '.join(bad)} is not a finite number within float "
                                    f"range (about 1.8e308)")
    vector = tuple(f for f in floats if f is not None)
    if len(vector) == n:
        return vector
    if ctx.version == "0.4" and 2 <= len(vector) < n:
        ctx.warn(f"{field}.{key}", f"has {len(values)} values for {n} axes (MUST be equal); "
                                   f"read with {n - len(values)} leading {fill} added")
        return (fill,) * (n - len(vector)) + vector
    ctx.error(f"{field}.{key}", f"has {len(values)} values, must have one per axis ({n})")


def _check_levels(datasets: list[Dataset], ctx: Ctx, field: str) -> None:
    """Highest resolution first (MUST): a level's scale may not shrink on any axis."""
    paths = [d.path for d in datasets]
    if len(set(paths)) != len(paths):
        ctx.error(f"{field}.datasets", f"level paths must be distinct, got {paths}")
    for k in range(1, len(datasets)):
        prev, cur = datasets[k - 1].scale, datasets[k].scale
        if any(abs(c) < abs(p) * (1 - 1e-9) for p, c in zip(prev, cur)):
            ctx.warn(f"{field}.datasets[{k}]", "has a finer scale than the level before it; "
                     "levels MUST be ordered from highest to lowest resolution")
