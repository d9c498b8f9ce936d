"""AnnData-on-zarr tables (zarr v2 and v3, sharded or not), read without the anndata package.

The frame is what ``anndata.read_zarr(...).to_df()`` joined with ``obs`` gives: ``X`` with
``var/_index`` as column names, then the ``obs`` columns in ``column-order``, indexed by
``obs``'s ``_index`` column. Only ``X``, ``obs/*`` and ``var/_index`` are read (never ``uns``,
``obsm``, ..., nor the stale ``.zmetadata`` anndata leaves in the group), and the three
parts are fetched concurrently: a v2 table costs about three round trips in all.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd

from kit.errors import KitError
from kit.nodes.table import Table
from kit.tables._common import cast_index, fail
from kit.tables._elements import (
    element,
    group_attrs,
    read_array,
    read_column,
    read_matrix,
)


async def _read_x(table: Table) -> np.ndarray | None:
    el = await element(table.location.child("X"), table.zarr_format, required=False)
    return None if el is None else await read_matrix(el, table.zarr_format)


async def _read_var_names(table: Table) -> list[str]:
    fmt, var = table.zarr_format, table.location.child("var")
    el = await element(var.child("_index"), fmt, required=False)
    if el is None:  # a named var index: var's attributes say where it is
        attrs = await group_attrs(var, fmt)
        el = await element(var.child(str(attrs.get("_index", "_index"))), fmt)
    return [str(v) for v in await read_array(el)]


async def _read_obs(table: Table) -> pd.DataFrame:
    fmt, obs = table.zarr_format, table.location.child("obs")
    attrs = await group_attrs(obs, fmt)
    index_key = attrs.get("_index")
    order = attrs.get("column-order", [])
    if not isinstance(index_key, str) or not isinstance(order, list):
        fail(table, "obs has no '_index' or its 'column-order' is not a list")
    names = [index_key, *order]
    elements = await asyncio.gather(*(element(obs.child(n), fmt) for n in names))
    columns = await asyncio.gather(*(read_column(el, fmt) for el in elements))
    n = len(columns[0])
    for name, col in zip(names, columns):
        if len(col) != n or getattr(col, "ndim", 1) != 1:
            fail(table, f"obs column {name!r} has {len(col)} rows, the index has {n}")
    index = pd.Index(columns[0], name=None if index_key == "_index" else index_key)
    return pd.DataFrame(dict(zip(order, columns[1:])), index=index, columns=order)


async def read(table: Table) -> pd.DataFrame:
    """The table as anndata's ``to_df()`` joined with ``obs``, index cast to ``index_type``."""
    try:
        x, var_names, obs = await asyncio.gather(_read_x(table), _read_var_names(table),
                                                 _read_obs(table))
    except KitError as exc:  # name the table, keep the exact element in ``where``
        if exc.message.startswith("table "):
            raise
        raise type(exc)(f"table {table.name!r}: {exc.message}", where=exc.where) from None
    if x is None:
        x = np.zeros((len(obs), 0))
    if x.shape[0] != len(obs):
        fail(table, f"X has {x.shape[0]} rows but obs has {len(obs)}")
    if x.shape[1] != len(var_names):
        fail(table, f"X has {x.shape[1]} columns but var/_index names {len(var_names)}")
    df = pd.DataFrame(x, index=obs.index, columns=pd.Index(var_names))
    df = df.drop(columns=[c for c in obs.columns if c in df.columns])  # obs wins, as in ngio
    return cast_index(pd.concat([df, obs], axis=1), table)

