"""The data of ``info``: a JSON-able tree of a node (what ``info --json`` prints).

Metadata only, no chunk is read. Fields of a plate load from a few threads so independent
images arrive concurrently. Listed wells that cannot be read are said, not silently dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kit.errors import KitWarning


def level_dict(lv: Any) -> dict[str, Any]:
    return {"path": lv.path, "shape": list(lv.shape), "dtype": str(lv.dtype),
            "chunks": list(lv.chunks), "scale": list(lv.scale), "translation": list(lv.translation)}


def tables_list(node: Any) -> list[dict[str, Any]]:
    return [{"name": name, "kind": t.kind, "backend": t.backend, "region": t.region}
            for name, t in node.tables.items()]


def channel_dict(ch: Any) -> dict[str, Any]:
    window = getattr(ch, "window", None)
    return {"label": ch.label, "color": ch.color,
            "window": [window.start, window.end] if window is not None else None}


def label_dict(name: str, label: Any) -> dict[str, Any]:
    return {"name": name, "type": "label", "axes": label.axes,
            "levels": [level_dict(lv) for lv in label.levels], "colors": len(label.colors)}


def image_dict(image: Any, path: str) -> dict[str, Any]:
    """Everything ``info`` shows of one image (levels, channels, labels, tables)."""
    return {
        "path": path, "type": type(image).__name__.lower(), "version": image.version,
        "axes": image.axes, "units": image.units,
        "channels": [channel_dict(c) for c in image.channels],
        "levels": [level_dict(lv) for lv in image.levels],
        "labels": [label_dict(n, lab) for n, lab in image.labels.items()],
        "tables": tables_list(image),
    }


def array_dict(path: str, array: Any) -> dict[str, Any]:
    """An array member (or a bare array): shape, dtype and chunk shape."""
    shape, dtype = getattr(array, "shape", None), getattr(array, "dtype", None)
    chunks = getattr(array, "chunksize", None) or getattr(array, "chunks", None)
    return {"path": path, "type": "array", "shape": list(shape) if shape is not None else None,
            "dtype": str(dtype) if dtype is not None else None,
            "chunks": [int(c) for c in chunks] if chunks is not None else None}


def parallel(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """The sync API from a few threads: independent images load concurrently, not in a row."""
    items = list(items)
    if len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(16, len(items))) as pool:
        return list(pool.map(fn, items))


def plate_wells(plate: Any) -> dict[str, Any]:
    """The plate's readable wells; one warning naming the listed wells that are not (a well
    folder without well metadata is otherwise dropped without a word)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wells = plate.wells
    said = [str(w.message) for w in caught]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    unread = [p for p in plate.well_paths if p not in wells and not any(p in m for m in said)]
    if unread:
        listed = len(plate.well_paths)
        warnings.warn(f"{plate.url}: {len(unread)} of {listed} listed wells could not be read "
                      f"(missing, or without well metadata): {', '.join(unread)}",
                      KitWarning, stacklevel=2)
    return wells


def bare_array(group: Any) -> Any | None:
    """The zarr array when the node "opened as a group" is really an array (a v2 ``.zarray``
    with attributes looks like a group to the probe), else None."""
    from kit.io.loop import run_sync

    location = group.location
    if run_sync(location.node_type()) != "array":
        return None
    return run_sync(location.open_array())


def describe(node: Any) -> dict[str, Any]:
    """A JSON-able tree of a node: the data of ``info`` and ``info --json``."""
    from kit.nodes import Group, Image, Plate, Well

    base = {"source": node.url, "version": node.version}
    if isinstance(node, Plate):
        wells = plate_wells(node)
        images = parallel(lambda w: [image_dict(im, p) for p, im in w.images.items()],
                          wells.values())
        return {**base, "type": "plate", "rows": node.rows, "columns": node.columns,
                "listed_wells": len(node.well_paths), "tables": tables_list(node),
                "wells": [{"path": p, "images": ims} for p, ims in zip(wells, images)]}
    if isinstance(node, Well):
        return {**base, "type": "well",
                "images": parallel(lambda kv: image_dict(kv[1], kv[0]), node.images.items())}
    if isinstance(node, Image):
        return {**base, **image_dict(node, "")}
    if isinstance(node, Group):
        array = bare_array(node) if not node.meta.kind or node.meta.kind == "group" else None
        if array is not None:
            return {**base, **array_dict("", array)}
        members = [member_dict(n, m) for n, m in node.members.items()]
        return {**base, "type": "group", "members": members}
    return {**base, "type": type(node).__name__.lower()}


def member_dict(name: str, member: Any) -> dict[str, Any]:
    from kit.nodes import Image, Node

    if isinstance(member, Image):
        return image_dict(member, name)
    if isinstance(member, Node):
        return {"path": name, "type": type(member).__name__.lower()}
    return array_dict(name, member)
