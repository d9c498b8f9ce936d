"""Build NGFF 0.1-0.6rc0 attribute dicts: the inverse of ``parse_attributes`` (pure, no I/O).

Writers (the demo generator, tests, a future converter) describe what they wrote and get the
attributes each version prescribes: 0.1-0.4 keep the OME keys at the top level with per-block
``version`` keys, 0.5 nests them under ``ome`` with one ``ome.version``. Before 0.4 there are
no coordinateTransformations and no well indices; 0.1/0.2 have no ``axes`` (always tczyx),
0.3 writes them as names. Numbers derived from
pixel data (display windows, label areas) are the caller's; this module only lays them out.

    attrs = ome_attributes("0.5", {"multiscales": multiscales("0.5", name="img", axes=axes("czyx"),
                                                              scales=[[1, 1, 0.5, 0.5]])})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .version import LEGACY_VERSIONS, SUPPORTED_VERSIONS

#: versions the writers can lay out (0.6: the rc0 form, RFC-5 coordinate systems)
WRITABLE_VERSIONS = LEGACY_VERSIONS + ("0.4", "0.5", "0.6rc0")

AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
DEFAULT_UNITS = {"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"}


def check_version(version: str) -> str:
    """Refuse versions with no layout here, before anything is built."""
    if version not in WRITABLE_VERSIONS:
        raise ValueError(f"version must be one of {WRITABLE_VERSIONS}, not {version!r} "
                         f"(read: {', '.join(SUPPORTED_VERSIONS)})")
    return version


def uses_ome_block(version: str) -> bool:
    """0.5 and later keep every key under ``ome`` with one ``ome.version`` (zarr v3)."""
    return check_version(version) not in LEGACY_VERSIONS + ("0.4",)


def _versioned(version: str, block: dict[str, Any]) -> dict[str, Any]:
    """0.1-0.4 blocks carry their own ``version``; 0.5 has one at ``ome.version``."""
    return block if uses_ome_block(version) else {**block, "version": version}


def ome_attributes(version: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """The group attributes holding ``content`` the way each version stores them."""
    if not uses_ome_block(version):
        return dict(content)
    return {"ome": {"version": version, **content}}


def axes(names: str | Sequence[str], units: Mapping[str, str] | None = None
         ) -> list[dict[str, str]]:
    """Axis objects for t/c/z/y/x names, typed, with a unit on each axis ``units`` names
    (default: seconds and micrometers)."""
    units = DEFAULT_UNITS if units is None else units
    out = []
    for name in names:
        entry = {"name": name, "type": AXIS_TYPES.get(name, "space")}
        if name in units:
            entry["unit"] = units[name]
        out.append(entry)
    return out


def dataset(path: str, scale: Sequence[float], translation: Sequence[float] | None = None
            ) -> dict[str, Any]:
    """One level: its path and its scale (then translation) transformations."""
    transforms: list[dict[str, Any]] = [{"type": "scale", "scale": [float(s) for s in scale]}]
    if translation is not None:
        transforms.append({"type": "translation", "translation": [float(t) for t in translation]})
    return {"path": path, "coordinateTransformations": transforms}


def multiscales(version: str, *, name: str, axes: Sequence[Mapping[str, str]],
                scales: Sequence[Sequence[float]],
                translations: Sequence[Sequence[float] | None] | None = None,
                paths: Sequence[str] | None = None, type: str | None = None,
                metadata: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The ``multiscales`` list of one image: a dataset per level (paths "0", "1", ...)."""
    paths = [str(k) for k in range(len(scales))] if paths is None else list(paths)
    translations = [None] * len(scales) if translations is None else list(translations)
    if not (len(paths) == len(scales) == len(translations)) or not scales:
        raise ValueError("paths, scales and translations need one entry per level (at least one)")
    entry: dict[str, Any] = {
        "name": name, "axes": [dict(a) for a in axes],
        "datasets": [dataset(p, s, t) for p, s, t in zip(paths, scales, translations)],
    }
    if check_version(version) in LEGACY_VERSIONS:  # scales are implied by the level shapes
        names = "".join(a["name"] for a in axes)
        if version != "0.3" and names != "tczyx":
            raise ValueError(f"NGFF {version} images are 5D 'tczyx', not {names!r}")
        entry["datasets"] = [{"path": p} for p in paths]
        entry["axes"] = list(names)
        if version != "0.3":
            del entry["axes"]
    elif version.startswith("0.6"):  # RFC-5: a named system, each level's transform into it
        entry["coordinateSystems"] = [{"name": "physical", "axes": entry.pop("axes")}]
        for d in entry["datasets"]:
            trs = d["coordinateTransformations"]
            t = trs[0] if len(trs) == 1 else {"type": "sequence", "transformations": trs}
            d["coordinateTransformations"] = [{**t, "input": {"path": d["path"]},
                                               "output": {"name": "physical"}}]
    if type is not None:
        entry["type"] = type
    if metadata is not None:
        entry["metadata"] = dict(metadata)
    return [_versioned(version, entry)]


def channel(label: str, color: str, window: Mapping[str, float], *, active: bool = True,
            coefficient: float = 1.0, family: str = "linear", inverted: bool = False
            ) -> dict[str, Any]:
    """One omero channel; ``window`` has min, max, start and end."""
    return {"label": label, "color": color.lstrip("#").upper(), "active": active,
            "coefficient": coefficient, "family": family, "inverted": inverted,
            "window": {k: window[k] for k in ("min", "max", "start", "end")}}


def omero(version: str, *, name: str, channels: Sequence[Mapping[str, Any]], default_z: int = 0,
          default_t: int = 0, id: int = 1) -> dict[str, Any]:
    """The ``omero`` block (transitional in the spec, read by every viewer)."""
    return _versioned(version, {"id": id, "name": name, "channels": [dict(c) for c in channels],
                                "rdefs": {"defaultT": default_t, "defaultZ": default_z,
                                          "model": "color"}})


def labels(names: Sequence[str]) -> list[str]:
    """The ``labels`` list of an image's ``labels`` group."""
    return [str(n) for n in names]


def image_label(version: str, *, colors: Mapping[int, Sequence[int]] | None = None,
                properties: Sequence[Mapping[str, Any]] | None = None,
                source: str | None = "../../") -> dict[str, Any]:
    """The ``image-label`` block: RGBA per label value, per-value properties, the source image."""
    block = _versioned(version, {})  # 0.4: version first, as ome-zarr-py writes it
    if colors is not None:
        block["colors"] = [{"label-value": int(v), "rgba": [int(c) for c in rgba]}
                           for v, rgba in colors.items()]
    if properties is not None:
        block["properties"] = [dict(p) for p in properties]
    if source is not None:
        block["source"] = {"image": source}
    return block


def plate(version: str, *, name: str, rows: Sequence[str], columns: Sequence[str],
          wells: Sequence[tuple[int, int]], field_count: int | None = None,
          acquisitions: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The ``plate`` block: every row and column, wells as (row index, column index)."""
    block: dict[str, Any] = {
        "name": name,
        "rows": [{"name": r} for r in rows],
        "columns": [{"name": c} for c in columns],
        "wells": [{"path": f"{rows[r]}/{columns[c]}", "rowIndex": r, "columnIndex": c}
                  for r, c in wells],
    }
    if check_version(version) in LEGACY_VERSIONS:  # no indices before 0.4
        block["wells"] = [{"path": w["path"]} for w in block["wells"]]
    if field_count is not None:
        block["field_count"] = field_count
    if acquisitions:
        block["acquisitions"] = [dict(a) for a in acquisitions]
    return _versioned(version, block)


def well(version: str, images: Sequence[str | tuple[str, int | None]]) -> dict[str, Any]:
    """The ``well`` block: field paths, each optionally with its acquisition id."""
    entries = []
    for image in images:
        path, acquisition = (image, None) if isinstance(image, str) else image
        entry: dict[str, Any] = {"path": str(path)}
        if acquisition is not None:
            entry["acquisition"] = acquisition
        entries.append(entry)
    return _versioned(version, {"images": entries})


def scene(version: str, *, system: str, axes: Sequence[Mapping[str, str]],
          placements: Mapping[str, Mapping[str, Any]], member_system: str = "physical"
          ) -> dict[str, Any]:
    """The 0.6 ``scene`` block: one coordinate system and, per member path, the transform
    (a dict without input/output) from the member's ``member_system`` into it."""
    if not check_version(version).startswith("0.6"):
        raise ValueError(f"scenes exist from 0.6 on, not in {version}")
    return {"coordinateSystems": [{"name": system, "axes": [dict(a) for a in axes]}],
            "coordinateTransformations": [
                {**t, "input": {"path": path, "name": member_system},
                 "output": {"name": system}} for path, t in placements.items()]}


__all__ = ["AXIS_TYPES", "DEFAULT_UNITS", "axes", "channel", "check_version", "dataset",
           "image_label", "labels", "multiscales", "ome_attributes", "omero", "plate", "scene",
           "well"]
