"""High-content screening: `plate` (rows, columns, wells, acquisitions) and `well` (fields).

A well path MUST be `<row name>/<column name>` with the row and column at rowIndex/columnIndex.
Two kinds of real-world deviation are read with a warning instead of refused:
- in 0.4 only, a path written `<column>/<row>` (the 0.4 "valid" spec cases do this,
  ome/ngff#325; 0.5 fixed its cases, so 0.5 refuses it);
- indices that disagree with a path made of real row/column names: the path locates the
  group, so the indices are taken from it.
"""

from __future__ import annotations

import re
from typing import Any

from ._context import (
    Ctx,
    is_int,
    optional_str,
    require_dict,
    require_list,
    require_member_list,
    require_str,
)
from .models import Acquisition, Plate, Well, WellImage, WellRef
from .version import LEGACY_VERSIONS, V06_VERSIONS

_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
#: 0.6 (dev3 on) relaxes field paths in a well: also '_', '-' and '.' (spec corpus case
#: well/minimal_path_special_char), but not dots only nor a leading '__' (zarr reserves it)
_FIELD_06 = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_plate(value: Any, ctx: Ctx) -> Plate:
    pl = require_dict(ctx, value, "plate")
    rows = _names(pl, "rows", ctx)
    columns = _names(pl, "columns", ctx)
    acquisitions = _acquisitions(pl, ctx)
    if ctx.version in LEGACY_VERSIONS:
        rows, columns = _legacy_names(pl, rows, columns, ctx)
    wells = _wells(pl, rows, columns, ctx)
    field_count = pl.get("field_count")
    if field_count is not None and not (is_int(field_count) and field_count > 0):
        ctx.error("plate.field_count", f"must be an integer > 0, got {field_count!r}")
    name = optional_str(ctx, pl, "name", "plate")
    if name is None:
        ctx.should("plate.name", "missing (SHOULD)")
    if ctx.version == "0.4" and "version" not in pl:
        ctx.should("plate.version", "missing (SHOULD)")
    return Plate(name, rows, columns, wells, acquisitions, field_count)


def _names(pl: dict, key: str, ctx: Ctx) -> tuple[str, ...]:
    field = f"plate.{key}"
    items = require_member_list(ctx, pl, key, field)
    names: list[str] = []
    for i, item in enumerate(items):
        name = require_str(ctx, require_dict(ctx, item, f"{field}[{i}]"), "name", f"{field}[{i}]")
        if not _ALNUM.match(name):
            ctx.error(f"{field}[{i}].name", f"{name!r} must be alphanumeric")
        if name in names:
            ctx.error(f"{field}[{i}].name", f"{name!r} is listed twice (MUST be unique)")
        names.append(name)
    return tuple(names)


def _wells(pl: dict, rows: tuple[str, ...], columns: tuple[str, ...], ctx: Ctx
           ) -> tuple[WellRef, ...]:
    items = require_member_list(ctx, pl, "wells", "plate.wells")
    if ctx.version in LEGACY_VERSIONS:
        ctx.warn("plate.wells", f"NGFF {ctx.version}: wells have no rowIndex/columnIndex; "
                                "taken from each path's row and column names")
    wells: list[WellRef] = []
    for i, item in enumerate(items):
        field = f"plate.wells[{i}]"
        w = require_dict(ctx, item, field)
        path = require_str(ctx, w, "path", field)
        parts = path.split("/")
        if len(parts) != 2 or not all(_ALNUM.match(p) for p in parts):
            ctx.error(f"{field}.path",
                      f"{path!r} must be '<row>/<column>' (two alphanumeric names)")
        if ctx.version in LEGACY_VERSIONS:
            ref = _legacy_well(path, rows, columns, ctx, field)
            if any(ref.path == other.path for other in wells):
                ctx.error(f"{field}.path", f"{path!r} is listed twice (MUST be unique)")
            wells.append(ref)
            continue
        indices = []
        for key, names in (("rowIndex", rows), ("columnIndex", columns)):
            idx: Any = w.get(key)
            if not is_int(idx) or idx < 0:
                ctx.error(f"{field}.{key}", f"missing or not an integer >= 0, got {idx!r}")
            if idx >= len(names):
                ctx.error(f"{field}.{key}", f"{idx} is out of range ({len(names)} {key[:-5]}s)")
            indices.append(idx)
        ref = _consistent(WellRef(path, *indices), rows, columns, ctx, field)
        if any(ref.path == other.path for other in wells):
            ctx.error(f"{field}.path", f"{path!r} is listed twice (MUST be unique)")
        wells.append(ref)
    return tuple(wells)


def _legacy_names(pl: dict, rows: tuple[str, ...], columns: tuple[str, ...], ctx: Ctx
                  ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Before 0.4 the well path is the only link to rows and columns, and the spec's own 0.1
    example names a column it does not list: such names are added (with a warning)."""
    wells = pl.get("wells")
    extra_rows, extra_cols = list(rows), list(columns)
    for i, w in enumerate(wells if isinstance(wells, list) else []):
        path = w.get("path") if isinstance(w, dict) else None
        parts = path.split("/") if isinstance(path, str) else []
        if len(parts) != 2 or not all(_ALNUM.match(p) for p in parts):
            continue  # reported by _wells
        for name, names, what in ((parts[0], extra_rows, "row"), (parts[1], extra_cols, "column")):
            if name not in names:
                ctx.warn(f"plate.wells[{i}].path", f"{path!r} names {what} {name!r}, which the "
                                                   f"plate does not list; added")
                names.append(name)
    return tuple(extra_rows), tuple(extra_cols)


def _legacy_well(path: str, rows: tuple[str, ...], columns: tuple[str, ...], ctx: Ctx,
                 field: str) -> WellRef:
    """Before 0.4 a well is only its path `<row>/<column>`: the indices come from the names."""
    row, column = path.split("/")
    if row not in rows or column not in columns:
        ctx.error(f"{field}.path", f"{path!r} does not name a row and a column of the plate")
    return WellRef(path, rows.index(row), columns.index(column))


def _consistent(ref: WellRef, rows: tuple[str, ...], columns: tuple[str, ...], ctx: Ctx,
                field: str) -> WellRef:
    first, second = ref.path.split("/")
    expected = f"{rows[ref.row_index]}/{columns[ref.column_index]}"
    if ref.path == expected:
        return ref
    if first in rows and second in columns:
        ctx.warn(f"{field}", f"rowIndex/columnIndex ({ref.row_index}, {ref.column_index}) "
                             f"disagree with path {ref.path!r}; indices taken from the path")
        return WellRef(ref.path, rows.index(first), columns.index(second))
    swapped = f"{columns[ref.column_index]}/{rows[ref.row_index]}"
    # the 0.6rc0 corpus repeats the 0.4 cases (ome/ngff#325): read as written there too
    if ref.path == swapped and (ctx.version == "0.4" or ctx.version in V06_VERSIONS):
        ctx.warn(f"{field}.path", f"{ref.path!r} is written '<column>/<row>' (MUST be "
                                  f"'<row>/<column>', i.e. {expected!r}); read as written")
        return ref
    if ref.path == swapped:
        ctx.error(f"{field}.path", f"{ref.path!r} is written '<column>/<row>'; "
                                   f"it MUST be '<row>/<column>', i.e. {expected!r}")
    ctx.error(f"{field}.path", f"{ref.path!r} does not name a row and column of the plate "
                               f"(rowIndex/columnIndex say {expected!r})")


def _acquisitions(pl: dict, ctx: Ctx) -> tuple[Acquisition, ...]:
    if pl.get("acquisitions") is None:
        return ()
    items = require_list(ctx, pl["acquisitions"], "plate.acquisitions", non_empty=False)
    result: list[Acquisition] = []
    for i, item in enumerate(items):
        field = f"plate.acquisitions[{i}]"
        acq = require_dict(ctx, item, field)
        acq_id: Any = acq.get("id")
        if not is_int(acq_id) or acq_id < 0:
            ctx.error(f"{field}.id", f"missing or not an integer >= 0, got {acq_id!r}")
        if any(a.id == acq_id for a in result):
            ctx.error(f"{field}.id", f"{acq_id} is used twice (MUST be unique)")
        mfc = acq.get("maximumfieldcount")
        if mfc is not None and not (is_int(mfc) and mfc > 0):
            ctx.error(f"{field}.maximumfieldcount", f"must be an integer > 0, got {mfc!r}")
        for key in ("starttime", "endtime"):
            t = acq.get(key)
            if t is not None and not (is_int(t) and t >= 0):
                ctx.error(f"{field}.{key}", f"must be an integer >= 0 (epoch), got {t!r}")
        optional_str(ctx, acq, "description", field)
        name = optional_str(ctx, acq, "name", field)
        for key in ("name", "maximumfieldcount"):
            if key not in acq:
                ctx.should(f"{field}.{key}", "missing (SHOULD)")
        result.append(Acquisition(acq_id, name, mfc))
    return tuple(result)


def parse_well(value: Any, ctx: Ctx) -> Well:
    w = require_dict(ctx, value, "well")
    items = require_member_list(ctx, w, "images", "well.images")
    images: list[WellImage] = []
    for i, item in enumerate(items):
        field = f"well.images[{i}]"
        im = require_dict(ctx, item, field)
        path = require_str(ctx, im, "path", field)
        if ctx.version in V06_VERSIONS:
            if not _FIELD_06.match(path) or set(path) == {"."} or path.startswith("__"):
                ctx.error(f"{field}.path", f"{path!r} must be letters, digits, '_', '-' or "
                                           "'.', not only dots nor starting with '__'")
        elif not _ALNUM.match(path):
            ctx.error(f"{field}.path", f"{path!r} must be alphanumeric")
        if any(other.path == path for other in images):
            ctx.error(f"{field}.path", f"{path!r} is listed twice (MUST be unique)")
        acquisition = im.get("acquisition")
        if acquisition is not None and not is_int(acquisition):
            ctx.error(f"{field}.acquisition", f"must be an integer, got {acquisition!r}")
        images.append(WellImage(path, acquisition))
    if ctx.version == "0.4" and "version" not in w:
        ctx.should("well.version", "missing (SHOULD)")
    return Well(tuple(images))
