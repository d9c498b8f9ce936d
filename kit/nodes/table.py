"""Tables listed by a ``tables`` group (Fractal/ngio), found from metadata alone.

This module knows a table's kind, region and backend from its group attributes. Turning the
data into pandas is the tables layer's job: it registers one reader per backend in
``TABLE_READERS`` (nodes never import upward).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kit.errors import InvalidMetadata, KitError, KitWarning, NotFound
from kit.io.location import Location
from kit.io.loop import run_sync

if TYPE_CHECKING:
    import pandas as pd

TableReader = Callable[["Table"], Awaitable["pd.DataFrame"]]
TABLE_READERS: dict[str, TableReader] = {}

KINDS = ("roi_table", "masking_roi_table", "feature_table", "condition_table", "generic_table")
BACKEND_ALIASES = {
    "anndata_v1": "anndata",
    "experimental_anndata_v1": "anndata",
    "experimental_parquet_v1": "parquet",
    "experimental_csv_v1": "csv",
    "experimental_json_v1": "json",
}


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
        backend = self.attrs.get("backend") or "anndata"
        return BACKEND_ALIASES.get(backend, backend)

    @property
    def region(self) -> str | None:
        """Relative path of the label a masking ROI or feature table describes."""
        region = self.attrs.get("region")
        return region.get("path") if isinstance(region, dict) else None

    @property
    def label(self) -> Any:
        """The ``Label`` node ``region`` points to (masking ROI and feature tables), else None.

        An image's own label node is reused, so its cached metadata is shared.
        """
        if self.region is None:
            return None
        from kit.nodes.base import load_node
        from kit.nodes.image import Image, Label

        # Resolved like a relative URL from the table group: "../labels/x" from tables/<name>
        # is the owner's labels/x (Fractal and ngio write it so).
        target = self.location.child("..").child(self.region)
        if isinstance(self.owner, Image):
            for node in self.owner.labels.values():
                if node.location == target:
                    return node
        node = run_sync(load_node(target))
        if not isinstance(node, Label):
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
        reader = TABLE_READERS.get(self.backend)
        if reader is None:
            known = ", ".join(sorted(TABLE_READERS)) or "none registered"
            raise KitError(f"table backend {self.backend!r} is not supported (known: {known})",
                           where=self.url)
        return await reader(self)

    def __repr__(self) -> str:
        region = f" region={self.region!r}" if self.region else ""
        return f"<Table {self.name!r} {self.kind} backend={self.backend}{region}>"


async def load_tables(location: Location, *, owner: Any = None) -> dict[str, Table]:
    """The tables listed at ``location`` (a ``tables`` group); {} when there is none."""
    try:
        doc = await location.group()
    except NotFound:
        return {}
    attrs = doc.attributes.get("ome", doc.attributes) if doc.zarr_format == 3 else doc.attributes
    names = attrs.get("tables", doc.attributes.get("tables", []))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidMetadata("'tables' must be a list of names", where=location.where())
    docs = await asyncio.gather(*(location.child(n).group() for n in names), return_exceptions=True)
    tables = {}
    for name, result in zip(names, docs):
        if isinstance(result, NotFound):
            warnings.warn(f"{location.where(name)}: listed table is missing", KitWarning, stacklevel=2)
            tables[name] = Table(location.child(name), name, {}, 0, owner=owner, missing=True)
            continue
        if isinstance(result, BaseException):
            raise result
        tables[name] = Table(location.child(name), name, result.attributes, result.zarr_format,
                             owner=owner)
    return tables
