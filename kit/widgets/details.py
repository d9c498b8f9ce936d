"""The details pane: the ``describe`` summary of whatever is selected, as escaped HTML.

The summary is made in the browser's worker (``kit.render.describe``, the same one the
notebook cards and the CLI use), so showing it costs the main thread no request; every string
from the dataset is escaped here.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from kit.render.describe import (
    ArraySummary,
    GroupSummary,
    ImageSummary,
    PlateSummary,
    Summary,
    WellSummary,
    describe,
)
from kit.widgets._messages import esc

__all__ = ["DetailsPane", "summary_html"]

_TABLE = "<table style='border-collapse:collapse;font-size:90%'>{}</table>"
_ROW = ("<tr><th style='text-align:left;padding:1px 8px 1px 0;vertical-align:top'>{}</th>"
        "<td>{}</td></tr>")


def _rows(pairs: list[tuple[str, str]]) -> str:
    return _TABLE.format("".join(_ROW.format(esc(k), v) for k, v in pairs))


def _image_rows(s: ImageSummary) -> list[tuple[str, str]]:
    pairs = [("axes", esc(" ".join(f"{a}[{s.units.get(a)}]" if s.units.get(a) else a
                                   for a in s.axes)))]
    levels = []
    for lv in s.levels:
        scale = ", ".join(f"{v:g}" for v in lv.scale)
        levels.append(f"{lv.index}: {esc(lv.shape)} {esc(lv.dtype)} chunks {esc(lv.chunks)} "
                      f"scale ({esc(scale)})")
    pairs.append(("levels", "<br>".join(levels)))
    if s.kind != "label":
        chans = []
        for ch in s.channels if "c" in s.axes else []:
            color = f"#{ch.color}" if ch.color else "#888"
            window = f" window {ch.window[0]:g}–{ch.window[1]:g}" if ch.window else ""
            chans.append(f"<span style='color:{esc(color)}'>●</span> {esc(ch.name)}{esc(window)}")
        if chans:
            pairs.append(("channels", "<br>".join(chans)))
        if s.labels:
            pairs.append(("labels", esc(", ".join(s.labels))))
        if s.tables:
            pairs.append(("tables", esc(", ".join(f"{t.name} ({t.kind})" for t in s.tables))))
    else:
        pairs.append(("label values", esc(len(s.colors)) + " with colours"))
    return pairs


def summary_html(summary: Summary) -> str:
    """An HTML summary of a ``describe`` summary (a node or a dask array member)."""
    s = summary
    if isinstance(s, ArraySummary):
        return _rows([("array", esc(f"{s.shape} {s.dtype}")), ("chunks", esc(s.chunks))])
    pairs: list[tuple[str, str]] = [("kind", esc(s.kind)), ("where", esc(s.url))]
    if s.version:
        pairs.append(("NGFF", esc(s.version)))
    if isinstance(s, PlateSummary):
        pairs.append(("grid", esc(f"{len(s.rows)} rows × {len(s.columns)} columns, "
                                  f"{len(s.well_paths)} wells")))
        if s.acquisitions:
            pairs.append(("acquisitions", esc(s.acquisitions)))
    elif isinstance(s, WellSummary):
        pairs.append(("fields", esc(", ".join(s.fields))))
    elif isinstance(s, ImageSummary):
        pairs += _image_rows(s)
    elif isinstance(s, GroupSummary) and s.group_kind != "group":
        pairs.append(("layout", esc(s.group_kind)))
    for part, message in s.problems.items():
        pairs.append((part, f"<span style='color:#c62828'>{esc(message)}</span>"))
    return _rows(pairs)


class DetailsPane(w.VBox):
    """Metadata of the selection (HTML)."""

    def __init__(self) -> None:
        self.html = w.HTML("")
        super().__init__([self.html])

    def show(self, summary: Summary) -> None:
        self.html.value = summary_html(summary)

    def clear(self) -> None:
        self.html.value = ""


def summarise(node: Any) -> Summary:
    """The summary the pane shows (worker thread: it may read metadata documents)."""
    return describe(node)
