"""Any zarr group that is not an NGFF image, label, well or plate.

Members come from metadata whenever the layout names them: a bioformats2raw root lists its
series in ``OME/`` (or numbers them 0, 1, ...), a labels group lists its labels. Other groups
(an NWB file through LINDI, say) are listed from consolidated metadata or from a store that
can list without network cost (refs, local folders); HTTP is never listed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from kit.errors import KitWarning, NotFound
from kit.io.arrays import CheckedArray, dask_array
from kit.ngff import LabelsMeta, SeriesMeta
from kit.nodes.base import Node, NodeMap, load_node, register

MAX_SERIES_PROBE = 10_000


@register
class Group(Node):
    """A generic group: ``members`` maps names to nodes (groups) and dask arrays (arrays).

    Also the node of the NGFF container kinds without behaviour of their own: ``labels``,
    ``bioformats2raw`` and ``series`` groups (``meta.kind`` says which).
    """

    kind = "group"
    parts = ("members",)

    @property
    def members(self) -> dict[str, Any]:
        return self._sync("members", self.amembers)

    async def amembers(self) -> dict[str, Any]:
        return await self._async("members", self._load_members)

    def __getitem__(self, name: str) -> Any:
        return self.members[name]

    async def aget(self, name: str) -> Any:
        """``group[name]`` for code on the kit loop."""
        return (await self.amembers())[name]

    def __contains__(self, name: object) -> bool:
        return name in self.members

    def __iter__(self) -> Iterator[str]:
        return iter(self.members)

    async def _load_members(self) -> dict[str, Any]:
        members: NodeMap[Any] = NodeMap(what="member", where=self.url)
        if self.meta.kind == "bioformats2raw":
            members.update(await self._series())
            return members
        meta = self.meta
        names = list(meta.labels if isinstance(meta, LabelsMeta) else
                     meta.series if isinstance(meta, SeriesMeta) else ())
        if not names:
            names = await self._listed_names()
        for name in names:
            member = await self._member(name)
            if member is not None:
                members[name] = member
        return members

    async def _series(self) -> dict[str, Any]:
        """bioformats2raw: series from OME/ metadata, else consecutively numbered groups."""
        try:
            ome = await load_node(self.location.child("OME"))
            names = list(ome.meta.series) if isinstance(ome.meta, SeriesMeta) else []
        except NotFound:
            names = []
        members = {}
        if names:
            for name in names:
                members[name] = await load_node(self.location.child(name))
            return members
        for i in range(MAX_SERIES_PROBE):
            try:
                members[str(i)] = await load_node(self.location.child(str(i)))
            except NotFound:
                break
        return members

    async def _listed_names(self) -> list[str]:
        store = self.location.store
        names = store.consolidated_children(self.path)
        if names is not None:
            return names
        if store.supports_listing:
            prefix = self.path + "/" if self.path else ""
            return sorted([n.rstrip("/") async for n in store.list_dir(prefix)
                           if not n.startswith((".", "zarr.json"))])
        warnings.warn(f"{self.url}: members of a non-NGFF group cannot be listed on this store "
                      "without consolidated metadata", KitWarning, stacklevel=3)
        return []

    async def _member(self, name: str) -> Any:
        loc = self.location.child(name)
        kind = await loc.node_type()
        if kind == "group":
            return await load_node(loc)
        if kind != "array":
            return None
        array = loc.array_from(await loc.array_metadata())
        return dask_array(CheckedArray(array, loc.where()), array.chunks,
                          (self.location.where(name), array.shape))

    def _summary(self) -> str:
        kind = self.meta.kind if self.meta.kind != "group" else "zarr"
        return f"{kind} group" + (f" (NGFF {self.version})" if self.version else "")
