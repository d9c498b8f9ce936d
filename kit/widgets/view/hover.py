"""What the pointer is over: the label value under it and the feature-table row of that object.

Label values come from the tiles already read for the picture (the level shown), so hovering
costs no request. A feature table annotates a label when its ``region`` names it (Fractal and
ngio write ``../labels/<name>``); its rows are read once, on the first hover over an object of
that label, and indexed by the table's index (the label value).
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from kit.nodes import Image, Table

__all__ = ["FeatureRows", "format_value", "lookup"]

MAX_COLUMNS = 6  # a hover card shows a few named columns, not the whole row


def lookup(values: np.ndarray, row: int, col: int) -> int | None:
    """The label value at pixel (row, col) of a tile's label values (None outside)."""
    if not (0 <= row < values.shape[0] and 0 <= col < values.shape[1]):
        return None
    return int(values[row, col])


def format_value(value: Any) -> str | int | float | bool | None:
    """A table cell as a short JSON value (floats to 4 significant digits; NA as None)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(f"{float(value):.4g}")
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _label_name(table: Table) -> str | None:
    region = table.region
    if not region:
        return None
    return region.rstrip("/").split("/")[-1] or None


class FeatureRows:
    """Rows of the feature tables of one image, by label name, read on first use."""

    def __init__(self, image: Image):
        self.image = image
        self._frames: dict[str, pd.DataFrame | None] = {}
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def _table_for(self, label: str) -> Table | None:
        try:
            tables = self.image.tables
        except Exception:  # noqa: BLE001 - no tables group: nothing to annotate
            return None
        found = [t for t in tables.values()
                 if t.kind == "feature_table" and _label_name(t) == label]
        return found[0] if found else None

    def frame(self, label: str) -> pd.DataFrame | None:
        with self._lock:
            if label not in self._frames:
                table = self._table_for(label)
                df = None
                if table is not None:
                    try:
                        df = table.to_pandas()
                        self._names[label] = table.name
                    except Exception:  # noqa: BLE001 - an unreadable table: hover still works
                        df = None
                self._frames[label] = df
            return self._frames[label]

    def row(self, label: str, value: int) -> tuple[str, dict[str, Any]] | None:
        """(table name, a few named columns) of object ``value``; None when no table has it."""
        df = self.frame(label)
        if df is None or value == 0:
            return None
        try:
            series = df.loc[value]
        except (KeyError, TypeError):
            try:
                series = df.loc[str(value)]
            except (KeyError, TypeError):
                return None
        if getattr(series, "ndim", 1) != 1:
            series = series.iloc[0]
        cols = [c for c in df.columns][:MAX_COLUMNS]
        return self._names.get(label, ""), {str(c): format_value(series[c]) for c in cols}
