"""`image-label` (a label image's colours/properties/source) and the `labels` group listing.

Label values MUST be unique: byte-identical duplicate entries are refused (what the schemas'
`uniqueItems` rejects), while distinct entries sharing a value keep the LAST one with a
warning, as the spec text tells lenient clients to do.
"""

from __future__ import annotations

from typing import Any

from ._context import Ctx, check_relative_path, is_int, require_dict, require_list
from .models import ImageLabel


def parse_image_label(value: Any, ctx: Ctx) -> ImageLabel:
    il = require_dict(ctx, value, "image-label")
    colors: dict[int, tuple[int, int, int, int]] = {}
    if "colors" in il:
        items = _entries(il["colors"], ctx, "image-label.colors")
        seen: set[int] = set()
        for i, item in enumerate(items):
            field = f"image-label.colors[{i}]"
            value_ = _label_value(item, ctx, field, integer_only=False)
            rgba = item.get("rgba")
            if rgba is not None and (not isinstance(rgba, list) or len(rgba) != 4
                                     or not all(is_int(c) and 0 <= c <= 255 for c in rgba)):
                ctx.error(f"{field}.rgba", f"must be 4 integers 0-255, got {rgba!r}")
            if value_ in seen:
                ctx.warn(field, f"label-value {value_} is repeated (MUST be unique); "
                                "the last entry wins")
            seen.add(value_)
            colors.pop(value_, None)  # the last entry wins, even one without rgba
            if rgba is not None:
                colors[value_] = tuple(rgba)
    else:
        ctx.should("image-label.colors", "missing (SHOULD)")
    properties: dict[int, dict[str, Any]] = {}
    if "properties" in il:
        items = _entries(il["properties"], ctx, "image-label.properties")
        for i, item in enumerate(items):
            field = f"image-label.properties[{i}]"
            value_ = _label_value(item, ctx, field, integer_only=True)
            if value_ in properties:
                ctx.warn(field, f"label-value {value_} is repeated; the last entry wins")
            properties[value_] = {k: v for k, v in item.items() if k != "label-value"}
    source_image = None
    if il.get("source") is not None:
        source = require_dict(ctx, il["source"], "image-label.source")
        source_image = source.get("image")
        if source_image is not None and not isinstance(source_image, str):
            ctx.error("image-label.source.image", f"must be a string, got {source_image!r}")
    if ctx.version == "0.4" and "version" not in il:
        ctx.should("image-label.version", "missing (SHOULD)")
    return ImageLabel(colors, properties, source_image)


def _entries(value: Any, ctx: Ctx, field: str) -> list[dict]:
    items = require_list(ctx, value, field)
    for i, item in enumerate(items):
        require_dict(ctx, item, f"{field}[{i}]")
        if item in items[:i]:
            ctx.error(f"{field}[{i}]", "is an exact duplicate of an earlier entry")
    return items


def _label_value(item: dict, ctx: Ctx, field: str, *, integer_only: bool) -> int:
    if "label-value" not in item:
        ctx.error(f"{field}.label-value", "missing (MUST)")
    v = item["label-value"]
    if is_int(v):
        return v
    if (not integer_only and isinstance(v, float) and not isinstance(v, bool)
            and v.is_integer()):
        ctx.warn(f"{field}.label-value", f"{v!r} is not an integer; read as {int(v)}")
        return int(v)
    ctx.error(f"{field}.label-value", f"must be an integer, got {v!r}")


def parse_labels_list(value: Any, ctx: Ctx) -> tuple[str, ...]:
    """Paths listed by a `labels` group, in order, without repeats."""
    items = require_list(ctx, value, "labels", non_empty=False)
    if not items:
        ctx.warn("labels", "is empty: this labels group lists no label image")
    paths: list[str] = []
    for i, item in enumerate(items):
        path = check_relative_path(ctx, item, f"labels[{i}]")
        if path in paths:
            ctx.warn(f"labels[{i}]", f"{path!r} is listed twice; read once")
        else:
            paths.append(path)
    return tuple(paths)
