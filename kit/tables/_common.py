"""What every table backend shares: errors that name the table, and the index conventions.

ngio's non-AnnData backends store the index as an ordinary column (``index_key``); reading
puts it back as the index and casts it to ``index_type``, so a table reads the same from
every backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import pandas as pd

from kit.errors import InvalidMetadata, KitError, NotFound

if TYPE_CHECKING:
    from kit.nodes.table import Table


def fail(table: Table, message: str, cls: type[KitError] = InvalidMetadata) -> NoReturn:
    """Raise ``cls`` naming the table (its URL, never credentials)."""
    raise cls(f"table {table.name!r}: {message}", where=table.url)


async def get_bytes(table: Table, name: str) -> bytes:
    """One file inside the table group, fetched with the table's own store and credentials."""
    key = table.location.key(name)
    buf = await table.location.store.get(key)
    if buf is None:
        fail(table, f"{name} is missing", NotFound)
    return buf.to_bytes()


def set_index(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Make the ``index_key`` column the index again (it was reset into a column on write)."""
    key = table.index_key
    if key and df.index.name != key and key in df.columns:
        df = df.set_index(key)
    return df


# ngio's defaults when a table does not say (Fractal v1 tables never do).
DEFAULT_INDEX_TYPE = {"roi_table": "str", "masking_roi_table": "int", "feature_table": "int"}


def cast_index(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Cast the index to ``index_type`` ("int" or "str"), or to ngio's default for the kind.

    An explicit ``index_type`` that does not fit is an error; a default that does not fit
    leaves the index as stored (legacy tables are read, not judged).
    """
    kind = table.index_type or DEFAULT_INDEX_TYPE.get(table.kind)
    if not kind:
        return df
    if kind not in ("int", "str"):
        fail(table, f"index_type must be 'int' or 'str', found {kind!r}")
    name = df.index.name
    try:
        index = df.index.astype("int64" if kind == "int" else str)
    except (TypeError, ValueError, OverflowError) as exc:
        if not table.index_type:
            return df
        fail(table, f"index cannot be cast to index_type {kind!r} ({exc})")
    index.name = name
    return df.set_axis(index, axis=0)
