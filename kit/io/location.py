"""A place in a store: reads group attributes and opens arrays from metadata documents only.

Nothing here lists a directory. The root open fetches the four candidate documents of both
zarr formats at once (one round trip), pins the format, and seeds the cache from consolidated
metadata when the root has it; every later open then costs one document (or none).
"""

from __future__ import annotations

import asyncio
import copy
import json
import posixpath
import warnings
from dataclasses import dataclass, field

import zarr
from zarr.core.array import AsyncArray
from zarr.core.metadata import ArrayV2Metadata, ArrayV3Metadata
from zarr.storage import StorePath

from kit.errors import InvalidMetadata, KitWarning, NotFound, UnsupportedVersion
from kit.io.kitstore import KitStore, join


def _unconsolidated(groups: set[str], paths: set[str]) -> list[str]:
    """The ``groups`` no path of ``paths`` lies below: a consolidated document holds their own
    documents but none of their members', so zarr-python reads those members from the store
    (a lazy group: the classroom relay's tables), and so does the kit."""
    parents = {p.rsplit("/", n)[0] for p in paths for n in range(1, p.count("/") + 1)}
    return sorted(groups - parents)


def _lazy_v3(metadata: dict) -> list[str]:
    """Groups without members and ``consolidated_metadata: null`` (explicit ``{}``: empty)."""
    groups = {p for p, d in metadata.items() if isinstance(d, dict)
              and d.get("node_type") == "group" and d.get("consolidated_metadata") is None}
    return _unconsolidated(groups, set(metadata))


def _lazy_v2(metadata: dict) -> list[str]:
    """Groups (a ``.zgroup``) without any member's document (v2 has no empty marker)."""
    groups = {k.rpartition("/")[0] for k in metadata if k.endswith("/.zgroup")}
    return _unconsolidated(groups, {k.rpartition("/")[0] for k in metadata})


@dataclass(frozen=True)
class GroupDoc:
    """What a group's metadata says: its attributes and the zarr format it is stored in.

    ``source`` is the document the attributes were parsed from (None when they came from
    several, or from consolidated metadata): equal sources mean equal attributes, so a parse of
    them can be reused (the fields of a plate share one ``.zattrs``)."""

    attributes: dict
    zarr_format: int
    source: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Location:
    """A path inside a ``KitStore``. Cheap to create, picklable, compared by value."""

    store: KitStore
    path: str = ""

    def child(self, relative: str) -> Location:
        """The location ``relative`` to this one; ``..`` is allowed (label ``source`` paths)."""
        joined = posixpath.normpath(posixpath.join("/" + self.path, relative)).lstrip("/")
        if joined.startswith(".."):
            raise InvalidMetadata(f"path {relative!r} leaves the dataset", where=self.where())
        return Location(self.store, "" if joined == "." else joined)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] if self.path else ""

    def key(self, name: str) -> str:
        return join(self.path, name)

    def where(self, name: str = "") -> str:
        return self.store.where(self.key(name) if name else self.path)

    async def json(self, name: str) -> dict | None:
        return await self.store.get_json(self.key(name))

    async def group(self) -> GroupDoc:
        """The group at this location; pins the store's zarr format on first use."""
        fmt = self.store.zarr_format
        if fmt == 3:
            key = self.key("zarr.json")
            raw = await self.store.get_document(key)
            if raw is None:
                raise NotFound("no zarr group here (zarr.json is missing)", where=self.where())
            return _v3_group(self.store.parse_json(key, raw), self.where("zarr.json"), raw)
        if fmt == 2:
            key = self.key(".zattrs")
            raw = await self.store.get_document(key)
            if raw is None:
                if await self.json(".zgroup") is None:
                    raise NotFound("no zarr group here (.zattrs and .zgroup are missing)",
                                   where=self.where())
                return GroupDoc({}, 2)
            return GroupDoc(self.store.parse_json(key, raw), 2, raw)
        return await self._probe_root()

    async def _probe_root(self) -> GroupDoc:
        v3, attrs, zgroup, consolidated = await asyncio.gather(
            self.json("zarr.json"), self.json(".zattrs"), self.json(".zgroup"),
            self.json(".zmetadata"),
        )
        if v3 is not None:
            group = _v3_group(v3, self.where("zarr.json"))
            self.store.zarr_format = 3
            inline = v3.get("consolidated_metadata")
            if isinstance(inline, dict) and isinstance(inline.get("metadata"), dict):
                self.store.seed(
                    {join(self.path, p, "zarr.json"): json.dumps(d).encode()
                     for p, d in inline["metadata"].items()},
                    root=self.path, lazy=_lazy_v3(inline["metadata"]),
                )
            return group
        if attrs is None and zgroup is None and consolidated is None:
            raise NotFound(
                "nothing readable here: no zarr.json, .zattrs or .zgroup "
                "(is this the root of a zarr/OME-Zarr dataset?)",
                where=self.where(),
            )
        if zgroup is not None and zgroup.get("zarr_format", 2) != 2:
            raise UnsupportedVersion(
                f"zarr_format {zgroup.get('zarr_format')!r} in .zgroup", where=self.where(".zgroup")
            )
        self.store.zarr_format = 2
        if consolidated is not None:
            meta = consolidated.get("metadata")
            if not isinstance(meta, dict):
                raise InvalidMetadata("consolidated metadata has no 'metadata' object",
                                      where=self.where(".zmetadata"))
            self.store.seed(
                {join(self.path, k): json.dumps(v).encode() for k, v in meta.items()},
                root=self.path, lazy=_lazy_v2(meta),
            )
            attrs = meta.get(".zattrs", attrs)
        return GroupDoc(attrs or {}, 2)

    async def node_type(self) -> str | None:
        """"group", "array", or None when nothing is stored here."""
        if self.store.zarr_format == 3:
            doc = await self.json("zarr.json")
            return doc.get("node_type") if doc else None
        zarray, zgroup, zattrs = await asyncio.gather(
            self.json(".zarray"), self.json(".zgroup"), self.json(".zattrs"))
        if zarray is not None:
            return "array"
        return "group" if zgroup is not None or zattrs is not None else None

    async def array_metadata(self, *, attributes: bool = True) -> ArrayV2Metadata | ArrayV3Metadata:
        """The array at this location, from its metadata document(s)."""
        if self.store.zarr_format == 3:
            doc = await self.json("zarr.json")
            if doc is None:
                raise NotFound("array is missing (no zarr.json)", where=self.where())
            if doc.get("node_type") != "array":
                raise InvalidMetadata(
                    f"expected an array, found node_type {doc.get('node_type')!r}",
                    where=self.where("zarr.json"))
            return _parse(ArrayV3Metadata, doc, self.where("zarr.json"))
        if attributes:
            zarray, zattrs = await asyncio.gather(self.json(".zarray"), self.json(".zattrs"))
        else:
            zarray, zattrs = await self.json(".zarray"), None
        if zarray is None:
            raise NotFound("array is missing (no .zarray)", where=self.where())
        return _parse(ArrayV2Metadata, {**zarray, "attributes": zattrs or {}},
                      self.where(".zarray"))

    async def open_array(self, *, attributes: bool = True) -> zarr.Array:
        """A zarr array built from already-fetched metadata: no probing, no listing."""
        return zarr.Array(self.array_from(await self.array_metadata(attributes=attributes)))

    def array_from(self, metadata: ArrayV2Metadata | ArrayV3Metadata) -> AsyncArray:
        """The async zarr array at this location with ``metadata`` (no request).

        The fields of a plate share one parsed metadata object (``_parse``), so they share
        the array zarr built for the first of them too, placed at their own path: zarr's
        codec pipeline is made once, not per field.
        """
        store_path = StorePath(self.store, self.path)
        made = self.store.arrays
        known = made.get(id(metadata))
        if known is None or known[0] is not metadata:
            array: AsyncArray = AsyncArray(metadata=metadata, store_path=store_path)
            if len(made) >= _ARRAYS_MAX:
                made.pop(next(iter(made)))  # oldest first: bounded per store
            made[id(metadata)] = (metadata, array)
            return array
        array = copy.copy(known[1])
        object.__setattr__(array, "store_path", store_path)  # a frozen dataclass
        return array


def _v3_group(doc: dict, where: str, source: bytes | None = None) -> GroupDoc:
    if doc.get("zarr_format") != 3:
        raise UnsupportedVersion(f"zarr_format {doc.get('zarr_format')!r} in zarr.json",
                                 where=where)
    if doc.get("node_type") != "group":
        raise InvalidMetadata(f"expected a group, found node_type {doc.get('node_type')!r}",
                              where=where)
    attrs = doc.get("attributes", {})
    if not isinstance(attrs, dict):
        raise InvalidMetadata("'attributes' is not an object", where=where)
    return GroupDoc(attrs, 3, source)


def _parse(cls, doc: dict, where: str):
    """``cls.from_dict(doc)`` with zarr's errors as InvalidMetadata and its warnings as one
    KitWarning naming the array (zarr's own warnings name neither the array nor the kit).

    The fields of a plate share one array document: a parsed document is reused (zarr's
    metadata objects are frozen), which spares zarr's dtype and codec parsing per field."""
    try:
        text = json.dumps(doc, sort_keys=True)
    except (TypeError, ValueError):
        text = None
    cached = _PARSED.get((cls, text)) if text is not None else None
    if cached is None:
        cached = _parse_new(cls, doc, where)
        if text is not None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.pop(next(iter(_PARSED)))  # oldest first: a bounded memo
            _PARSED[(cls, text)] = cached
    metadata, said = cached
    if said:
        warnings.warn(f"{where}: array metadata read with warnings: {said}", KitWarning,
                      stacklevel=2)
    return metadata


_PARSED: dict[tuple[type, str], tuple[object, str]] = {}
_PARSED_MAX = 256
_ARRAYS_MAX = 256  # zarr arrays kept per store as templates (``Location.array_from``)


def _parse_new(cls, doc: dict, where: str) -> tuple[object, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            metadata = cls.from_dict(doc)
        except Exception as exc:  # noqa: BLE001 - zarr raises many types for bad metadata
            raise InvalidMetadata(f"invalid array metadata: {exc}", where=where) from None
    return metadata, "; ".join(dict.fromkeys(str(w.message) for w in caught))
