"""ROI rows (physical micrometres, Fractal/ngio columns) to index slices of one level.

A ROI is the box ``[x, x + len_x)`` in µm (likewise y, z; t in seconds) measured from the
image's origin, the top-left corner of level 0 (Fractal and ngio: ``x / pixel_size``; the
stage position sits in ``x_micrometer_original``). In world coordinates the box starts at
``origin + x``; on a level with scale ``s`` and translation ``t`` index ``i`` covers
``[t + s*i, t + s*(i+1))``, so the box spans indices ``round((origin + x - t) / s)`` to
``round((origin + x + len_x - t) / s)``, clipped to the array. With every level translated
alike this is ngio's ``round(x / s)``; a pyramid whose levels shift by half pixels is still
cut where the physical box is. Axes without a ROI column (c) are kept whole.

A row that is not a ROI (no ROI column at all, or a column that is not a finite number) is an
``InvalidROI`` naming the column, never a whole level returned by mistake.
"""

from __future__ import annotations

import math
from typing import Any

from kit.errors import InvalidROI

ROI_COLUMNS = {
    "x": ("x_micrometer", "len_x_micrometer"),
    "y": ("y_micrometer", "len_y_micrometer"),
    "z": ("z_micrometer", "len_z_micrometer"),
    "t": ("t_second", "len_t_second"),
}


def _get(roi: Any, name: str, where: str | None = None) -> float | None:
    try:
        value = roi[name]
    except (KeyError, IndexError, TypeError, ValueError):
        value = getattr(roi, name, None)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise InvalidROI(f"ROI column {name!r} is {_show(value)}, not a finite number",
                         where=where)
    return number


def _show(value: Any) -> str:
    """A short repr for messages (a 5000-digit int cannot even be printed whole)."""
    try:
        text = repr(value)
    except ValueError:
        return f"{type(value).__name__} too large to print"
    return text if len(text) <= 40 else text[:37] + "..."


def roi_selection(axes: list[str], level: Any, roi: Any,
                  origin: tuple[float, ...] | None = None, *,
                  where: str | None = None) -> tuple[slice, ...]:
    """Slices of ``level`` (a ``Level``) covering ``roi`` (a pandas row, dict or object).

    ``origin`` is the image's level-0 translation; None takes ``level``'s own, which is the
    same whenever all levels share one translation. ``where`` names the image in errors.
    """
    origin = tuple(level.translation) if origin is None else origin
    if not any(_get(roi, c, where) is not None for a in axes for c in ROI_COLUMNS.get(a, ())):
        wanted = [c for a in axes for c in ROI_COLUMNS.get(a, ())]
        raise InvalidROI(f"not a ROI row: {type(roi).__name__} with none of the columns "
                         f"{wanted}", where=where)
    selection = []
    for i, axis in enumerate(axes):
        columns = ROI_COLUMNS.get(axis)
        start = _get(roi, columns[0], where) if columns else None
        length = _get(roi, columns[1], where) if columns else None
        if start is None or length is None:
            selection.append(slice(None))
            continue
        scale, size = level.scale[i], level.shape[i]
        offset = level.translation[i] - origin[i]
        try:
            lo = round((start - offset) / scale)
            hi = round((start + length - offset) / scale)
        except (OverflowError, ValueError, ZeroDivisionError):
            raise InvalidROI(f"ROI {axis}: start {start:g}, length {length:g} cannot be placed "
                             f"on a level with scale {scale:g}", where=where) from None
        lo, hi = max(0, min(lo, size)), max(0, min(max(hi, lo + 1), size))
        selection.append(slice(lo, hi))
    return tuple(selection)


def roi_instance(roi: Any, *, where: str | None = None) -> int:
    """The label value a masking-ROI row stands for: its ``label`` column, else its index."""
    value: Any = _get(roi, "label", where)
    if value is None:
        value = getattr(roi, "name", None)  # a pandas row indexed by label
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidROI(f"this ROI names no label instance (no 'label' column or integer "
                         f"index, found {_show(value)}); pass value=", where=where) from None


def matching_level(axes: list[str], scale: tuple[float, ...], label_axes: list[str],
                   label_scales: list[tuple[float, ...]]) -> int | None:
    """Index of the label level whose y/x pixel size equals ``scale`` (an image level's)."""
    shared = [a for a in ("y", "x") if a in axes and a in label_axes]
    for index, candidate in enumerate(label_scales):
        if all(abs(candidate[label_axes.index(a)] - scale[axes.index(a)])
               <= 1e-6 * abs(scale[axes.index(a)]) for a in shared):
            return index
    return None
