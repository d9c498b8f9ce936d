"""ngio's csv backend: ``<table>/table.csv`` (header line, index reset into a column).

pandas parses it, so no optional dependency is needed.
"""

from __future__ import annotations

import io

import pandas as pd

from kit.nodes.table import Table
from kit.tables._common import cast_index, fail, get_bytes, set_index


async def read(table: Table) -> pd.DataFrame:
    """``table.csv`` as a frame indexed by ``index_key`` (cast to ``index_type``)."""
    raw = await get_bytes(table, "table.csv")
    try:
        df = pd.read_csv(io.BytesIO(raw))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        fail(table, f"table.csv cannot be parsed: {exc}")
    return cast_index(set_index(df, table), table)

