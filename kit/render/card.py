"""Notebook cards (``_repr_html_``) for every node: key metadata and a small thumbnail.

A card must be cheap and must never raise: it reads metadata documents and, for a thumbnail,
only the coarsest level (and nothing when even that is large). A plate card draws its
well grid from metadata and adds a mosaic only for small plates. Every text is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from kit.errors import KitError
from kit.render.figure import unit_symbol
from kit.render.png import data_uri
from kit.render.plane import yx_axes

THUMBNAIL_SIZE = 256
THUMBNAIL_MAX_PIXELS = 2048 * 2048   # coarsest plane larger than this: no thumbnail
PLATE_THUMBNAIL_MAX_WELLS = 12       # larger plates get the grid without pixels

_STYLE = ("font-family:var(--jp-ui-font-family,sans-serif);font-size:12px;"
          "border:1px solid #8884;border-radius:6px;padding:8px;display:inline-block;"
          "max-width:980px")
_TD = "padding:1px 8px 1px 0;text-align:left;vertical-align:top"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _rows(pairs: list[tuple[str, str]]) -> str:
    """A two-column table; values are HTML already (escaped by the caller)."""
    body = "".join(f"<tr><th style='{_TD};font-weight:600'>{_e(k)}</th><td style='{_TD}'>{v}</td></tr>"
                   for k, v in pairs)
    return f"<table style='border-collapse:collapse;margin:0'>{body}</table>"


def _swatch(rgb: tuple[int, int, int]) -> str:
    hexcode = "#%02X%02X%02X" % tuple(int(v) for v in rgb[:3])
    return (f"<span style='display:inline-block;width:10px;height:10px;background:{hexcode};"
            f"border:1px solid #8888;margin-right:3px;vertical-align:middle' "
            f"title='{hexcode}'></span>")


def _img(rgb: np.ndarray, alt: str) -> str:
    return (f"<img src='{data_uri(rgb)}' alt='{_e(alt)}' style='image-rendering:pixelated;"
            f"max-width:{THUMBNAIL_SIZE}px;border:1px solid #8884'/>")


def _frame(title: str, body: str, thumbnail: str = "") -> str:
    side = f"<div style='margin-left:12px'>{thumbnail}</div>" if thumbnail else ""
    return (f"<div class='ngff-kit-card' style='{_STYLE}'>"
            f"<div style='font-weight:700;margin-bottom:4px'>{title}</div>"
            f"<div style='display:flex;align-items:flex-start'><div>{body}</div>{side}</div></div>")


def _safe(fn: Any, *args: Any) -> str:
    """Run one part of a card; a failure becomes a short note instead of a broken repr."""
    try:
        return fn(*args)
    except (KitError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        return f"<span style='color:#c00'>{_e(type(exc).__name__)}: {_e(exc)}</span>"


def _title(node: Any) -> str:
    version = f" · NGFF {_e(node.version)}" if node.version else ""
    return f"{_e(type(node).__name__)} <code>{_e(node.name)}</code>{version}"


# -- images and labels -------------------------------------------------------------------------

def _pixel_size(image: Any) -> str:
    level = image.levels[0]
    units = image.units
    parts = []
    for i, axis in enumerate(image.axes):
        if axis in ("c", "t") or i >= len(level.scale):
            continue
        parts.append(f"{_e(axis)} {level.scale[i]:g} {_e(unit_symbol(units.get(axis)))}")
    return ", ".join(parts)


def _levels(image: Any) -> str:
    rows = "".join(
        f"<tr><td style='{_TD}'>{_e(lv.path)}</td><td style='{_TD}'>{_e(lv.shape)}</td>"
        f"<td style='{_TD}'>{_e(lv.chunks)}</td></tr>" for lv in image.levels)
    head = (f"<tr><th style='{_TD}'>path</th><th style='{_TD}'>shape</th>"
            f"<th style='{_TD}'>chunks</th></tr>")
    return f"<table style='border-collapse:collapse'>{head}{rows}</table>"


def _channels(image: Any) -> str:
    from kit.render.preview import channel_colors

    if "c" not in image.axes:
        return ""
    names = image.channel_names
    colors = channel_colors(image, list(range(len(names))))
    meta = image.channels
    items = []
    for i, (name, rgb) in enumerate(zip(names, colors)):
        w = meta[i].window if i < len(meta) else None
        window = f" <span style='color:#888'>[{w.start:g}–{w.end:g}]</span>" if w else ""
        items.append(f"{_swatch(rgb)}{_e(name)}{window}")
    return "<br>".join(items)


def _labels(image: Any) -> str:
    return ", ".join(_e(n) for n in image.labels) or "—"


def _tables(node: Any) -> str:
    return ", ".join(f"{_e(n)} <span style='color:#888'>({_e(t.kind)})</span>"
                     for n, t in node.tables.items()) or "—"


def _thumbnail(node: Any) -> str:
    """Coarsest level only; nothing when even that plane is too large to be a cheap read."""
    from kit.render.preview import preview

    coarsest = node.levels[-1]
    iy, ix = yx_axes(node.axes)
    if coarsest.shape[iy] * coarsest.shape[ix] > THUMBNAIL_MAX_PIXELS:
        return "<span style='color:#888'>no thumbnail: the coarsest level is large</span>"
    return _img(preview(node, level=-1, max_size=THUMBNAIL_SIZE), f"thumbnail of {node.name}")


def _label_colors(label: Any) -> str:
    colors = label.colors
    if not colors:
        return "none given (stable colours per value)"
    shown = list(colors.items())[:12]
    more = f" … {len(colors)} values" if len(colors) > len(shown) else ""
    return " ".join(f"{_swatch(rgba)}{_e(v)}" for v, rgba in shown) + more


def _prefetch(image: Any) -> None:
    """Level, label and table documents in one concurrent batch instead of one after the other."""
    import asyncio

    from kit.io.loop import run_sync
    from kit.nodes import Label

    async def both() -> None:
        await asyncio.gather(image.alevels(), image.atables(),
                             *(() if isinstance(image, Label) else (image.alabels(),)))

    try:
        run_sync(both())
    except KitError:
        pass  # each part of the card reports its own failure


def image_card(image: Any) -> str:
    from kit.nodes import Label

    _prefetch(image)
    level0 = image.levels[0]
    pairs = [
        ("url", f"<code>{_e(image.url)}</code>"),
        ("axes", _e(" ".join(f"{a}" + (f" ({unit_symbol(u)})" if u else "")
                             for a, u in image.units.items()))),
        ("dtype", _e(level0.dtype)),
        ("pixel size", _safe(_pixel_size, image)),
        ("levels", _safe(_levels, image)),
    ]
    if isinstance(image, Label):
        meta = image.meta.image_label
        pairs.append(("colors", _safe(_label_colors, image)))
        pairs.append(("properties", _e(f"{len(image.properties)} label values")))
        pairs.append(("source", _e((meta.source_image if meta else None) or "../../")))
    else:
        pairs.append(("channels", _safe(_channels, image)))
        pairs.append(("labels", _safe(_labels, image)))
        pairs.append(("tables", _safe(_tables, image)))
    return _frame(_title(image), _rows(pairs), _safe(_thumbnail, image))


# -- wells, plates, groups ---------------------------------------------------------------------

def well_card(well: Any) -> str:
    images = well.images
    fields = ", ".join(f"<code>{_e(p)}</code>" for p in images) or "—"
    pairs = [("url", f"<code>{_e(well.url)}</code>"), ("fields", fields)]
    thumb = ""
    if images:
        first = next(iter(images.values()))
        pairs.append(("first field", _e(f"{''.join(first.axes)} {first.levels[0].shape} "
                                        f"{first.levels[0].dtype}")))
        pairs.append(("channels", _safe(_channels, first)))
        thumb = _safe(_thumbnail, first)
    return _frame(_title(well), _rows(pairs), thumb)


def _plate_grid(plate: Any) -> str:
    present = set(plate.wells)  # one concurrent batch of well documents
    listed = set(plate.well_paths)
    head = "<tr><th></th>" + "".join(f"<th style='padding:0 3px'>{_e(c)}</th>"
                                     for c in plate.columns) + "</tr>"
    body = []
    for r in plate.rows:
        cells = []
        for c in plate.columns:
            key = f"{r}/{c}"
            if key in present:
                style, mark, tip = "background:#4a4;color:#fff", "●", "present"
            elif key in listed:
                style, mark, tip = "background:#c44;color:#fff", "×", "listed but missing"
            else:
                style, mark, tip = "background:#8882;color:#888", "·", "no well"
            cells.append(f"<td class='well {_e(tip.split()[0])}' title='{_e(key)}: {_e(tip)}' "
                         f"style='{style};text-align:center;width:18px;height:18px;"
                         f"padding:0'>{mark}</td>")
        body.append(f"<tr><th style='padding:0 3px'>{_e(r)}</th>{''.join(cells)}</tr>")
    return (f"<table style='border-collapse:separate;border-spacing:2px'>{head}"
            f"{''.join(body)}</table>")


def _plate_thumbnail(plate: Any) -> str:
    from kit.render.overview import plate_overview

    if len(plate.well_paths) > PLATE_THUMBNAIL_MAX_WELLS:
        return ""
    mosaic = plate_overview(plate, max_size=THUMBNAIL_SIZE, level=-1, progress=False)
    return _img(mosaic, f"overview of {plate.name}")


def plate_card(plate: Any) -> str:
    pairs = [
        ("url", f"<code>{_e(plate.url)}</code>"),
        ("layout", _e(f"{len(plate.rows)} rows × {len(plate.columns)} columns, "
                      f"{len(plate.well_paths)} wells listed")),
        ("wells", _safe(_plate_grid, plate)),
        ("tables", _safe(_tables, plate)),
    ]
    return _frame(_title(plate), _rows(pairs), _safe(_plate_thumbnail, plate))


def _member(value: Any) -> str:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return _e(f"array {tuple(value.shape)} {value.dtype}")
    return _e(f"{type(value).__name__}" + (f" (NGFF {value.version})"
                                           if getattr(value, "version", None) else ""))


def group_card(group: Any) -> str:
    def members() -> str:
        items = group.members
        if not items:
            return "—"
        return "<br>".join(f"<code>{_e(k)}</code>: {_member(v)}" for k, v in items.items())

    kind = group.meta.kind if group.meta.kind != "group" else "zarr group"
    pairs = [("url", f"<code>{_e(group.url)}</code>"), ("kind", _e(kind)),
             ("members", _safe(members))]
    return _frame(_title(group), _rows(pairs))


def card_html(node: Any) -> str:
    """The HTML card of any node (installed as ``kit.nodes.base.html_renderer``)."""
    from kit.nodes import Image, Plate, Well

    try:
        if isinstance(node, Plate):
            return plate_card(node)
        if isinstance(node, Well):
            return well_card(node)
        if isinstance(node, Image):
            return image_card(node)
        return group_card(node)
    except Exception as exc:  # noqa: BLE001 - a repr must not raise in a notebook
        return _frame(_title(node), f"<span style='color:#c00'>{_e(type(exc).__name__)}: "
                                    f"{_e(exc)}</span>")


__all__ = ["card_html"]
