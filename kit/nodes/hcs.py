"""High-content screening: plates and wells, walked from their metadata only.

A plate lists its wells and a well lists its fields, so a whole plate is three dependent
round trips (plate, all wells at once, all images at once) however many wells it has.
``amap_wells`` goes further for work that continues per well (thumbnails, statistics): each
well moves on to its own next step as soon as its answer arrives, with no wait for the others.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from kit.errors import KitWarning, NotFound
from kit.ngff import Plate as PlateMeta
from kit.nodes.base import Node, load_many, load_node
from kit.nodes.image import Image
from kit.nodes.table import Table, load_tables

T = TypeVar("T")


class Well(Node):
    """One well: its fields of view, as images keyed by their path ("0", "1", ...)."""

    kind = "well"

    @property
    def images(self) -> dict[str, Image]:
        return self._sync("images", self.aimages)

    async def aimages(self) -> dict[str, Image]:
        async def load() -> dict[str, Image]:
            paths = [im.path for im in self.meta.well.images]
            nodes = await load_many({p: self.location.child(p) for p in paths}, skip_missing=True)
            _warn_missing(self, paths, nodes, "field")
            return {k: v for k, v in nodes.items() if isinstance(v, Image)}

        return await self._async("images", load)

    def __getitem__(self, key: str) -> Image:
        """One field, loading only that field's metadata."""
        paths = [im.path for im in self.meta.well.images]
        if key not in paths:
            raise NotFound(f"no field {key!r} in this well (fields: {paths})", where=self.url)
        if "images" in self._cache:
            return self._cache["images"][key]
        return self._sync(f"image:{key}", lambda: load_node(self.location.child(key)))

    def _summary(self) -> str:
        return f"NGFF {self.version} well, {len(self.meta.well.images)} field(s)"


class Plate(Node):
    """An HCS plate: rows, columns, wells, fields, and plate-level tables."""

    kind = "plate"

    @property
    def plate(self) -> PlateMeta:
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

    @property
    def wells(self) -> dict[str, Well]:
        return self._sync("wells", self.awells)

    async def awells(self) -> dict[str, Well]:
        async def load() -> dict[str, Well]:
            paths = self.well_paths
            nodes = await load_many({p: self.location.child(p) for p in paths}, skip_missing=True)
            _warn_missing(self, paths, nodes, "well")
            return {k: v for k, v in nodes.items() if isinstance(v, Well)}

        return await self._async("wells", load)

    def images(self) -> dict[str, Image]:
        """Every field of every well, keyed "row/column/field"; wells load concurrently."""
        return self._sync("images", self.aimages)

    async def aimages(self) -> dict[str, Image]:
        async def load() -> dict[str, Image]:
            import asyncio

            wells = await self.awells()
            per_well = await asyncio.gather(*(w.aimages() for w in wells.values()))
            return {f"{wp}/{fp}": im for wp, images in zip(wells, per_well)
                    for fp, im in images.items()}

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
            self._cache["wells"] = {p: well for p, (well, _) in found.items()}
        return {p: value for p, (_, value) in found.items()}

    @property
    def tables(self) -> dict[str, Table]:
        return self._sync("tables", lambda: load_tables(self.location.child("tables"), owner=self))

    def well(self, path: str) -> Well:
        """One well, loading only that well's metadata."""
        if path not in self.well_paths:
            raise NotFound(f"no well {path!r} in this plate (wells: {self.well_paths})",
                           where=self.url)
        if "wells" in self._cache:
            if path not in self._cache["wells"]:
                raise NotFound(f"well {path!r} is listed but missing", where=self.url)
            return self._cache["wells"][path]
        return self._sync(f"well:{path}", lambda: load_node(self.location.child(path)))

    def __getitem__(self, key: str) -> Well | Image:
        parts = key.strip("/").split("/")
        well = self.well("/".join(parts[:2]))
        return well if len(parts) == 2 else well["/".join(parts[2:])]

    def _summary(self) -> str:
        return (f"NGFF {self.version} plate {len(self.rows)}x{len(self.columns)}, "
                f"{len(self.plate.wells)} well(s)")


def _warn_missing(node: Node, paths: list[str], found: dict, what: str) -> None:
    for p in paths:
        if p not in found:
            warnings.warn(f"{node.location.where(p)}: listed {what} is missing", KitWarning,
                          stacklevel=3)
