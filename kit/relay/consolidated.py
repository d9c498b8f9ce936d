"""Consolidated metadata for a dataset that has none, built by following its NGFF documents.

A student's ``kit.open`` seeds its document cache from consolidated metadata (zarr v2: the
root ``.zmetadata``; zarr v3: ``consolidated_metadata`` inline in the root ``zarr.json``, the
format ``kit.consolidate`` writes), so with it the whole plate costs the root's round trip.
The relay builds that document once, in the background, from what the metadata names, never
by listing an HTTP server, and reads only what a student's kit reads there:

- a plate names its wells (and their row groups) and a ``tables`` group (probed), a well its
  images, an image its levels, ``labels`` and ``tables`` (probed), a labels group its label
  images, a tables group its tables, a bioformats2raw root its series;
- zarr v2: a group's ``.zattrs`` (its ``.zgroup``, which holds nothing but the format, is
  written alongside, or read when there is no ``.zattrs``), a pyramid level's ``.zarray`` (the
  kit reads levels without their attributes); zarr v3: each node's ``zarr.json``;
- the walk stops at each table (and at any AnnData element): its own group documents are in,
  its members (an AnnData table's columns: two documents each, most of a plate's documents)
  are not (the walk of the classroom plate costs 184 upstream requests instead of 1403, and
  the root document a student downloads stays small). Such a group is in the document with
  no member, and in zarr v3 with ``consolidated_metadata: null`` (every other group has an
  explicit, empty one): the way zarr-python itself reads a group whose members the document
  leaves out, from the store, when asked by name (``root["B/03/0/tables/t"]["obs"]``). The
  kit reads it the same way (``kit.io.location``), so a student's kit reads a table's members
  from the relay when the table is read (coalesced, cached). No kit-only key: any zarr
  reader sees a standard document. Listing a table's members (``keys()``) needs a store that
  lists, which HTTP is not; naming them (AnnData's ``obs``, ``X``, ...) works.

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

ARRAY, GROUP, TABLE = "array", "group", "table"  # what a parent's metadata says a member is
V2_ZGROUP = {"zarr_format": 2}  # a zarr v2 group's .zgroup: nothing but the format


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
        for path, doc in nodes.items():
            if doc.get("node_type") == "group":  # null: members not in here, read the store
                doc["consolidated_metadata"] = None if path in walk.lazy else _inline({})
        ordered = dict(sorted(nodes.items(), key=lambda kv: (kv[0].count("/"), kv[0])))
        inline = _inline(ordered)
        top = {**v3, "consolidated_metadata": inline}
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
    """The metadata documents a student's kit reads, from the root down (``visit("")``)."""

    def __init__(self, fetch: FetchJson, zarr_format: int, location: Location | None) -> None:
        self.fetch, self.zarr_format, self.location = fetch, zarr_format, location
        self.docs: dict[str, dict] = {}  # relative key -> document
        self.lazy: set[str] = set()  # groups whose members are left out (tables)
        self._seen: set[str] = set()

    async def visit(self, path: str, kind: str | None = None) -> None:
        """Record ``path``'s documents and walk on; ``kind`` is what the parent's metadata says
        it is: ``ARRAY``, ``GROUP``, ``TABLE`` (recorded, its members left out) or None."""
        if path in self._seen or len(self._seen) >= MAX_NODES:
            return
        self._seen.add(path)
        attrs = await self._group_attrs(path, kind)
        if attrs is None:
            return
        a = {**attrs, **attrs["ome"]} if isinstance(attrs.get("ome"), dict) else attrs
        if kind == TABLE or "encoding-type" in a:
            self.lazy.add(path)
            return
        await asyncio.gather(*(self.visit(child, child_kind)
                               for child, child_kind in self._inside(path, await
                                                                     self._children(path, a))))

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
        if kind == ARRAY:
            zarray = await self.fetch(join(path, ".zarray"))
            if zarray is not None:
                self.docs[join(path, ".zarray")] = zarray
            return None
        if kind is not None:  # a group the metadata names: what the kit's Location.group reads
            zattrs = await self.fetch(join(path, ".zattrs"))
            zgroup = V2_ZGROUP if zattrs is not None else await self.fetch(join(path, ".zgroup"))
            if zgroup is None:
                return None
            self._record(path, (".zgroup", zgroup), (".zattrs", zattrs))
            return zattrs or {}
        names = (".zarray", ".zgroup", ".zattrs")
        found = await asyncio.gather(*(self.fetch(join(path, n)) for n in names))
        self._record(path, *zip(names, found, strict=True))
        zarray, zgroup, zattrs = found
        if zarray is not None or (zgroup is None and zattrs is None):
            return None
        return zattrs or {}

    def _record(self, path: str, *docs: tuple[str, dict | None]) -> None:
        for name, doc in docs:
            if doc is not None:
                self.docs[join(path, name)] = doc

    async def _children(self, path: str, a: dict) -> list[tuple[str, str | None]]:
        """(member name, its kind) of the group at ``path`` with (``ome``-merged) attrs ``a``."""
        names: list[tuple[str, str | None]] = []
        plate, well = a.get("plate"), a.get("well")
        if isinstance(plate, dict):
            for w in _list(plate.get("wells")):
                p = w.get("path") if isinstance(w, dict) else None
                if isinstance(p, str):
                    names += [(p.split("/")[0], GROUP), (p, GROUP)]
            names.append(("tables", GROUP))
        if isinstance(well, dict):
            names += [(i["path"], GROUP) for i in _list(well.get("images"))
                      if isinstance(i, dict) and isinstance(i.get("path"), str)]
            names.append(("tables", GROUP))
        for ms in _list(a.get("multiscales")):
            if isinstance(ms, dict):
                names += [(d["path"], ARRAY) for d in _list(ms.get("datasets"))
                          if isinstance(d, dict) and isinstance(d.get("path"), str)]
                if "image-label" not in a:  # a label image has no labels or tables of its own
                    names += [("labels", GROUP), ("tables", GROUP)]
        names += [(n, GROUP) for n in _list(a.get("labels")) if isinstance(n, str)]
        names += [(n, TABLE) for n in _list(a.get("tables")) if isinstance(n, str)]
        if "bioformats2raw.layout" in a:
            names += [(n, GROUP) for n in await self._series(path)]
        if not names and not a:
            names += [(n, None) for n in await self._listed(path)]
        return names

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

    def _inside(self, path: str, names: list[tuple[str, str | None]]
                ) -> list[tuple[str, str | None]]:
        """(key below the root, kind) of ``names``; a name that leaves the dataset is skipped."""
        out = []
        for name, kind in dict.fromkeys(names):
            joined = posixpath.normpath(posixpath.join("/" + path, name)).lstrip("/")
            if name.startswith("/") or joined.startswith("..") or joined in ("", "."):
                continue
            out.append((joined, kind))
        return out


def _inline(metadata: dict) -> dict:
    return {"kind": "inline", "must_understand": False, "metadata": metadata}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []
