"""Notebook cards (``_repr_html_``) for every node: key metadata and a small thumbnail.

A card must be cheap and must never raise: it reads metadata documents and, for a thumbnail,
only the coarsest level (and nothing when even that is large). A plate card draws its
well grid from metadata and adds a mosaic only for small plates. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np

from kit.errors import KitError
from kit.render.describe import (
    ArraySummary,
    GroupSummary,
    ImageSummary,
    PlateSummary,
    SceneSummary,
    Summary,
    TableInfo,
    WellSummary,
    describe,
)
from kit.render.figure import unit_symbol
from kit.render.overview import plate_overview
from kit.render.plane import yx_axes
from kit.render.png import data_uri
from kit.render.preview import preview

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
    body = "".join(f"<tr><th style='{_TD};font-weight:600'>{_e(k)}</th>"
                   f"<td style='{_TD}'>{v}</td></tr>"
                   for k, v in pairs)
    return f"<table style='border-collapse:collapse;margin:0'>{body}</table>"


def _swatch(rgb: tuple[int, ...]) -> str:
    hexcode = "#" + "".join(f"{int(v):02X}" for v in rgb[:3])
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

def _problem(summary: Summary, part: str) -> str | None:
    message = summary.problems.get(part)
    return f"<span style='color:#c00'>{_e(message)}</span>" if message else None


def _pixel_size(s: ImageSummary) -> str:
    level = s.levels[0]
    parts = []
    for i, axis in enumerate(s.axes):
        if axis in ("c", "t") or i >= len(level.scale):
            continue
        parts.append(f"{_e(axis)} {level.scale[i]:g} {_e(unit_symbol(s.units.get(axis)))}")
    return ", ".join(parts)


def _levels(s: ImageSummary) -> str:
    rows = "".join(
        f"<tr><td style='{_TD}'>{_e(lv.path)}</td><td style='{_TD}'>{_e(lv.shape)}</td>"
        f"<td style='{_TD}'>{_e(lv.chunks)}</td></tr>" for lv in s.levels)
    head = (f"<tr><th style='{_TD}'>path</th><th style='{_TD}'>shape</th>"
            f"<th style='{_TD}'>chunks</th></tr>")
    return f"<table style='border-collapse:collapse'>{head}{rows}</table>"


def _channels(s: ImageSummary) -> str:
    if "c" not in s.axes:
        return ""
    items = []
    for ch in s.channels:
        w = ch.window
        window = f" <span style='color:#888'>[{w[0]:g}–{w[1]:g}]</span>" if w else ""
        items.append(f"{_swatch(ch.rgb)}{_e(ch.name)}{window}")
    return "<br>".join(items)


def _names(names: list[str]) -> str:
    return ", ".join(_e(n) for n in names) or "—"


def _table_names(tables: list[TableInfo]) -> str:
    return ", ".join(f"{_e(t.name)} <span style='color:#888'>({_e(t.kind)})</span>"
                     for t in tables) or "—"


def _thumbnail(node: Any) -> str:
    """Coarsest level only; nothing when even that plane is too large to be a cheap read."""
    coarsest = node.levels[-1]
    iy, ix = yx_axes(node.axes)
    if coarsest.shape[iy] * coarsest.shape[ix] > THUMBNAIL_MAX_PIXELS:
        return "<span style='color:#888'>no thumbnail: the coarsest level is large</span>"
    return _img(preview(node, level=-1, max_size=THUMBNAIL_SIZE), f"thumbnail of {node.name}")


def _label_colors(s: ImageSummary) -> str:
    if not s.colors:
        return "none given (stable colours per value)"
    shown = list(s.colors.items())[:12]
    more = f" … {len(s.colors)} values" if len(s.colors) > len(shown) else ""
    return " ".join(f"{_swatch(rgba)}{_e(v)}" for v, rgba in shown) + more


def _part(s: Summary, part: str, fn: Any, *args: Any) -> str:
    """One part of a card: its error when describing it failed, else its HTML."""
    return _problem(s, part) or _safe(fn, *args)


def image_card(image: Any) -> str:
    s = describe(image)
    assert isinstance(s, ImageSummary)
    pairs = [
        ("url", f"<code>{_e(s.url)}</code>"),
        ("axes", _e(" ".join(f"{a}" + (f" ({unit_symbol(u)})" if u else "")
                             for a, u in s.units.items()))),
        ("dtype", _e(s.dtype) if s.dtype else (_problem(s, "levels") or "—")),
        ("pixel size", _part(s, "levels", _pixel_size, s)),
        ("levels", _part(s, "levels", _levels, s)),
    ]
    if s.kind == "label":
        pairs.append(("colors", _part(s, "colors", _label_colors, s)))
        pairs.append(("properties", _e(f"{s.properties} label values")))
        pairs.append(("source", _e(s.source_image)))
    else:
        pairs.append(("channels", _part(s, "channels", _channels, s)))
        pairs.append(("labels", _part(s, "labels", _names, s.labels)))
        pairs.append(("tables", _part(s, "tables", _table_names, s.tables)))
    return _frame(_title(image), _rows(pairs), _safe(_thumbnail, image))


# -- wells, plates, groups ---------------------------------------------------------------------

def well_card(well: Any) -> str:
    s = describe(well)
    assert isinstance(s, WellSummary)
    fields = ", ".join(f"<code>{_e(p)}</code>" for p in s.fields) or "—"
    pairs = [("url", f"<code>{_e(s.url)}</code>"), ("fields", _problem(s, "fields") or fields)]
    thumb = ""
    if s.images:
        first = s.images[0]
        pairs.append(("first field", _problem(first, "levels") or _e(
            f"{''.join(first.axes)} {first.levels[0].shape} {first.dtype}")))
        pairs.append(("channels", _part(first, "channels", _channels, first)))
        thumb = _safe(_thumbnail, well.images[first.path])
    return _frame(_title(well), _rows(pairs), thumb)


def _plate_grid(s: PlateSummary) -> str:
    present = set(s.present or ())
    listed = set(s.well_paths)
    head = "<tr><th></th>" + "".join(f"<th style='padding:0 3px'>{_e(c)}</th>"
                                     for c in s.columns) + "</tr>"
    body = []
    for r in s.rows:
        cells = []
        for c in s.columns:
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
    if len(plate.well_paths) > PLATE_THUMBNAIL_MAX_WELLS:
        return ""
    mosaic = plate_overview(plate, max_size=THUMBNAIL_SIZE, level=-1, progress=False)
    return _img(mosaic, f"overview of {plate.name}")


def plate_card(plate: Any) -> str:
    s = describe(plate)
    assert isinstance(s, PlateSummary)
    pairs = [
        ("url", f"<code>{_e(s.url)}</code>"),
        ("layout", _e(f"{len(s.rows)} rows × {len(s.columns)} columns, "
                      f"{len(s.well_paths)} wells listed")),
        ("wells", _part(s, "wells", _plate_grid, s)),
        ("tables", _part(s, "tables", _table_names, s.tables)),
    ]
    return _frame(_title(plate), _rows(pairs), _safe(_plate_thumbnail, plate))


def _member(m: Summary) -> str:
    if isinstance(m, ArraySummary):
        return _e(f"array {tuple(m.shape)} {m.dtype}")
    kind = {"image": "Image", "label": "Label", "plate": "Plate", "well": "Well"}.get(
        m.kind, "Group")
    return _e(kind + (f" (NGFF {m.version})" if m.version else ""))


def group_card(group: Any) -> str:
    s = describe(group)
    assert isinstance(s, GroupSummary)

    def members() -> str:
        if not s.members:
            return "—"
        return "<br>".join(f"<code>{_e(m.path)}</code>: {_member(m)}" for m in s.members)

    kind = s.group_kind if s.group_kind != "group" else "zarr group"
    pairs = [("url", f"<code>{_e(s.url)}</code>"), ("kind", _e(kind)),
             ("members", _part(s, "members", members))]
    return _frame(_title(group), _rows(pairs))


def scene_card(scene: Any) -> str:
    """A 0.6 scene: its coordinate system, its images (missing ones named), a thumbnail."""
    s = describe(scene)
    assert isinstance(s, SceneSummary)
    images = "<br>".join(f"<code>{_e(im.path)}</code>: {_e(''.join(im.axes))}"
                         for im in s.images) or "—"
    missing = ", ".join(f"<code>{_e(p)}</code>" for p in s.missing)
    pairs = [("url", f"<code>{_e(s.url)}</code>"), ("coordinate system", _e(s.system)),
             ("images", _part(s, "images", lambda: images))]
    if missing:
        pairs.append(("missing", f"<span style='color:#c00'>{missing}</span>"))
    thumb = _safe(lambda: _img(preview(scene, max_size=THUMBNAIL_SIZE), f"scene {scene.name}"))
    return _frame(_title(scene), _rows(pairs), thumb)


# -- tables and the labels / tables mappings ---------------------------------------------------

def table_card(table: Any) -> str:
    """A table from its metadata (no row read): kind, backend, region, index."""
    pairs = [("url", f"<code>{_e(table.url)}</code>"), ("kind", _e(table.kind)),
             ("backend", _e(table.backend))]
    if table.region:
        pairs.append(("region", f"<code>{_e(table.region)}</code>"))
    if table.index_key:
        pairs.append(("index", _e(table.index_key + (f" ({table.index_type})"
                                                     if table.index_type else ""))))
    if getattr(table, "missing", False):
        pairs.append(("note", "<span style='color:#c00'>listed but missing</span>"))
    title = f"Table <code>{_e(table.name)}</code>"
    return _frame(title, _rows(pairs))


def tables_card(tables: Mapping[str, Any]) -> str:
    """The tables of a node (``image.tables``, ``plate.tables``): one row per table."""
    head = "".join(f"<th style='{_TD}'>{h}</th>" for h in ("name", "kind", "backend", "region"))
    rows = "".join(
        f"<tr><td style='{_TD}'><code>{_e(n)}</code></td><td style='{_TD}'>{_e(t.kind)}</td>"
        f"<td style='{_TD}'>{_e(t.backend)}</td><td style='{_TD}'>{_e(t.region or '—')}</td>"
        f"</tr>" for n, t in tables.items())
    body = f"<table style='border-collapse:collapse'><tr>{head}</tr>{rows}</table>"
    return _frame(f"Tables <span style='color:#888'>({len(tables)})</span>",
                  body if tables else "—")


def labels_card(labels: Mapping[str, Any]) -> str:
    """The labels of an image (``image.labels``): axes, level-0 shape and colours of each."""
    head = "".join(f"<th style='{_TD}'>{h}</th>" for h in ("name", "axes", "levels", "colors"))
    rows = []
    for name, label in labels.items():
        s = describe(label)
        assert isinstance(s, ImageSummary)
        shape = _problem(s, "levels") or (_e(f"{len(s.levels)}: {s.levels[0].shape} {s.dtype}")
                                          if s.levels else "—")
        rows.append(f"<tr><td style='{_TD}'><code>{_e(name)}</code></td>"
                    f"<td style='{_TD}'>{_e(''.join(s.axes))}</td><td style='{_TD}'>{shape}</td>"
                    f"<td style='{_TD}'>{_part(s, 'colors', _label_colors, s)}</td></tr>")
    body = f"<table style='border-collapse:collapse'><tr>{head}</tr>{''.join(rows)}</table>"
    return _frame(f"Labels <span style='color:#888'>({len(labels)})</span>",
                  body if labels else "—")


def members_card(members: Mapping[str, Any]) -> str:
    """Any other mapping of members (``plate.wells``, ``well.images``, a group's members)."""
    what = getattr(members, "what", "member")
    rows = "<br>".join(f"<code>{_e(n)}</code>: {_e(type(v).__name__)}" for n, v in members.items())
    return _frame(f"{_e(what.capitalize())}s <span style='color:#888'>({len(members)})</span>",
                  rows or "—")


_MAPPINGS = {"label": "labels", "table": "tables"}


def _mapping_of(value: Any) -> str | None:
    """"labels", "tables" or "members" for a mapping a node returns (a ``NodeMap``, or a
    plain mapping of Labels or of Tables), else None."""
    from kit.nodes import Label, NodeMap, Table

    if not isinstance(value, Mapping):
        return None
    if isinstance(value, NodeMap):
        return _MAPPINGS.get(value.what, "members")
    items = list(value.values())
    if not items:
        return None
    if all(isinstance(v, Label) for v in items):
        return "labels"
    if all(isinstance(v, Table) for v in items):
        return "tables"
    return None


def card_html(node: Any) -> str:
    """The HTML card of any node, a Table, or a labels / tables mapping (installed as
    ``kit.nodes.base.html_renderer``, which their ``_repr_html_`` call)."""
    from kit.nodes import Image, Plate, Scene, Table, Well

    try:
        if isinstance(node, Table):
            return table_card(node)
        mapping = _mapping_of(node)
        if mapping == "labels":
            return labels_card(node)
        if mapping == "tables":
            return tables_card(node)
        if mapping == "members":
            return members_card(node)
        if isinstance(node, Plate):
            return plate_card(node)
        if isinstance(node, Well):
            return well_card(node)
        if isinstance(node, Image):
            return image_card(node)
        if isinstance(node, Scene):
            return scene_card(node)
        return group_card(node)
    except Exception as exc:  # noqa: BLE001 - a repr must not raise in a notebook
        title = _title(node) if hasattr(node, "version") else _e(type(node).__name__)
        return _frame(title, f"<span style='color:#c00'>{_e(type(exc).__name__)}: "
                                    f"{_e(exc)}</span>")


__all__ = [
    "card_html",
    "group_card",
    "image_card",
    "labels_card",
    "plate_card",
    "scene_card",
    "table_card",
    "tables_card",
    "well_card",
]
