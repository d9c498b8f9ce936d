"""The node every OME-Zarr hierarchy member is: a location plus its parsed metadata.

Nodes are lazy: they hold metadata already read and load children or array metadata only
when asked, concurrently, through the store's cache. The sync properties run the async
loaders on the kit's background loop (never ``asyncio.run`` in a notebook's thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, TypeVar

from kit.errors import NotFound
from kit.io.location import Location
from kit.io.loop import run_sync
from kit.ngff import NodeMeta, parse_attributes

T = TypeVar("T")

# The render layer installs the notebook card renderer here (nodes never import upward).
html_renderer: Callable[[Node], str] | None = None


class Node:
    """Base of Plate, Well, Image, Label and Group."""

    kind: ClassVar[str] = "group"

    def __init__(self, location: Location, meta: NodeMeta):
        self.location = location
        self.meta = meta
        self._cache: dict[str, Any] = {}

    # -- identity ---------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.location.path

    @property
    def name(self) -> str:
        return self.location.name or self.location.store.where().rsplit("/", 1)[-1]

    @property
    def url(self) -> str:
        """Where this node lives, without credentials."""
        return self.location.where()

    @property
    def version(self) -> str | None:
        return self.meta.version

    @property
    def attrs(self) -> dict:
        return self.meta.raw

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url!r} {self._summary()}>"

    def _summary(self) -> str:
        return f"NGFF {self.version}" if self.version else "zarr group"

    def _repr_html_(self) -> str:
        if html_renderer is None:
            from html import escape

            return f"<pre>{escape(repr(self))}</pre>"
        return html_renderer(self)

    # -- lazy, cached loading ---------------------------------------------------------------
    def _sync(self, name: str, loader: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if name not in self._cache:
            self._cache[name] = run_sync(loader())
        return self._cache[name]

    async def _async(self, name: str, loader: Callable[[], Awaitable[T]]) -> T:
        if name not in self._cache:
            self._cache[name] = await loader()
        return self._cache[name]

    def __getstate__(self) -> dict:
        return self.__dict__.copy()


async def load_node(location: Location) -> Node:
    """Read the group at ``location`` and return the node its metadata says it is."""
    from kit.nodes.group import Group
    from kit.nodes.hcs import Plate, Well
    from kit.nodes.image import Image, Label

    doc = await location.group()
    meta = parse_attributes(doc.attributes, zarr_format=doc.zarr_format, where=location.where())
    cls = {"plate": Plate, "well": Well, "image": Image, "label": Label}.get(meta.kind, Group)
    return cls(location, meta)


async def load_many(locations: dict[str, Location], *, skip_missing: bool = False) -> dict[str, Node]:
    """Load several nodes concurrently; with ``skip_missing`` absent ones are left out."""
    results = await asyncio.gather(*(load_node(loc) for loc in locations.values()),
                                   return_exceptions=True)
    nodes: dict[str, Node] = {}
    for key, result in zip(locations, results):
        if isinstance(result, NotFound) and skip_missing:
            continue
        if isinstance(result, BaseException):
            raise result
        nodes[key] = result
    return nodes
