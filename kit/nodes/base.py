"""The node every OME-Zarr hierarchy member is: a location plus its parsed metadata.

Nodes are lazy: they hold metadata already read and load children or array metadata only
when asked, concurrently, through the store's cache. Every loader is a coroutine (the async
core, ``a*`` methods); the sync properties are a thin facade that returns what is cached, else
runs the coroutine on the kit's background loop (never ``asyncio.run`` in a notebook's
thread). Code already on the kit loop awaits the ``a*`` twins.

Node classes register themselves by kind (``register``); ``load_node`` looks the kind up, so
no node module imports another one to build its children.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Coroutine
from html import escape
from typing import Any, ClassVar, Self, TypeVar

from kit.errors import KitError, MemberNotFound, NotFound
from kit.io.location import GroupDoc, Location
from kit.io.loop import run_sync
from kit.ngff import NodeMeta, parse_attributes

T = TypeVar("T")
N = TypeVar("N", bound="type[Node]")

# The render layer installs the notebook card renderer here (nodes never import upward).
# It draws nodes, Tables and NodeMaps (labels, tables, wells, ...).
html_renderer: Callable[[Any], str] | None = None


def html_card(obj: Any) -> str:
    """``obj``'s notebook card from the installed renderer, else its escaped repr."""
    if html_renderer is None:
        return f"<pre>{escape(repr(obj))}</pre>"
    return html_renderer(obj)

#: Node class per metadata kind; kinds without one (labels, series, ...) are ``Group``s.
NODE_CLASSES: dict[str, type[Node]] = {}


def register(cls: N) -> N:
    """Class decorator: ``load_node`` builds ``cls`` for groups of ``cls.kind``."""
    NODE_CLASSES[cls.kind] = cls
    return cls


class NodeMap(dict[str, T]):
    """A node's mapping of names to members (labels, tables, wells, ...).

    A plain dict, except that a missing name is a ``MemberNotFound`` (a ``KeyError`` too)
    naming the key, the available names and where they were looked for.
    """

    def __init__(self, items: Any = (), *, what: str = "member", where: str | None = None):
        super().__init__(items)
        self.what = what
        self.where = where

    def __missing__(self, key: str) -> T:
        names = sorted(self)
        shown = f"{names}" if len(names) <= 20 else f"{names[:20]} and {len(names) - 20} more"
        raise MemberNotFound(f"no {self.what} {key!r} (available: {shown})", where=self.where)

    def _repr_html_(self) -> str:
        return html_card(self)


class Node:
    """Base of Plate, Well, Image, Label and Group."""

    kind: ClassVar[str] = "group"
    #: Lazily loaded parts ``prefetch`` knows: each has an ``a<name>()`` coroutine method.
    parts: ClassVar[tuple[str, ...]] = ()

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
        return html_card(self)

    # -- loading several parts at once -------------------------------------------------------
    def prefetch(self, *parts: str, skip_broken: bool = False) -> Self:
        """Load several lazy parts (e.g. ``"levels", "labels", "tables"``) in one batch.

        Their requests go out together, so this costs the round trips of the slowest part
        instead of their sum. With ``skip_broken`` a part whose metadata is broken (any kit
        error) is left empty instead of raising: a browser shows the image even when its
        labels group is damaged. Levels are never skipped. Returns the node.
        """
        run_sync(self.aprefetch(*parts, skip_broken=skip_broken))
        return self

    async def aprefetch(self, *parts: str, skip_broken: bool = False) -> Self:
        unknown = [p for p in parts if p not in self.parts]
        if unknown:
            raise ValueError(f"{type(self).__name__} has no part {unknown[0]!r} to prefetch "
                             f"(parts: {list(self.parts)})")
        results = await asyncio.gather(*(getattr(self, "a" + p)() for p in parts),
                                       return_exceptions=True)
        for part, result in zip(parts, results):
            if not isinstance(result, BaseException):
                continue
            if skip_broken and isinstance(result, KitError) and part != "levels":
                self._cache[part] = NodeMap(what=part.rstrip("s"), where=self.url)
                continue
            raise result
        return self

    def loaded(self, part: str) -> Any:
        """A part if it is already loaded, else None (never any I/O): for displays."""
        return self._cache.get(part)

    # -- lazy, cached loading ---------------------------------------------------------------
    def _sync(self, name: str, loader: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The sync facade: the cached value, else ``loader()`` run on the kit loop."""
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
    meta = group_meta(await location.group(), location.where())
    cls = NODE_CLASSES.get(meta.kind) or NODE_CLASSES["group"]
    return cls(location, meta)


def group_meta(doc: GroupDoc, where: str) -> NodeMeta:
    """``parse_attributes`` of a group's document, parsed once per distinct document.

    The wells and fields of a plate repeat the same few documents hundreds of times: a parse
    that warned about nothing names no place, so it stands for every equal document (each node
    still gets its own ``raw``: the document's fresh attributes, never a shared dict).
    """
    key = (doc.source, doc.zarr_format) if doc.source is not None else None
    known = _METAS.get(key) if key is not None else None
    if known is not None:
        meta, inner = known
        fresh = copy.copy(meta)
        object.__setattr__(fresh, "raw", doc.attributes[inner] if inner else doc.attributes)
        return fresh
    meta = parse_attributes(doc.attributes, zarr_format=doc.zarr_format, where=where)
    if key is not None and not meta.warnings and len(key[0]) <= _METAS_MAX_BYTES:
        part = _raw_part(meta.raw, doc.attributes)
        if part is not None:
            if len(_METAS) >= _METAS_MAX:
                _METAS.pop(next(iter(_METAS)))  # oldest first: a bounded memo
            _METAS[key] = (meta, part)
    return meta


def _raw_part(raw: dict, attributes: dict) -> str | None:
    """Which part of the attributes a parse kept as ``raw``: "" all, "ome" the 0.5+ block,
    None another (such a parse is not reused)."""
    if raw == attributes:
        return ""
    inner = attributes.get("ome")
    return "ome" if isinstance(inner, dict) and raw == inner else None


_METAS: dict[tuple[bytes, int], tuple[NodeMeta, str]] = {}
_METAS_MAX = 256
_METAS_MAX_BYTES = 1 << 16  # larger documents (a big plate's) are read once anyway


async def load_many(
    locations: dict[str, Location], *, skip_missing: bool = False
) -> dict[str, Node]:
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
