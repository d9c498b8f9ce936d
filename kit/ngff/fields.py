"""The pieces every multiscale dialect (0.1-0.3, 0.4/0.5, 0.6) spells the same way: one axis
object and one dataset's path, parsed once so the dialects cannot drift apart."""

from __future__ import annotations

from typing import Any

from ._context import Ctx, check_relative_path, optional_str, require_dict, require_str
from .models import Axis


def parse_axis(ctx: Ctx, item: Any, field: str) -> Axis:
    """One ``{"name", "type"?, "unit"?}`` axis object; the name must not be empty."""
    ax = require_dict(ctx, item, field)
    name = require_str(ctx, ax, "name", field)
    if not name:
        ctx.error(f"{field}.name", "must not be empty")
    return Axis(name, optional_str(ctx, ax, "type", field), optional_str(ctx, ax, "unit", field))


def dataset_path(ctx: Ctx, item: Any, field: str) -> tuple[dict, str]:
    """One ``datasets[k]`` entry and its path (MUST be present and relative)."""
    ds = require_dict(ctx, item, field)
    if "path" not in ds:
        ctx.error(f"{field}.path", "missing (MUST)")
    return ds, check_relative_path(ctx, ds["path"], f"{field}.path")
