"""bioformats2raw layout (transitional) and the `OME/` group's `series` list.

Only layout 3 exists; anything else is refused so a reader never guesses an unknown layout.
"""

from __future__ import annotations

from typing import Any

from ._context import Ctx, check_relative_path, is_int, require_list


def parse_layout(value: Any, ctx: Ctx) -> int:
    if not (is_int(value) or (isinstance(value, float) and value.is_integer())) or value != 3:
        ctx.error("bioformats2raw.layout", f"must be 3 (the only defined layout), got {value!r}")
    return 3


def parse_series(value: Any, ctx: Ctx) -> tuple[str, ...]:
    """Image group paths in OME-XML Image order (an empty list is allowed by the schema)."""
    items = require_list(ctx, value, "series", non_empty=False)
    paths = tuple(check_relative_path(ctx, item, f"series[{i}]") for i, item in enumerate(items))
    if len(set(paths)) != len(paths):
        ctx.error("series", f"paths must be unique, got {list(paths)}")
    return paths
