"""Consolidated metadata for a dataset that has none, built by following its NGFF documents.

A student's ``kit.open`` seeds its document cache from consolidated metadata (zarr v2: the
root ``.zmetadata``; zarr v3: ``consolidated_metadata`` inline in the root ``zarr.json``, the
format ``kit.consolidate`` writes), so with it the whole plate costs the root's round trip.
The relay builds that document once, in the background, from what the metadata names, never
by listing an HTTP server:

- a plate names its wells (and their row groups), a well its images, an image its levels,
  ``labels`` and ``tables`` (probed), a labels group its label images, a tables group its
  tables, a bioformats2raw root its series;
- an AnnData table is followed by its encoding (``obs``/``var``/``X``..., a dataframe's
  ``_index`` and ``column-order``, categorical, nullable and sparse parts); its ``dict``
  elements (``uns``, ``obsm``, ...) name no members, so they are listed only where the store
  can list (local, S3, refs) and otherwise left out (the kit never reads them).

A dataset that already has consolidated metadata is used as it is.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
from collections.abc import Awaitable, Callable

from kit.errors import InvalidMetadata, KitError
from kit.io.jsondoc import load_json
from kit.io.kitstore import join
from kit.io.location import Location

FetchJson = Callable[[str], Awaitable[dict | None]]
MAX_NODES = 100_000  # a hostile document cannot make the walk endless
V2_ZMETADATA = ".zmetadata"

ANNDATA_PARTS = ("X", "obs", "var", "raw")  # what names its own members
ANNDATA_DICTS = ("obsm", "varm", "obsp", "varp", "layers", "uns")  # members known by listing only
ENCODING_PARTS = {
    "anndata": ANNDATA_PARTS, "raw": ("X", "var"),
    "categorical": ("categories", "codes"),
    "nullable-integer": ("values", "mask"), "nullable-boolean": ("values", "mask"),
    "nullable-string-array": ("values", "mask"),
    "csr_matrix": ("data", "indices", "indptr"), "csc_matrix": ("data", "indices", "indptr"),
}


def fetch_json_from(get_bytes: Callable[[str], Awaitable[bytes | None]]) -> FetchJson:
    """A ``FetchJson`` over a bytes getter (the relay's coalesced, cached upstream)."""
    async def fetch(key: str) -> dict | None:
        raw = await get_bytes(key)
        if raw is None:
            return None
        try:
            doc = load_json(raw, where=key)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidMetadata("not valid JSON", where=key) from None
        return doc if isinstance(doc, dict) else None
    return fetch


async def build(fetch: FetchJson, location: Location | None = None,
                announce: Callable[[str], None] | None = None) -> tuple[str, bytes, int]:
    """(root key to answer, its bytes, documents in it): the upstream's own consolidated
    document when it has one, else one synthesised by ``Walk``. ``announce(key)`` is told the
    root key as soon as the zarr format is known (before the walk)."""
    v3, zgroup, zattrs, zmeta = await asyncio.gather(
        fetch("zarr.json"), fetch(".zgroup"), fetch(".zattrs"), fetch(V2_ZMETADATA))
    if announce is not None:
        announce("zarr.json" if v3 is not None else V2_ZMETADATA)
    if v3 is not None:
        inline = v3.get("consolidated_metadata")
        if isinstance(inline, dict) and isinstance(inline.get("metadata"), dict):
            return "zarr.json", json.dumps(v3).encode(), len(inline["metadata"])
        walk = Walk(fetch, 3, location)
        await walk.visit("")
        nodes = {k.removesuffix("/zarr.json"): d for k, d in walk.docs.items() if k != "zarr.json"}
        for doc in nodes.values():
            if doc.get("node_type") == "group":
                doc["consolidated_metadata"] = None
        ordered = dict(sorted(nodes.items(), key=lambda kv: (kv[0].count("/"), kv[0])))
        top = {**v3, "consolidated_metadata": {"kind": "inline", "must_understand": False,
                                               "metadata": ordered}}
        return "zarr.json", json.dumps(top).encode(), len(ordered)
    if zmeta is not None and isinstance(zmeta.get("metadata"), dict):
        return V2_ZMETADATA, json.dumps(zmeta).encode(), len(zmeta["metadata"])
    if zgroup is None and zattrs is None:
        raise KitError("no zarr group at the upstream's root (no zarr.json, .zgroup or .zattrs)")
    walk = Walk(fetch, 2, location)
    await walk.visit("")
    doc = {"zarr_consolidated_format": 1, "metadata": dict(sorted(walk.docs.items()))}
    return V2_ZMETADATA, json.dumps(doc).encode(), len(walk.docs)


class Walk:
    """Every metadata document the NGFF and AnnData metadata lead to, from the root down."""

    def __init__(self, fetch: FetchJson, zarr_format: int, location: Location | None) -> None:
        self.fetch, self.zarr_format, self.location = fetch, zarr_format, location
        self.docs: dict[str, dict] = {}  # relative key -> document
        self._seen: set[str] = set()

    async def visit(self, path: str, kind: str | None = None) -> None:
        """Record ``path``'s documents and walk on; ``kind`` ("array", "group") is what the
        parent's metadata says it is (zarr v2: the other kind's document is not asked for)."""
        if path in self._seen or len(self._seen) >= MAX_NODES:
            return
        self._seen.add(path)
        attrs = await self._group_attrs(path, kind)
        if attrs is None:
            return
        names, arrays = await self._children(path, attrs)
        await asyncio.gather(*(
            self.visit(child, "array" if name in arrays else None)
            for name, child in self._inside(path, names)))

    async def _group_attrs(self, path: str, kind: str | None = None) -> dict | None:
        """The group's attributes after recording its documents (None: an array, or nothing)."""
        if self.zarr_format == 3:
            doc = await self.fetch(join(path, "zarr.json"))
            if doc is None:
                return None
            self.docs[join(path, "zarr.json")] = doc
            attrs = doc.get("attributes")
            return (attrs if isinstance(attrs, dict) else {}) \
                if doc.get("node_type") == "group" else None
        names = (".zarray", ".zgroup", ".zattrs")
        skip = {"array": ".zgroup", "group": ".zarray"}.get(kind or "")
        found = await asyncio.gather(*(self._none() if n == skip else self.fetch(join(path, n))
                                       for n in names))
        for name, doc in zip(names, found, strict=True):
            if doc is not None:
                self.docs[join(path, name)] = doc
        zarray, zgroup, zattrs = found
        if zarray is not None or (zgroup is None and zattrs is None):
            return None
        return zattrs or {}

    @staticmethod
    async def _none() -> None:
        return None

    async def _children(self, path: str, attrs: dict) -> tuple[list[str], set[str]]:
        """(member names, those the metadata says are arrays: pyramid levels)."""
        a = {**attrs, **attrs["ome"]} if isinstance(attrs.get("ome"), dict) else attrs
        names: list[str] = []
        arrays: set[str] = set()
        plate, well = a.get("plate"), a.get("well")
        if isinstance(plate, dict):
            for w in _list(plate.get("wells")):
                p = w.get("path") if isinstance(w, dict) else None
                if isinstance(p, str):
                    names += [p.split("/")[0], p]
            names.append("tables")
        if isinstance(well, dict):
            names += [i["path"] for i in _list(well.get("images"))
                      if isinstance(i, dict) and isinstance(i.get("path"), str)]
            names.append("tables")
        for ms in _list(a.get("multiscales")):
            if isinstance(ms, dict):
                levels = [d["path"] for d in _list(ms.get("datasets"))
                          if isinstance(d, dict) and isinstance(d.get("path"), str)]
                names += [*levels, "labels", "tables"]
                arrays.update(levels)
        names += [n for n in _list(a.get("labels")) if isinstance(n, str)]
        names += [n for n in _list(a.get("tables")) if isinstance(n, str)]
        if "bioformats2raw.layout" in a:
            names += await self._series(path)
        encoding = a.get("encoding-type")
        names += list(ENCODING_PARTS.get(encoding, ())) if isinstance(encoding, str) else []
        if encoding == "dataframe":
            index = a.get("_index")
            names += ([index] if isinstance(index, str) else []) + [
                c for c in _list(a.get("column-order")) if isinstance(c, str)]
        if encoding == "anndata" and self._can_list():
            names += list(ANNDATA_DICTS)
        if encoding == "dict" or (not names and not a):
            names += await self._listed(path)
        return names, arrays

    def _can_list(self) -> bool:
        return self.location is not None and self.location.store.supports_listing

    async def _series(self, path: str) -> list[str]:
        """bioformats2raw: the OME group's ``series``, else 0, 1, ... up to the first gap."""
        ome = await self._ome_attrs(join(path, "OME"))
        series = [s for s in _list((ome or {}).get("series")) if isinstance(s, str)]
        if series:
            return ["OME", *series]
        found = []
        for i in range(1000):
            if await self._group_attrs(join(path, str(i))) is None:
                break
            found.append(str(i))
        return ["OME", *found]

    async def _ome_attrs(self, path: str) -> dict | None:
        attrs = await self._group_attrs(path)
        if attrs is not None and isinstance(attrs.get("ome"), dict):
            return {**attrs, **attrs["ome"]}
        return attrs

    async def _listed(self, path: str) -> list[str]:
        """Members by listing, only where the upstream store can list (never HTTP)."""
        if self.location is None or not self._can_list():
            return []
        key = self.location.key(path)
        prefix = key + "/" if key else ""
        try:
            return [name.rstrip("/") async for name in self.location.store.list_dir(prefix)
                    if not name.startswith(".") and name != "zarr.json"]
        except Exception:  # noqa: BLE001 - a listing is a bonus: without it the member is left out
            return []

    def _inside(self, path: str, names: list[str]) -> list[tuple[str, str]]:
        """(name, key below the root) of ``names``; a name that leaves the dataset is skipped."""
        out = []
        for name in dict.fromkeys(names):
            joined = posixpath.normpath(posixpath.join("/" + path, name)).lstrip("/")
            if name.startswith("/") or joined.startswith("..") or joined in ("", "."):
                continue
            out.append((name, joined))
        return out


def _list(value: object) -> list:
    return value if isinstance(value, list) else []
