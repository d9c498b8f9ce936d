"""``describe(node)``: one structured summary of any node, for every place that shows one.

The notebook card (``kit/render/card.py``), the browser's details pane and the CLI's ``info``
all summarise the same metadata; they read it here, once, and only format it. A summary is
plain data (``to_dict`` is JSON-able, ``describe_text`` is the ``info`` text), costs no chunk
read, and, unless ``strict``, never raises for one broken part: the part is left empty and
its error kept in ``problems``, so a card or a pane still shows the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kit.errors import KitError
from kit.io.loop import run_sync
from kit.render.color import default_color, hex_to_rgb

__all__ = [
    "ArraySummary",
    "ChannelInfo",
    "GroupSummary",
    "ImageSummary",
    "LevelInfo",
    "PlateSummary",
    "SceneSummary",
    "Summary",
    "TableInfo",
    "WellSummary",
    "describe",
    "describe_text",
    "text_lines",
]

#: The errors one part of a summary may meet (the same set the card has always tolerated).
PART_ERRORS = (KitError, OSError, ValueError, KeyError, IndexError, TypeError)


@dataclass(frozen=True)
class LevelInfo:
    index: int
    path: str
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    scale: tuple[float, ...]
    translation: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "shape": list(self.shape), "dtype": self.dtype,
                "chunks": list(self.chunks), "scale": list(self.scale),
                "translation": list(self.translation)}


@dataclass(frozen=True)
class ChannelInfo:
    index: int
    name: str                      # what to show: the omero label, else the index
    label: str | None              # the omero label as written
    color: str | None              # the omero colour as written ("00FF00"), or None
    rgb: tuple[int, int, int]      # the colour pictures use (omero, else the kit's default)
    window: tuple[float, float] | None
    active: bool
    listed: bool = True            # False: a channel of the c axis the omero block omits

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "color": self.color,
                "window": list(self.window) if self.window is not None else None}


@dataclass(frozen=True)
class TableInfo:
    name: str
    kind: str
    backend: str
    region: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "backend": self.backend,
                "region": self.region}


@dataclass
class Summary:
    """What every node has: kind, name, where, NGFF version, and the parts that failed."""

    kind: str
    name: str
    url: str
    path: str
    version: str | None
    problems: dict[str, str] = field(default_factory=dict)
    #: the exceptions behind ``problems`` (a caller that needs a part can raise its own)
    errors: dict[str, Exception] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.url, "version": self.version, "type": self.kind}


@dataclass
class ImageSummary(Summary):
    axes: list[str] = field(default_factory=list)
    units: dict[str, str | None] = field(default_factory=dict)
    levels: list[LevelInfo] = field(default_factory=list)
    channels: list[ChannelInfo] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    label_summaries: list[ImageSummary] = field(default_factory=list)  # deep only
    tables: list[TableInfo] = field(default_factory=list)
    # label images only
    colors: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    properties: int = 0
    source_image: str | None = None

    @property
    def dtype(self) -> str | None:
        return self.levels[0].dtype if self.levels else None

    def label_entry(self) -> dict[str, Any]:
        """A label as ``info --json`` lists it under its image."""
        return {"name": self.name, "type": "label", "axes": self.axes,
                "levels": [lv.to_dict() for lv in self.levels], "colors": len(self.colors)}

    def image_dict(self, path: str | None = None) -> dict[str, Any]:
        """The image as ``info --json`` shows it (inside a well or group: with its path)."""
        return {"path": self.path if path is None else path, "type": self.kind,
                "version": self.version, "axes": self.axes, "units": self.units,
                "channels": [c.to_dict() for c in self.channels_meta],
                "levels": [lv.to_dict() for lv in self.levels],
                "labels": [lab.label_entry() for lab in self.label_summaries],
                "tables": [t.to_dict() for t in self.tables]}

    @property
    def channels_meta(self) -> list[ChannelInfo]:
        """The channels the omero block lists (``info`` shows only those)."""
        return [c for c in self.channels if c.listed]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), **self.image_dict("")}


@dataclass
class WellSummary(Summary):
    fields: list[str] = field(default_factory=list)
    images: list[ImageSummary] = field(default_factory=list)  # the first field, or all (deep)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "images": [im.image_dict() for im in self.images]}


@dataclass
class PlateSummary(Summary):
    rows: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    well_paths: list[str] = field(default_factory=list)
    present: list[str] | None = None        # wells the store has (None: not asked)
    acquisitions: int = 0
    tables: list[TableInfo] = field(default_factory=list)
    wells: list[WellSummary] = field(default_factory=list)   # deep only

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rows": self.rows, "columns": self.columns,
                "listed_wells": len(self.well_paths),
                "tables": [t.to_dict() for t in self.tables],
                "wells": [{"path": w.path, "images": [im.image_dict() for im in w.images]}
                          for w in self.wells]}


@dataclass
class ArraySummary(Summary):
    """A plain zarr array (a member of a generic group)."""

    shape: tuple[int, ...] = ()
    dtype: str = ""
    chunks: tuple[int, ...] = ()

    def entry(self) -> dict[str, Any]:
        """The array as a member of a group (``info --json`` lists it so)."""
        return {"path": self.path, "type": "array", "shape": list(self.shape),
                "dtype": self.dtype, "chunks": list(self.chunks)}

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), **self.entry()}


@dataclass
class GroupSummary(Summary):
    group_kind: str = "group"    # "group", "bioformats2raw", "labels", ...
    members: list[Summary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def member(m: Summary) -> dict[str, Any]:
            if isinstance(m, ImageSummary):
                return m.image_dict()
            if isinstance(m, ArraySummary):
                return m.entry()
            return {"path": m.path, "type": m.kind}

        return {**super().to_dict(), "members": [member(m) for m in self.members]}


@dataclass
class SceneSummary(Summary):
    """A 0.6 scene: the system it is shown in and its member images (missing ones listed)."""

    system: str = ""
    axes: list[str] = field(default_factory=list)
    images: list[ImageSummary] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "coordinate_system": self.system, "axes": self.axes,
                "images": [im.image_dict() for im in self.images], "missing": self.missing}


# -- reading ------------------------------------------------------------------------------------

class _Parts:
    """Runs the parts of one summary; a failing part is recorded, or raised when strict."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.problems: dict[str, str] = {}
        self.errors: dict[str, Exception] = {}

    def get(self, name: str, fn: Any, default: Any) -> Any:
        try:
            return fn()
        except PART_ERRORS as exc:
            if self.strict:
                raise
            self.problems.setdefault(name, f"{type(exc).__name__}: {exc}")
            self.errors.setdefault(name, exc)
            return default


def _levels(image: Any) -> list[LevelInfo]:
    return [LevelInfo(lv.index, lv.path, tuple(lv.shape), str(lv.dtype), tuple(lv.chunks),
                      tuple(lv.scale), tuple(lv.translation)) for lv in image.levels]


def _channels(image: Any) -> list[ChannelInfo]:
    meta = image.channels
    names = image.channel_names if "c" in image.axes else []
    count = max(len(names), 1)
    out = []
    for i in range(max(len(names), len(meta)) if names else len(meta)):
        ch = meta[i] if i < len(meta) else None
        window = (float(ch.window.start), float(ch.window.end)) if ch and ch.window else None
        name = names[i] if i < len(names) else (ch.label if ch and ch.label else str(i))
        info = ChannelInfo(i, name, ch.label if ch else None, ch.color if ch else None,
                           (hex_to_rgb(ch.color) if ch else None) or default_color(i, count),
                           window, bool(ch.active) if ch else True, ch is not None)
        out.append(info)
    return out


def _tables(node: Any) -> list[TableInfo]:
    return [TableInfo(n, t.kind, t.backend, t.region) for n, t in node.tables.items()]


def _base(node: Any, parts: _Parts) -> dict[str, Any]:
    return {"kind": node.kind, "name": node.name, "url": node.url, "path": node.path,
            "version": node.version, "problems": parts.problems, "errors": parts.errors}


def _image(image: Any, strict: bool, deep: bool, path: str | None = None) -> ImageSummary:
    parts = _Parts(strict)
    out = ImageSummary(**_base(image, parts))
    if path is not None:
        out.path = path
    out.axes = parts.get("axes", lambda: list(image.axes), [])
    out.units = parts.get("axes", lambda: dict(image.units), {})
    out.levels = parts.get("levels", lambda: _levels(image), [])
    if image.kind == "label":
        out.colors = parts.get("colors", lambda: dict(image.colors), {})
        out.properties = parts.get("properties", lambda: len(image.properties), 0)
        meta = getattr(image.meta, "image_label", None)
        out.source_image = getattr(meta, "source_image", None) or "../../"
        return out
    out.channels = parts.get("channels", lambda: _channels(image), [])
    labels = parts.get("labels", lambda: dict(image.labels), {})
    out.labels = list(labels)
    if deep:
        out.label_summaries = [_image(lab, strict, False, n) for n, lab in labels.items()]
        for lab, name in zip(out.label_summaries, labels):
            lab.name = name
    out.tables = parts.get("tables", lambda: _tables(image), [])
    return out


async def _prefetch_images(images: Sequence[Any], deep: bool) -> None:
    """Level, label and table documents of many images in one concurrent batch."""
    async def one(image: Any) -> None:
        if image.kind == "label":
            await image.alevels()
            return
        _, labels, _ = await asyncio.gather(image.alevels(), image.alabels(), image.atables())
        if deep:
            await asyncio.gather(*(lab.alevels() for lab in labels.values()))

    await asyncio.gather(*(one(im) for im in images), return_exceptions=True)


def _prefetch(images: Sequence[Any], deep: bool) -> None:
    try:
        run_sync(_prefetch_images(images, deep))
    except KitError:
        pass  # each part of the summary reports its own failure


def _well(well: Any, strict: bool, deep: bool, path: str | None = None) -> WellSummary:
    parts = _Parts(strict)
    out = WellSummary(**_base(well, parts))
    if path is not None:
        out.path = path
    images = parts.get("fields", lambda: dict(well.images), {})
    out.fields = list(images)
    shown = list(images.items()) if deep else list(images.items())[:1]
    _prefetch([im for _, im in shown], deep)
    out.images = [_image(im, strict, deep, p) for p, im in shown]
    return out


def _plate(plate: Any, strict: bool, deep: bool, wells_too: bool) -> PlateSummary:
    parts = _Parts(strict)
    out = PlateSummary(**_base(plate, parts))
    out.rows, out.columns, out.well_paths = plate.rows, plate.columns, plate.well_paths
    out.acquisitions = len(getattr(plate.plate, "acquisitions", None) or ())
    wells = parts.get("wells", lambda: dict(plate.wells), {}) if wells_too or deep else {}
    out.present = list(wells) if (wells_too or deep) and "wells" not in parts.problems else None
    out.tables = parts.get("tables", lambda: _tables(plate), [])
    if deep:
        run_sync(_all_fields(list(wells.values())))
        _prefetch([im for w in wells.values() for im in w.images.values()], deep)
        out.wells = [_well(w, strict, deep, p) for p, w in wells.items()]
    return out


async def _all_fields(wells: list[Any]) -> None:
    await asyncio.gather(*(w.aimages() for w in wells), return_exceptions=True)


def _member(name: str, member: Any, strict: bool, deep: bool) -> Summary:
    from kit.nodes import Image, Node

    if isinstance(member, Image) and deep:
        return _image(member, strict, True, name)
    if isinstance(member, Node):
        return Summary(member.kind, name, member.url, name, member.version)
    return ArraySummary("array", name, "", name, None, shape=tuple(member.shape),
                        dtype=str(member.dtype),
                        chunks=tuple(getattr(member, "chunksize", None)
                                     or getattr(member, "chunks", None) or ()))


def _group(group: Any, strict: bool, deep: bool) -> GroupSummary:
    parts = _Parts(strict)
    out = GroupSummary(**_base(group, parts))
    out.group_kind = group.meta.kind
    members = parts.get("members", lambda: dict(group.members), {})
    if deep:
        _prefetch([m for m in members.values()
                   if getattr(m, "kind", None) in ("image", "label")], True)
    out.members = [_member(n, m, strict, deep) for n, m in members.items()]
    return out


def _scene(scene: Any, strict: bool, deep: bool) -> SceneSummary:
    parts = _Parts(strict)
    out = SceneSummary(**_base(scene, parts))
    out.system = scene.target
    images = parts.get("images", lambda: dict(scene.images), {})
    out.missing = [p for p in scene.meta.scene.image_paths if p not in images]
    _prefetch(list(images.values()), deep)
    out.images = [_image(im, strict, deep, path) for path, im in images.items()]
    out.axes = [a.name for cs in scene.coordinate_systems if cs.name == scene.target
                for a in cs.axes]
    return out


def describe(node: Any, *, deep: bool = False, strict: bool = False,
             wells: bool = True) -> Summary:
    """The summary of ``node`` (Plate, Well, Image, Label, Scene, Group, or a group's dask
    array).

    Metadata documents only, fetched concurrently; no chunk is read. ``deep`` also describes
    what lies below (every well's fields of a plate, every field of a well, each label's
    levels, each member image of a group), as ``ngff-kit info`` prints. ``strict`` raises
    the first error instead of keeping it in ``problems``. ``wells=False`` spares a plate's
    summary the well documents (``present`` stays None).
    """
    from kit.nodes import Group, Image, Plate, Scene, Well

    if isinstance(node, Scene):
        return _scene(node, strict, deep)
    if isinstance(node, Plate):
        return _plate(node, strict, deep, wells)
    if isinstance(node, Well):
        return _well(node, strict, deep)
    if isinstance(node, Image):
        _prefetch([node], deep)
        return _image(node, strict, deep)
    if isinstance(node, Group):
        return _group(node, strict, deep)
    if hasattr(node, "shape") and hasattr(node, "dtype"):
        return _member("", node, strict, deep)
    raise TypeError(f"cannot describe a {type(node).__name__}")


# -- text (``ngff-kit info``) ---------------------------------------------------------------------

def describe_text(node: Any, *, strict: bool = True) -> str:
    """The ``tree``-like text of a node (or of a summary already made), as ``ngff-kit info``
    prints it."""
    summary = node if isinstance(node, Summary) else describe(node, deep=True, strict=strict)
    return "\n".join(text_lines(summary.to_dict()))


def _fmt_tuple(values: Sequence[Any]) -> str:
    return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + ")"


def _level_lines(levels: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}level {lv['path']}: shape {_fmt_tuple(lv['shape'])} {lv['dtype']} "
            f"chunks {_fmt_tuple(lv['chunks'])} scale {_fmt_tuple(lv['scale'])}" for lv in levels]


def _array_line(a: dict[str, Any], indent: str) -> str:
    chunks = f" chunks {_fmt_tuple(a['chunks'])}" if a.get("chunks") else ""
    return f"{indent}{a['path'] or '.'}  array {_fmt_tuple(a['shape'] or [])} {a['dtype']}{chunks}"


def _table_lines(tables: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}table {t['name']} ({t['kind']}, {t['backend']})"
            + (f" -> {t['region']}" if t.get("region") else "") for t in tables]


def _image_lines(im: dict[str, Any], indent: str) -> list[str]:
    head = f"{indent}{im['path'] or '.'}  {im['type']} {''.join(im['axes'])}"
    lines = [head + (f", NGFF {im['version']}" if im.get("version") else "")]
    inner = indent + "  "
    if im["channels"]:
        lines.append(inner + "channels: " + ", ".join(
            f"{c['label']} (#{c['color']})" if c.get("color") else str(c["label"])
            for c in im["channels"]))
    lines += _level_lines(im["levels"], inner)
    for lab in im["labels"]:
        lines.append(f"{inner}label {lab['name']}: {''.join(lab['axes'])}, "
                     f"{len(lab['levels'])} levels, {lab['colors']} colours")
        lines += _level_lines(lab["levels"], inner + "  ")
    lines += _table_lines(im["tables"], inner)
    return lines


def _layout_key(im: dict[str, Any]) -> str:
    """What makes two fields print the same: the text without path, colour counts, windows."""
    labels = [{**lab, "colors": 0} for lab in im["labels"]]
    return "\n".join(_image_lines({**im, "path": "", "labels": labels}, ""))


def _compact_image_lines(im: dict[str, Any], where: str, seen: dict[str, str],
                         indent: str) -> list[str]:
    """A field in full the first time its layout appears, then one line pointing back."""
    key = _layout_key(im)
    if key in seen:
        return [(f"{indent}{im['path']}  {im['type']} {''.join(im['axes'])}, "
                 f"same layout as {seen[key]}")]
    seen[key] = where
    return _image_lines(im, indent)


def text_lines(d: dict[str, Any]) -> list[str]:
    """The ``info`` lines of a summary's ``to_dict()``."""
    kind = d["type"]
    if kind == "plate":
        n, listed = len(d["wells"]), d.get("listed_wells", len(d["wells"]))
        count = f"{n} wells" if n == listed else f"{n} of {listed} listed wells readable"
        lines = [(f"{d['source']}  plate {len(d['rows'])}x{len(d['columns'])} "
                  f"(rows {' '.join(d['rows'])}; columns {' '.join(d['columns'])}), "
                  f"{count}, NGFF {d['version']}")]
        lines += _table_lines(d["tables"], "  ")
        seen: dict[str, str] = {}
        for well in d["wells"]:
            lines.append(f"  well {well['path']}: {len(well['images'])} field(s)")
            for im in well["images"]:
                lines += _compact_image_lines(im, f"{well['path']}/{im['path']}", seen, "    ")
        return lines
    if kind == "well":
        lines = [f"{d['source']}  well, {len(d['images'])} field(s), NGFF {d['version']}"]
        for im in d["images"]:
            lines += _image_lines(im, "  ")
        return lines
    if kind in ("image", "label"):
        return [d["source"]] + _image_lines(d, "  ")
    if kind == "scene":
        axes = f" ({' '.join(d['axes'])})" if d["axes"] else ""
        lines = [f"{d['source']}  scene in {d['coordinate_system']}{axes}, "
                 f"{len(d['images'])} image(s), NGFF {d['version']}"]
        for im in d["images"]:
            lines += _image_lines(im, "  ")
        lines += [f"  {path}  missing (not shown)" for path in d["missing"]]
        return lines
    if kind == "array":
        return [d["source"], _array_line(d, "  ")]
    if kind == "group":
        lines = [f"{d['source']}  group, {len(d['members'])} member(s)"]
        for m in d["members"]:
            if m["type"] in ("image", "label"):
                lines += _image_lines(m, "  ")
            elif m["type"] == "array":
                lines.append(_array_line(m, "  "))
            else:
                lines.append(f"  {m['path']}  {m['type']}")
        return lines
    return [f"{d['source']}  {kind}"]
