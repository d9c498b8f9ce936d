"""The details pane: a metadata summary of whatever is selected, as escaped HTML.

Everything shown comes from metadata already loaded (levels, channels, labels, tables), so
building it costs no request; every string from the dataset is escaped.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from kit.widgets._messages import esc

__all__ = ["DetailsPane", "summary_html"]

_TABLE = "<table style='border-collapse:collapse;font-size:90%'>{}</table>"
_ROW = "<tr><th style='text-align:left;padding:1px 8px 1px 0;vertical-align:top'>{}</th><td>{}</td></tr>"


def _rows(pairs: list[tuple[str, str]]) -> str:
    return _TABLE.format("".join(_ROW.format(esc(k), v) for k, v in pairs))


def _image_rows(image: Any) -> list[tuple[str, str]]:
    axes = image.axes
    units = image.units
    pairs = [("axes", esc(" ".join(f"{a}[{units.get(a)}]" if units.get(a) else a for a in axes)))]
    levels = []
    for lv in image.levels:
        scale = ", ".join(f"{s:g}" for s in lv.scale)
        levels.append(f"{lv.index}: {esc(lv.shape)} {esc(lv.dtype)} chunks {esc(lv.chunks)} "
                      f"scale ({esc(scale)})")
    pairs.append(("levels", "<br>".join(levels)))
    if image.kind != "label":
        chans = []
        for i, name in enumerate(image.channel_names if "c" in axes else []):
            meta = image.channels[i] if i < len(image.channels) else None
            color = f"#{meta.color}" if meta and meta.color else "#888"
            window = (f" window {meta.window.start:g}–{meta.window.end:g}"
                      if meta and meta.window else "")
            chans.append(f"<span style='color:{esc(color)}'>●</span> {esc(name)}{esc(window)}")
        if chans:
            pairs.append(("channels", "<br>".join(chans)))
        labels = image.loaded("labels")
        if labels:
            pairs.append(("labels", esc(", ".join(labels))))
        tables = image.loaded("tables")
        if tables:
            pairs.append(("tables", esc(", ".join(f"{n} ({t.kind})" for n, t in tables.items()))))
    else:
        pairs.append(("label values", esc(len(image.colors)) + " with colours"))
    return pairs


def summary_html(node: Any) -> str:
    """An HTML summary of a node (or a dask array member) from loaded metadata."""
    kind = getattr(node, "kind", None)
    if kind is None:  # a dask array member of a generic group
        return _rows([("array", esc(f"{node.shape} {node.dtype}")),
                      ("chunks", esc(node.chunksize))])
    pairs: list[tuple[str, str]] = [("kind", esc(kind)), ("where", esc(node.url))]
    if node.version:
        pairs.append(("NGFF", esc(node.version)))
    if kind == "plate":
        pairs.append(("grid", esc(f"{len(node.rows)} rows × {len(node.columns)} columns, "
                                  f"{len(node.well_paths)} wells")))
        acq = getattr(node.plate, "acquisitions", None)
        if acq:
            pairs.append(("acquisitions", esc(len(acq))))
    elif kind == "well":
        pairs.append(("fields", esc(", ".join(im.path for im in node.meta.well.images))))
    elif kind in ("image", "label"):
        pairs += _image_rows(node)
    return _rows(pairs)


class DetailsPane(w.VBox):
    """Metadata of the selection (HTML)."""

    def __init__(self) -> None:
        self.html = w.HTML("")
        super().__init__([self.html])

    def show(self, node: Any) -> None:
        self.html.value = summary_html(node)

    def clear(self) -> None:
        self.html.value = ""
