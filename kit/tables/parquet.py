"""ngio's parquet backend: ``<table>/table.parquet``, read with pyarrow (the ``parquet`` extra).

The file is fetched whole through the table's own store, so credentials and the shared
concurrency limit apply exactly as for zarr chunks; pyarrow only decodes bytes.
"""

from __future__ import annotations

import io

import pandas as pd

from kit.errors import InvalidData, KitError
from kit.nodes.table import Table
from kit.tables._common import cast_index, fail, get_bytes, set_index


def _pyarrow_parquet(table: Table):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        fail(table, "reading a parquet table needs pyarrow: pip install 'ngff-kit[parquet]'",
             KitError)
    return pq


async def read(table: Table) -> pd.DataFrame:
    """``table.parquet`` as a frame indexed by ``index_key`` (cast to ``index_type``)."""
    pq = _pyarrow_parquet(table)
    raw = await get_bytes(table, "table.parquet")
    try:
        df = pq.read_table(io.BytesIO(raw)).to_pandas()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        fail(table, f"table.parquet cannot be decoded (truncated or corrupt?): {exc}", InvalidData)
    return cast_index(set_index(df, table), table)

