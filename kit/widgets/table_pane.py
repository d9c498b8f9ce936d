"""The table pane: a table as HTML, and for ROI tables a row list that zooms the viewer.

The table is read (``Table.to_pandas``) in the worker's "table" slot, so a slow parquet or
AnnData read never blocks the notebook and a newer choice wins. pandas' ``to_html`` escapes cell
text; only the first ``MAX_ROWS`` rows are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from kit.widgets._messages import status_html
from kit.widgets._worker import Worker

__all__ = ["TablePane", "is_roi_table"]

MAX_ROWS = 50
_ROI_COLUMNS = {"x_micrometer", "y_micrometer", "len_x_micrometer", "len_y_micrometer"}


def is_roi_table(table: Any, frame: Any) -> bool:
    """ROI tables by kind, or any table with the Fractal ROI columns."""
    return getattr(table, "kind", "") in ("roi_table", "masking_roi_table") or \
        set(map(str, frame.columns)) >= _ROI_COLUMNS


class TablePane(w.VBox):
    """HTML view of one table; choosing a ROI row calls ``on_roi(row, name)``."""

    def __init__(self, worker: Worker, on_roi: Callable[[Any, str], None]) -> None:
        self.worker = worker
        self.on_roi = on_roi
        self.table: Any = None
        self.frame: Any = None
        self.status = w.HTML("<i>Choose a table in the navigation pane.</i>")
        self.rows = w.Select(options=[], rows=6, description="ROI",
                             layout=w.Layout(width="360px", display="none"))
        self.rows.observe(self._row_chosen, names="value")
        self.html = w.HTML("", layout=w.Layout(max_height="320px", overflow="auto"))
        self._quiet = False
        super().__init__([self.status, self.rows, self.html])
        self.add_class("ngff-kit-table")

    def show(self, table: Any) -> None:
        """Read ``table`` in the background and show it."""
        self.table, self.frame = table, None
        self.status.value = status_html(f"Reading table {table.name} …", "busy", spinner=True)
        self.worker.submit("table", table.to_pandas, on_result=lambda df: self._loaded(table, df),
                           on_error=lambda msg, _exc: self._failed(msg))

    def clear(self) -> None:
        self.worker.invalidate("table")
        self.table = self.frame = None
        self.status.value = ""
        self.html.value = ""
        self._set_rows([])

    def _set_rows(self, options: list[tuple[str, int]]) -> None:
        self._quiet = True
        try:
            self.rows.options = options
            self.rows.value = None
        finally:
            self._quiet = False
        self.rows.layout.display = "" if options else "none"

    def _loaded(self, table: Any, frame: Any) -> None:
        self.frame = frame
        n = len(frame)
        more = f" (first {MAX_ROWS} shown)" if n > MAX_ROWS else ""
        self.status.value = status_html(f"{table.name}: {table.kind}, {n} rows × "
                                        f"{len(frame.columns)} columns{more}", "info")
        self.html.value = frame.head(MAX_ROWS).to_html(border=0, max_cols=20, escape=True)
        if is_roi_table(table, frame):
            self._set_rows([(str(idx), i) for i, idx in enumerate(frame.index[:1000])])
        else:
            self._set_rows([])

    def _failed(self, message: str) -> None:
        self.status.value = status_html(message, "error")
        self.html.value = ""
        self._set_rows([])

    def _row_chosen(self, change: dict) -> None:
        if self._quiet or change["new"] is None or self.frame is None:
            return
        i = int(change["new"])
        self.on_roi(self.frame.iloc[i], str(self.frame.index[i]))
