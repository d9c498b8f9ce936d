"""Tables listed by a ``tables`` group (Fractal/ngio), found from metadata alone.

This module knows a table's kind, region and backend from its group attributes; the reader
that turns the data into pandas is found by backend name in ``TABLE_BACKENDS``
(``kit.nodes.table_backends``). ``node.tables.to_pandas()`` reads every table of a group at
once: their requests go out together, so four tables cost the round trips of one.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import TYPE_CHECKING, Any

from kit.errors import InvalidMetadata, KitWarning, NotFound
from kit.io.location import Location
from kit.io.loop import run_sync
from kit.nodes.base import Node, NodeMap, html_card, load_node
from kit.nodes.table_backends import TABLE_BACKENDS

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("roi_table", "masking_roi_table", "feature_table", "condition_table", "generic_table")


class Table:
    """One table: its name, kind, the label it refers to, and how it is stored."""

    def __init__(self, location: Location, name: str, attributes: dict, zarr_format: int,
                 owner: Any = None, *, missing: bool = False):
        self.location = location
        self.missing = missing
        self.name = name
        self.attrs = attributes
        self.zarr_format = zarr_format
        self.owner = owner

    @property
    def kind(self) -> str:
        kind = self.attrs.get("type")
        return kind if kind in KINDS else "generic_table"

    @property
    def backend(self) -> str:
        """The canonical backend name (``anndata_v1`` and ngio's other spellings resolved)."""
        return TABLE_BACKENDS.canonical(self.attrs.get("backend") or "anndata")

    @property
    def region(self) -> str | None:
        """Relative path of the label a masking ROI or feature table describes."""
        region = self.attrs.get("region")
        return region.get("path") if isinstance(region, dict) else None

    @property
    def label(self) -> Node | None:
        """The ``Label`` node ``region`` points to (masking ROI and feature tables), else None.

        An image's own label node is reused, so its cached metadata is shared.
        """
        if self.region is None:
            return None
        return run_sync(self.alabel())

    async def alabel(self) -> Node | None:
        if self.region is None:
            return None
        # Resolved like a relative URL from the table group: "../labels/x" from tables/<name>
        # is the owner's labels/x (Fractal and ngio write it so).
        target = self.location.child("..").child(self.region)
        own_labels = getattr(self.owner, "alabels", None)
        if own_labels is not None:
            for node in (await own_labels()).values():
                if node.location == target:
                    return node
        node = await load_node(target)
        if node.kind != "label":
            raise InvalidMetadata(f"region {self.region!r} of table {self.name!r} is not a label "
                                  f"image", where=target.where())
        return node

    @property
    def index_key(self) -> str | None:
        return self.attrs.get("index_key") or self.attrs.get("instance_key")

    @property
    def index_type(self) -> str | None:
        return self.attrs.get("index_type")

    @property
    def url(self) -> str:
        return self.location.where()

    def to_pandas(self) -> pd.DataFrame:
        """The table as a pandas DataFrame (index named by the table's index key)."""
        return run_sync(self.ato_pandas())

    async def ato_pandas(self) -> pd.DataFrame:
        if self.missing:
            raise NotFound(f"table {self.name!r} is listed by its tables group but does not exist",
                           where=self.url)
        return await TABLE_BACKENDS.reader(self.backend, where=self.url)(self)

    def __repr__(self) -> str:
        region = f" region={self.region!r}" if self.region else ""
        return f"<Table {self.name!r} {self.kind} backend={self.backend}{region}>"

    def _repr_html_(self) -> str:
        return html_card(self)


class Tables(NodeMap[Table]):
    """The tables of one ``tables`` group, by name; ``to_pandas()`` reads them all at once."""

    def to_pandas(self) -> dict[str, pd.DataFrame]:
        """Every table as a DataFrame, by name, read concurrently: the way to read them all.

        A table listed but missing is an error, as with ``Table.to_pandas``.
        """
        return run_sync(self.ato_pandas())

    async def ato_pandas(self) -> dict[str, pd.DataFrame]:
        tasks = [asyncio.ensure_future(t.ato_pandas()) for t in self.values()]
        try:
            frames = await asyncio.gather(*tasks)
        except BaseException:  # the first failure is the answer: stop reading the others
            for task in tasks:
                task.cancel()
            raise
        return dict(zip(self, frames))


async def load_tables(location: Location, *, owner: Any = None) -> Tables:
    """The tables listed at ``location`` (a ``tables`` group); empty when there is none."""
    tables = Tables(what="table", where=location.where())
    try:
        doc = await location.group()
    except NotFound:
        return tables
    attrs = doc.attributes.get("ome", doc.attributes) if doc.zarr_format == 3 else doc.attributes
    names = attrs.get("tables", doc.attributes.get("tables", []))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidMetadata("'tables' must be a list of names", where=location.where())
    docs = await asyncio.gather(*(location.child(n).group() for n in names), return_exceptions=True)
    for name, result in zip(names, docs):
        if isinstance(result, NotFound):
            warnings.warn(f"{location.where(name)}: listed table is missing", KitWarning,
                          stacklevel=2)
            tables[name] = Table(location.child(name), name, {}, 0, owner=owner, missing=True)
            continue
        if isinstance(result, BaseException):
            raise result
        tables[name] = Table(location.child(name), name, result.attributes, result.zarr_format,
                             owner=owner)
    return tables
