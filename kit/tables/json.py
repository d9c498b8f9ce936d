"""ngio's json backend: columns stored in the attributes of the ``<table>/table`` sub-group.

One metadata document (``.zattrs`` or ``zarr.json``) holds the whole table:
``{"label": [1, 2], "area": [1600.0, 3000.0]}``.
"""

from __future__ import annotations

import pandas as pd

from kit.errors import NotFound
from kit.nodes.table import Table
from kit.tables._common import cast_index, fail, set_index


async def read(table: Table) -> pd.DataFrame:
    """The sub-group's attributes as columns, indexed by ``index_key`` (cast to ``index_type``)."""
    try:
        doc = await table.location.child("table").group()
    except NotFound:
        fail(table, "the 'table' sub-group holding the json columns is missing", NotFound)
    columns = doc.attributes
    if not all(isinstance(v, list) for v in columns.values()):
        fail(table, "json table attributes must map each column name to a list of values")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        fail(table, f"json table columns differ in length ({sorted(lengths)})")
    return cast_index(set_index(pd.DataFrame(columns), table), table)

