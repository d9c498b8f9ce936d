"""Find the NGFF version of a group's attributes and the block that holds the OME keys.

0.5 keeps everything under `attributes["ome"]` with a mandatory `ome.version`; 0.1 to 0.4 put
the keys at the top level with per-block `version` keys (only SHOULD in 0.4), so a document
without any is read as 0.4 -- unless its multiscales have the pre-0.4 layout (no
coordinateTransformations; axes absent or plain name strings), which is read as 0.3/0.2 with a
warning. Every other version (future ones, garbage) is refused with UnsupportedVersion naming
the versions known, rather than misread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

from ._context import Ctx, is_numeric, short

#: 0.1-0.3: implied or name-only axes, no coordinateTransformations (see legacy.py).
LEGACY_VERSIONS = ("0.1", "0.2", "0.3")
#: Every 0.6 version string met in the wild, oldest first: the RFC-5 dialects read (v06.py).
V06_VERSIONS = ("0.6.dev1", "0.6.dev2", "0.6.dev3", "0.6.dev4", "0.6rc0", "0.6rc1", "0.6")
SUPPORTED_VERSIONS = LEGACY_VERSIONS + ("0.4", "0.5") + V06_VERSIONS

_DIALECTS = {
    "0.1": "0.1 (5D tczyx, no axes, no transforms)",
    "0.2": "0.2 (5D tczyx, no axes, no transforms)",
    "0.3": "0.3 (axes as names, no transforms)",
    "0.4": "0.4 (zarr v2, axes objects, scale/translation)",
    "0.5": "0.5 (zarr v3, 'ome' block)",
    "0.6.dev1": "0.6.dev1 (first RFC-5 draft, read as 0.6.dev2)",
    "0.6.dev2": "0.6.dev2 (RFC-5 draft: input/output strings, snake_case byDimension axes, "
                "scale/translation parameters may be arrays)",
    "0.6.dev3": "0.6.dev3 (RFC-5 draft: input/output strings, snake_case byDimension axes)",
    "0.6.dev4": "0.6.dev4 (RFC-5 draft: input/output objects)",
    "0.6rc0": "0.6rc0 (RFC-5: input/output objects, camelCase byDimension axes)",
    "0.6rc1": "0.6rc1 (RFC-5, as 0.6rc0)",
    "0.6": "0.6 (RFC-5)",
}


class NgffVersion(str):
    """The version string read (compares and prints as it), plus the dialect it was read in
    and what was normalised to read it into the one model."""

    dialect: str
    normalised: tuple[str, ...]

    def __new__(cls, version: str, normalised: tuple[str, ...] = ()) -> Self:
        self = super().__new__(cls, version)
        self.dialect = _DIALECTS.get(version, version)
        self.normalised = tuple(normalised)
        return self

    def __reduce__(self) -> tuple:
        return NgffVersion, (str(self), self.normalised)

#: Top-level keys that make a group an OME-NGFF node.
OME_KEYS = ("multiscales", "omero", "image-label", "labels", "plate", "well",
            "bioformats2raw.layout", "series", "scene")


def inner_versions(block: dict) -> Iterator[tuple[str, Any]]:
    """(field, value) of each per-block `version` key (0.4 style; tolerated in 0.5)."""
    for key in ("plate", "well", "image-label"):
        sub = block.get(key)
        if isinstance(sub, dict) and "version" in sub:
            yield f"{key}.version", sub["version"]
    multiscales = block.get("multiscales")
    if isinstance(multiscales, list):
        for i, ms in enumerate(multiscales):
            if isinstance(ms, dict) and "version" in ms:
                yield f"multiscales[{i}].version", ms["version"]


def check_version_value(ctx: Ctx, field: str, value: Any) -> str:
    """The version, a supported string. A JSON *number* (0.4 instead of "0.4", a common slip)
    is refused as one, so the message does not read "0.4 is not supported (only 0.4 ...)"."""
    if is_numeric(value):
        ctx.unsupported(field, f"NGFF version must be a string, got the number {short(value)} "
                               f"(write it in quotes, e.g. \"0.4\"); not supported as a number")
    if not isinstance(value, str) or value not in SUPPORTED_VERSIONS:
        ctx.unsupported(field, f"NGFF version {short(value)} is not supported "
                               f"(versions known: {', '.join(SUPPORTED_VERSIONS)})")
    return value


def detect_version(attrs: Any, ctx: Ctx) -> tuple[str | None, dict]:
    """Return (version or None if not OME at all, the block holding the OME keys).

    Sets `ctx.version` and `ctx.prefix` as a side effect so later messages name real fields.
    """
    if not isinstance(attrs, dict):
        ctx.error("attributes", f"must be an object, got {type(attrs).__name__}")
    if "ome" in attrs:
        return _detect_05(attrs["ome"], ctx)
    return _detect_04(attrs, ctx)


def _detect_05(ome: Any, ctx: Ctx) -> tuple[str | None, dict]:
    if not isinstance(ome, dict):
        ctx.error("ome", f"must be an object, got {type(ome).__name__}")
    ctx.prefix = "ome."
    inner = [(field, check_version_value(ctx, field, value))
             for field, value in inner_versions(ome)]
    if "version" in ome:
        version = check_version_value(ctx, "version", ome["version"])
        if version not in ("0.5",) + V06_VERSIONS:
            ctx.error("version",
                      f"{version!r} under 'ome': the 'ome' block exists only from 0.5 on")
    else:
        known = [k for k in OME_KEYS if k in ome]
        if any(v == "0.5" for _, v in inner):
            ctx.warn("version", "missing (MUST in 0.5); read as 0.5 from the inner version key")
        elif known == ["labels"]:
            # Real IDR 0.5 labels groups omit it (ome-ngff-validator#66).
            ctx.warn("version", "missing on a labels group (MUST in 0.5); read as 0.5")
        else:
            ctx.error("version", "missing: 0.5 metadata MUST carry ome.version")
        version = "0.5"
    ctx.version = version
    for field, value in inner:
        if value != version:
            ctx.warn(field, f"says {value!r} inside {version} metadata; read as {version}")
        elif version in V06_VERSIONS:
            ctx.normalise(field, "a per-block version key (removed in 0.6); ome.version used")
    if ctx.zarr_format == 2:
        ctx.warn("version", f"{version} metadata in a zarr v2 store ({version} requires zarr "
                            "v3); read anyway")
    return version, ome


def _detect_04(attrs: dict, ctx: Ctx) -> tuple[str | None, dict]:
    if not any(k in attrs for k in OME_KEYS):
        return None, attrs
    found: dict[str, str] = {}
    for field, value in inner_versions(attrs):
        found[field] = check_version_value(ctx, field, value)
    distinct = set(found.values())
    if len(distinct) > 1:
        listing = ", ".join(f"{k}={v!r}" for k, v in found.items())
        ctx.error(next(iter(found)), f"inconsistent versions in one document: {listing}")
    version = distinct.pop() if distinct else _unversioned(attrs, ctx)
    if version == "0.5":
        ctx.warn(next(iter(found)), "0.5 metadata without the 'ome' wrapper; read as 0.5")
    elif ctx.zarr_format == 3:
        ctx.warn("attributes", f"{version} metadata (no 'ome' block) in a zarr v3 store; "
                               f"read as {version}")
    ctx.version = version
    return version, attrs


def _unversioned(attrs: dict, ctx: Ctx) -> str:
    """No version key anywhere: 0.4, unless every multiscale has the pre-0.4 layout."""
    items = attrs.get("multiscales")
    if not isinstance(items, list) or not items:
        return "0.4"
    layouts = {_legacy_layout(ms) for ms in items}
    if len(layouts) != 1 or None in layouts:
        return "0.4"
    version = layouts.pop()
    assert version is not None
    ctx.warn("multiscales", f"no version key and no coordinateTransformations "
                            f"({'axes as names' if version == '0.3' else 'no axes'}): "
                            f"read as {version}")
    return version


def _legacy_layout(ms: Any) -> str | None:
    """"0.3" / "0.2" when a multiscale looks like that version's layout, else None."""
    if not isinstance(ms, dict) or not isinstance(ms.get("datasets"), list):
        return None
    if any(isinstance(d, dict) and "coordinateTransformations" in d for d in ms["datasets"]):
        return None
    axes = ms.get("axes")
    if axes is None:
        return "0.2"
    if isinstance(axes, list) and axes and all(isinstance(a, str) for a in axes):
        return "0.3"
    return None
