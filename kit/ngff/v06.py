"""NGFF 0.6 multiscales (RFC-5): named coordinate systems and coordinate transformations.

Normalised into the same `Multiscale` as 0.4/0.5: `axes` are the axes of the "intrinsic"
coordinate system (the `output` of every level's transform), each `Dataset` keeps its effective
scale/translation (what previews and ROI reads use) plus the transform as written; the other
coordinate systems and the multiscale-level transforms are kept for `Image.transform(to=...)`.
"""

from __future__ import annotations

from typing import Any

from ._context import (
    Ctx,
    optional_str,
    require_dict,
    require_list,
    require_str,
)
from .fields import dataset_path, parse_axis
from .models import CoordinateSystem, Dataset, Multiscale
from .transforms import Transform, dimension_problem, parse_transform


def parse_v06_multiscale(ms: dict, ctx: Ctx, field: str,
                         check_axes: Any) -> Multiscale:
    """`check_axes(value, ctx, field)` is the 0.4/0.5 axes parser (the same MUST rules apply to
    the intrinsic coordinate system)."""
    if "coordinateSystems" not in ms:
        if "axes" in ms:
            ctx.error(f"{field}.coordinateSystems", "missing: 0.6 replaces multiscales 'axes' "
                                                    "with named coordinateSystems")
        ctx.error(f"{field}.coordinateSystems", "missing (MUST)")
    systems = coordinate_systems_of(ms["coordinateSystems"], ctx, f"{field}.coordinateSystems")
    if "datasets" not in ms:
        ctx.error(f"{field}.datasets", "missing (MUST)")
    items = require_list(ctx, ms["datasets"], f"{field}.datasets")
    levels: list[tuple[str, Transform, str]] = []
    for k, item in enumerate(items):
        dfield = f"{field}.datasets[{k}]"
        ds, path = dataset_path(ctx, item, dfield)
        tfield = f"{dfield}.coordinateTransformations"
        if "coordinateTransformations" not in ds:
            ctx.error(tfield, "missing (MUST)")
        trs = require_list(ctx, ds["coordinateTransformations"], tfield)
        if len(trs) != 1:
            ctx.error(tfield, f"must hold exactly one transformation, has {len(trs)}")
        t = parse_transform(trs[0], ctx, f"{tfield}[0]")
        raw = trs[0]
        if isinstance(raw.get("input"), dict) and raw["input"].get("path") is None:
            ctx.error(f"{tfield}[0].input.path", "missing: a level's input MUST be its array "
                                                 "(by path)")
        if isinstance(raw.get("output"), dict) and raw["output"].get("name") is None:
            ctx.error(f"{tfield}[0].output.name", "missing: a level's output MUST name the "
                                                  "intrinsic coordinate system")
        levels.append((path, t, f"{tfield}[0]"))
    outputs = {t.output for _, t, _ in levels}
    if None in outputs:
        bad = next(f for _, t, f in levels if t.output is None)
        ctx.error(f"{bad}.output", "missing: a level's transform MUST name its output "
                                   "coordinate system")
    if len(outputs) != 1:
        ctx.error(f"{field}.datasets", f"levels map into different coordinate systems "
                                       f"{sorted(o for o in outputs if o)} (MUST be one)")
    intrinsic = outputs.pop()
    by_name = {cs.name: cs for cs in systems}
    if intrinsic not in by_name and len(systems) == 1:
        ctx.warn(f"{levels[0][2]}.output", f"names coordinate system {intrinsic!r}, which is not "
                                            f"defined; read as the only one, "
                                            f"{systems[0].name!r} (MUST be defined)")
        intrinsic = systems[0].name
    if intrinsic not in by_name:
        ctx.error(f"{levels[0][2]}.output", f"names coordinate system {intrinsic!r}, which "
                                            f"{field}.coordinateSystems does not define "
                                            f"({sorted(by_name)})")
    index = [cs.name for cs in systems].index(intrinsic)
    raw_axes = ms["coordinateSystems"][index]["axes"]
    cs_field = f"{field}.coordinateSystems[{index}].axes"
    if all(isinstance(a, dict) and a.get("type") == "array" for a in raw_axes):
        ctx.warn(cs_field, f"the levels map into {intrinsic!r}, a coordinate system of array "
                           "axes: no physical axes for previews")
    else:
        check_axes(raw_axes, ctx, cs_field)
    axes = by_name[intrinsic].axes
    n = len(axes)
    datasets = [Dataset(path, *_scale_translation(t, n, ctx, f), transform=t)
                for path, t, f in levels]
    for (path, t, f) in levels:
        if t.input is not None and t.input != path:
            ctx.warn(f"{f}.input", f"is {t.input!r}, the dataset path is {path!r}; "
                                   "the path is used (SHOULD be equal)")
    transforms: tuple[Transform, ...] = ()
    if ms.get("coordinateTransformations") is not None:
        mfield = f"{field}.coordinateTransformations"
        items = require_list(ctx, ms["coordinateTransformations"], mfield, non_empty=False)
        transforms = tuple(parse_transform(t, ctx, f"{mfield}[{i}]") for i, t in enumerate(items))
        for t in transforms:
            for key in ("input", "output"):
                if getattr(t, key) is None:
                    ctx.error(f"{t.field}.{key}", "missing (MUST name a coordinate system)")
            check_dimensions(t, by_name, ctx)
    metadata = ms.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        ctx.error(f"{field}.metadata", f"must be an object, got {type(metadata).__name__}")
    for key in ("name", "type", "metadata"):
        if key not in ms:
            ctx.should(f"{field}.{key}", "missing (SHOULD)")
    if "version" in ms:
        ctx.normalise(f"{field}.version", "a per-multiscale version (removed in 0.6); "
                                          "ome.version used")
    ordered = (by_name[intrinsic],) + tuple(cs for cs in systems if cs.name != intrinsic)
    return Multiscale(optional_str(ctx, ms, "name", field), axes, tuple(datasets),
                      optional_str(ctx, ms, "type", field), metadata, ctx.version,
                      coordinate_systems=ordered, transforms=transforms)


def check_dimensions(t: Transform, systems: dict[str, CoordinateSystem], ctx: Ctx) -> None:
    """A transform between two systems of this document MUST fit their numbers of axes."""
    if t.input_path or t.output_path or t.input not in systems or t.output not in systems:
        return  # a system of another group: checked where that group is read
    assert t.input is not None and t.output is not None
    problem = dimension_problem(t, len(systems[t.input].axes), len(systems[t.output].axes))
    if problem:
        ctx.error(t.field, f"{problem} ({t.input!r} -> {t.output!r})")


def coordinate_systems_of(value: Any, ctx: Ctx, field: str) -> tuple[CoordinateSystem, ...]:
    items = require_list(ctx, value, field)
    systems: list[CoordinateSystem] = []
    for i, item in enumerate(items):
        cfield = f"{field}[{i}]"
        cs = require_dict(ctx, item, cfield)
        name = require_str(ctx, cs, "name", cfield)
        if not name:
            ctx.error(f"{cfield}.name", "must not be empty")
        if any(s.name == name for s in systems):
            ctx.error(f"{cfield}.name", f"{name!r} is defined twice (MUST be unique)")
        axes = []
        for j, ax in enumerate(require_list(ctx, cs.get("axes"), f"{cfield}.axes")):
            axes.append(parse_axis(ctx, ax, f"{cfield}.axes[{j}]"))
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            ctx.error(f"{cfield}.axes", f"axis names must be unique, got {names}")
        systems.append(CoordinateSystem(name, tuple(axes)))
    return tuple(systems)


def _scale_translation(t: Transform, n: int, ctx: Ctx, field: str
                       ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A level's transform MUST be scale, identity or sequence [scale, translation]."""
    kinds = [c.type for c in t.children] if t.type == "sequence" else [t.type]
    if t.type == "sequence" and kinds not in (["scale", "translation"], ["scale"]):
        ctx.error(f"{field}.transformations", f"a level's sequence MUST be [scale, translation], "
                                              f"got {kinds}")
    if t.type not in ("scale", "identity", "sequence"):
        ctx.error(f"{field}.type", f"a level's transform MUST be scale, identity or a sequence "
                                   f"of scale and translation, got {t.type!r}")
    parts = t.children if t.type == "sequence" else (t,)
    scale, translation = (1.0,) * n, (0.0,) * n
    for p in parts:
        if p.path is not None:
            ctx.error(f"{p.field}.path", f"a level's {p.type} must be written inline")
        if p.type == "identity":
            continue
        vector = p.vector
        if 2 <= len(vector) < n:  # the 0.6rc0 corpus repeats the 0.4 case (ome/ngff#325)
            fill = 1.0 if p.type == "scale" else 0.0
            ctx.warn(f"{p.field}.{p.type}", f"has {len(vector)} values for {n} axes (MUST be "
                                            f"equal); read with {n - len(vector)} leading {fill}")
            vector = (fill,) * (n - len(vector)) + vector
        elif len(vector) != n:
            ctx.error(f"{p.field}.{p.type}", f"has {len(vector)} values, must have one per "
                                             f"axis of the intrinsic coordinate system ({n})")
        if p.type == "scale":
            scale = vector
        else:
            translation = vector
    return scale, translation
