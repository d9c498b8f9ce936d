"""High-content screening: plates and wells, walked from their metadata only.

A plate lists its wells and a well lists its fields, so a whole plate is three dependent
round trips (plate, all wells at once, all images at once) however many wells it has.
``amap_wells`` goes further for work that continues per well (thumbnails, statistics): each
well moves on to its own next step as soon as its answer arrives, with no wait for the others.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from kit.errors import InvalidMetadata, KitWarning, MemberNotFound, NotFound
from kit.ngff import Plate as PlateBlock
from kit.ngff import PlateMeta, WellMeta
from kit.nodes.base import Node, NodeMap, load_many, load_node, register
from kit.nodes.image import Image
from kit.nodes.table import Table, load_tables

T = TypeVar("T")


@register
class Well(Node):
    """One well: its fields of view, as images keyed by their path ("0", "1", ...).

    ``"0" in well`` and ``iter(well)`` use the field paths the well's metadata lists.
    """

    kind = "well"
    parts = ("images",)
    meta: WellMeta

    @property
    def field_paths(self) -> list[str]:
        return [im.path for im in self.meta.well.images]

    def __contains__(self, key: object) -> bool:
        return key in self.field_paths

    def __iter__(self) -> Iterator[str]:
        return iter(self.field_paths)

    @property
    def images(self) -> dict[str, Image]:
        return self._sync("images", self.aimages)

    async def aimages(self) -> dict[str, Image]:
        async def load() -> dict[str, Image]:
            paths = self.field_paths
            nodes = await load_many({p: self.location.child(p) for p in paths}, skip_missing=True)
            _warn_missing(self, paths, nodes, "field")
            return NodeMap({k: v for k, v in nodes.items() if isinstance(v, Image)},
                           what="field", where=self.url)

        return await self._async("images", load)

    def __getitem__(self, key: str) -> Image:
        """One field, loading only that field's metadata."""
        if "images" in self._cache or not isinstance(key, str) or key not in self.field_paths:
            return self._field(key, self._cache.get("images"))
        return self._sync(f"image:{key}", lambda: self.aimage(key))

    async def aimage(self, key: str) -> Image:
        """One field (the async twin of ``well[key]``)."""
        if "images" in self._cache or not isinstance(key, str) or key not in self.field_paths:
            return self._field(key, self._cache.get("images"))
        return await self._async(f"image:{key}", lambda: self._load_field(key))

    def _field(self, key: Any, loaded: dict[str, Image] | None) -> Image:
        _check_key(key, "field", "'0'")
        if key not in self.field_paths:
            raise MemberNotFound(f"no field {key!r} in this well (fields: {self.field_paths})",
                                 where=self.url)
        assert loaded is not None
        if key not in loaded:
            raise MemberNotFound(f"field {key!r} is listed but missing", where=self.url)
        return loaded[key]

    async def _load_field(self, key: str) -> Image:
        node = await load_node(self.location.child(key))
        if not isinstance(node, Image):
            raise InvalidMetadata(f"field {key!r} is a {node.kind}, not an image", where=node.url)
        return node

    def _summary(self) -> str:
        return f"NGFF {self.version} well, {len(self.meta.well.images)} field(s)"


@register
class Plate(Node):
    """An HCS plate: rows, columns, wells, fields, and plate-level tables.

    ``plate["B/03"]`` is a well, ``plate["B/03/0"]`` a field; ``"B/03" in plate`` and
    ``iter(plate)`` use the well paths the plate's metadata lists.
    """

    kind = "plate"
    parts = ("wells", "images", "tables")
    meta: PlateMeta

    @property
    def plate(self) -> PlateBlock:
        return self.meta.plate

    @property
    def rows(self) -> list[str]:
        return list(self.plate.rows)

    @property
    def columns(self) -> list[str]:
        return list(self.plate.columns)

    @property
    def well_paths(self) -> list[str]:
        return [w.path for w in self.plate.wells]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.strip("/") in self.well_paths

    def __iter__(self) -> Iterator[str]:
        return iter(self.well_paths)

    @property
    def wells(self) -> dict[str, Well]:
        return self._sync("wells", self.awells)

    async def awells(self) -> dict[str, Well]:
        async def load() -> dict[str, Well]:
            paths = self.well_paths
            nodes = await load_many({p: self.location.child(p) for p in paths}, skip_missing=True)
            _warn_missing(self, paths, nodes, "well")
            return NodeMap({k: v for k, v in nodes.items() if isinstance(v, Well)},
                           what="well", where=self.url)

        return await self._async("wells", load)

    def images(self) -> dict[str, Image]:
        """Every field of every well, keyed "row/column/field"; wells load concurrently."""
        return self._sync("images", self.aimages)

    async def aimages(self) -> dict[str, Image]:
        async def load() -> dict[str, Image]:
            wells = await self.awells()
            per_well = await asyncio.gather(*(w.aimages() for w in wells.values()))
            return NodeMap({f"{wp}/{fp}": im for wp, images in zip(wells, per_well)
                            for fp, im in images.items()}, what="field", where=self.url)

        return await self._async("images", load)

    async def amap_wells(self, fn: Callable[[str, dict[str, Image]], Awaitable[T]]
                         ) -> dict[str, T]:
        """``await fn(well_path, fields)`` for every well, each as soon as its fields are loaded.

        No well waits for another: the chain well -> fields -> ``fn`` runs per well, so the
        client's work on early answers overlaps the wait for late ones. Missing wells and
        fields are skipped with a warning, as in ``wells`` and ``images``.
        """
        known = self._cache.get("wells")

        async def one(path: str) -> tuple[Well, T] | None:
            if known is not None:
                well = known.get(path)
            else:
                try:
                    well = await load_node(self.location.child(path))
                except NotFound:
                    return None
            if not isinstance(well, Well):
                return None
            return well, await fn(path, await well.aimages())

        paths = self.well_paths
        results = await asyncio.gather(*(one(p) for p in paths))
        found = {p: r for p, r in zip(paths, results) if r is not None}
        if known is None:
            _warn_missing(self, paths, found, "well")
            self._cache["wells"] = NodeMap({p: well for p, (well, _) in found.items()},
                                           what="well", where=self.url)
        return {p: value for p, (_, value) in found.items()}

    @property
    def tables(self) -> dict[str, Table]:
        """The plate-level tables of ``tables/``, by name ({} when there is none)."""
        return self._sync("tables", self.atables)

    async def atables(self) -> dict[str, Table]:
        return await self._async("tables", lambda: load_tables(self.location.child("tables"),
                                                               owner=self))

    def well(self, path: str) -> Well:
        """One well, loading only that well's metadata."""
        if "wells" in self._cache or not isinstance(path, str) or path not in self.well_paths:
            return self._known_well(path)
        return self._sync(f"well:{path}", lambda: self.awell(path))

    async def awell(self, path: str) -> Well:
        """One well (the async twin of ``plate.well(path)``)."""
        if "wells" in self._cache or not isinstance(path, str) or path not in self.well_paths:
            return self._known_well(path)
        return await self._async(f"well:{path}", lambda: self._load_well(path))

    def _known_well(self, path: Any) -> Well:
        _check_key(path, "well", "'B/03'")
        if path not in self.well_paths:
            raise MemberNotFound(f"no well {path!r} in this plate (wells: {self.well_paths})",
                                 where=self.url)
        wells = self._cache["wells"]
        if path not in wells:
            raise MemberNotFound(f"well {path!r} is listed but missing", where=self.url)
        return wells[path]

    async def _load_well(self, path: str) -> Well:
        node = await load_node(self.location.child(path))
        if not isinstance(node, Well):
            raise InvalidMetadata(f"well {path!r} is a {node.kind}, not a well", where=node.url)
        return node

    def __getitem__(self, key: str) -> Well | Image:
        well_path, field = self._split(key)
        well = self.well(well_path)
        return well if field is None else well[field]

    async def aget(self, key: str) -> Well | Image:
        """``plate[key]`` for code on the kit loop."""
        well_path, field = self._split(key)
        well = await self.awell(well_path)
        return well if field is None else await well.aimage(field)

    def _split(self, key: Any) -> tuple[str, str | None]:
        _check_key(key, "plate", "'B/03' (a well) or 'B/03/0' (a field)")
        parts = key.strip("/").split("/")
        return "/".join(parts[:2]), ("/".join(parts[2:]) if len(parts) > 2 else None)

    def _summary(self) -> str:
        return (f"NGFF {self.version} plate {len(self.rows)}x{len(self.columns)}, "
                f"{len(self.plate.wells)} well(s)")


def _check_key(key: Any, what: str, example: str) -> None:
    if not isinstance(key, str):
        raise TypeError(f"{what} keys are path strings such as {example}, not "
                        f"{type(key).__name__} {key!r}")


def _warn_missing(node: Node, paths: list[str], found: dict, what: str) -> None:
    for p in paths:
        if p not in found:
            warnings.warn(f"{node.location.where(p)}: listed {what} is missing", KitWarning,
                          stacklevel=3)
