"""``kit.browse()``: one widget that owns the browsing state and composes the small panes.

The browser is the controller: the navigation pane reports choices, the browser loads what they
need in its worker (metadata only: a well's fields, an image's levels, labels and tables) and
hands loaded nodes to the viewer, details and table panes. Every load is off the main thread in
a named slot ("root", "node", "preview", "table"), so a newer choice drops an older result and
the notebook stays responsive while remote data arrives. Failures become one readable line in
the widget; a dataset that needs credentials reloads itself after a successful ``kit.login``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w

from kit.auth import Origin, origin_of, redact
from kit.auth.env import ENV_ADVICE
from kit.errors import AuthenticationError, KitError
from kit.nodes import opening
from kit.render.describe import ImageSummary, Summary, describe
from kit.widgets._events import subscribe
from kit.widgets._messages import SPINNER, esc, status_html
from kit.widgets._worker import Worker
from kit.widgets.details import DetailsPane
from kit.widgets.navigation import UP, NavigationPane, close_tree
from kit.widgets.table_pane import TablePane
from kit.widgets.viewer import ViewerPane

__all__ = ["Browser", "browse"]

THUMBNAIL_SIZE = 64
TABLE_TAB = 2  # the viewer's side tabs: Display, Details, Table

_ICONS = {"group": "📁", "image": "🖼", "label": "🏷", "plate": "▦", "well": "◻"}


def _describe(member: Any) -> str:
    return _ICONS.get(getattr(member, "kind", ""), "▤")


def _title_html(html: str, full: str) -> str:
    """The title on one line (cut with an ellipsis, the whole text as its tooltip): a long
    URL never wraps and shifts the panes below it."""
    return (f"<div style='white-space:nowrap;overflow:hidden;text-overflow:ellipsis' "
            f"title='{esc(full)}'>{html}</div>")


def _is_node(obj: Any) -> bool:
    from kit.nodes import Node

    return isinstance(obj, Node)


@dataclass
class Prepared:
    """A node with what the panes show of it, loaded in the worker: its summary, and the
    labels and tables that loaded (a broken labels/tables group must not hide the image)."""

    node: Any
    summary: Summary
    labels: list[str] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)


def _prepare(node: Any, **options: Any) -> Prepared:
    """Describe ``node`` (levels, labels, tables: one concurrent batch) in a worker."""
    summary = describe(node, **options)
    for part in ("levels", "fields", "members"):  # nothing to show without them: raise
        if part in summary.errors:
            raise summary.errors[part]
    if not isinstance(summary, ImageSummary):
        tables = node.tables if node.kind == "plate" and "tables" not in summary.problems \
            else {}
        return Prepared(node, summary, [], tables)
    if summary.kind == "label":
        return Prepared(node, summary)
    tables = node.tables if "tables" not in summary.problems else {}
    return Prepared(node, summary, list(summary.labels), dict(tables))


def shown_url(url: str) -> str:
    """Every URL the browser shows (its title) goes through the kit's redaction, here only."""
    return redact(url)


class Browser(w.VBox):
    """Dataset browser: navigation, details, viewer and table panes over one dataset."""

    def __init__(self, source: Any, *, auth: Any = None, max_size: int = 512,
                 thumbnails: bool = True) -> None:
        self.source, self.auth = source, auth
        self.thumbnails_enabled = thumbnails
        self.root: Any = None
        self.root_tables: dict[str, Any] = {}
        self.node: Any = None            # the image (or member) shown
        self.well: Any = None
        self._well_images: dict[str, Any] = {}
        self._tables: dict[str, Any] = {}
        self._group_path: list[tuple[str, Any]] = []
        self._members: dict[str, Any] = {}
        self._waiting_for_login: Origin | None = None
        self._spinner_lock = threading.Lock()

        self.worker = Worker(max_workers=4, on_busy=self._busy_changed)
        self.thumb_worker = Worker(max_workers=2, on_busy=self._busy_changed)
        self.title = w.HTML(_title_html(esc(self._source_text()), self._source_text()),
                            layout=w.Layout(flex="1 1 0%", min_width="0", overflow="hidden"))
        self.spinner = w.HTML("", layout=w.Layout(width="110px", overflow="hidden"))
        self.message = w.HTML("")
        self.reload_button = w.Button(description="Reload", icon="refresh",
                                      layout=w.Layout(width="100px", flex="0 0 auto"))
        self.reload_button.on_click(lambda _b: self.reload())
        self.navigation = NavigationPane(self, height=f"{max_size + 24}px")
        self.details = DetailsPane()
        self.table_pane = TablePane(self.worker, on_roi=self.zoom_to_roi)
        self.viewer = ViewerPane(self.worker, max_size=max_size,
                                 tabs=[("Details", self.details), ("Table", self.table_pane)])
        self.tabs = self.viewer.side  # Display (the viewer's controls), Details, Table
        header = w.HBox([self.title, self.spinner, self.reload_button],
                        layout=w.Layout(align_items="center", width="100%"))
        super().__init__([header, self.message, w.HBox(
            [self.navigation, self.viewer],
            layout=w.Layout(align_items="flex-start", grid_gap="6px", flex_flow="row wrap"))])
        self.add_class("ngff-kit-browser")
        self.reload()

    def __repr__(self) -> str:
        return f"<Browser {self._source_text()!r}>"

    def _source_text(self) -> str:
        if _is_node(self.source):
            return shown_url(self.source.url)
        if isinstance(self.source, str):
            return shown_url(self.source)
        return type(self.source).__name__

    # -- status -------------------------------------------------------------------------------
    def _busy_changed(self, _busy: bool) -> None:
        with self._spinner_lock:  # two workers flip it: compute and write as one step
            busy = self.worker.busy or self.thumb_worker.busy
            self.spinner.value = f"{SPINNER} <small>loading…</small>" if busy else ""

    def _error(self, message: str) -> None:
        self.message.value = status_html(message, "error")

    def _info(self, message: str) -> None:
        self.message.value = status_html(message, "info") if message else ""

    # -- root -----------------------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)open the source and show its top level."""
        self._info("")
        source, auth = self.source, self.auth

        def load() -> Any:
            if _is_node(source):
                return source
            return opening.open(source, auth=auth)

        self.worker.submit("root", load, on_result=self._show_root, on_error=self._root_failed)

    def _root_failed(self, message: str, exc: BaseException) -> None:
        self._error(message)
        if isinstance(exc, AuthenticationError) and isinstance(self.source, str):
            try:
                origin = origin_of(self.source)
            except KitError:
                return
            if self._waiting_for_login is None:
                subscribe(self._logged_in)
            self._waiting_for_login = origin
            self._info(f"This dataset needs credentials: sign in with kit.login(url) (or "
                       f"{ENV_ADVICE}). This browser reloads by itself after a successful "
                       "sign-in.")
            self.message.value = status_html(message, "error") + "<br>" + self.message.value

    def _logged_in(self, origin: Origin) -> None:
        if self._waiting_for_login == origin and self.auth is None:
            self._waiting_for_login = None
            self.reload()

    def _show_root(self, root: Any) -> None:
        self.root = root
        self.navigation.reset()
        self.viewer.clear()
        self.table_pane.clear()
        url = shown_url(root.url)
        self.title.value = _title_html(f"<b>{esc(root.kind.capitalize())}</b> {esc(url)}", url)
        self.worker.submit("node", lambda: self._prepare_root(root),
                           on_result=self._root_ready, on_error=self._node_failed)

    def _prepare_root(self, root: Any) -> Prepared:
        return _prepare(root, wells=False)  # a well's fields, a group's members: described

    def _root_ready(self, prepared: Prepared) -> None:
        root = prepared.node
        kind = root.kind
        self.root_tables = prepared.tables if kind == "plate" else {}
        if kind not in ("image", "label"):
            self.details.show(prepared.summary)
        if kind == "plate":
            self.navigation.show_plate(root, thumbnails=self.thumbnails_enabled)
            self._set_tables({})
            self.viewer.clear("Choose a well.")
            self._start_thumbnails(root)
        elif kind == "well":
            self.well = root
            self._show_well(root)
        elif kind in ("image", "label"):
            self._show_image(prepared)
        else:
            self._group_path = [("", root)]
            self._show_members(root, prepared.summary)

    # -- plates and wells -----------------------------------------------------------------------
    def _start_thumbnails(self, plate: Any) -> None:
        if not self.thumbnails_enabled or not self.navigation.thumbnails:
            return
        from kit.render.plate_reads import SharedLayout
        from kit.render.png import to_png
        from kit.render.preview import well_thumbnail
        from kit.render.spec import RenderSpec

        spec, layout = RenderSpec(max_size=THUMBNAIL_SIZE), SharedLayout()
        for key in self.navigation.thumbnails:
            def thumb(key: str = key) -> bytes:  # the shown field and one level per well
                return to_png(well_thumbnail(plate.well(key), spec, layout))

            def apply(png: bytes, key: str = key) -> None:
                self.navigation.set_thumbnail(key, png)

            self.thumb_worker.submit(f"thumb:{key}", thumb, on_result=apply)

    def select_well(self, key: str) -> None:
        """Show the first field of well ``key`` ("B/03") of the plate."""
        plate = self.root
        self.navigation.mark_well(key)
        self.viewer.status.value = status_html(f"Opening well {key} …", "busy", spinner=True)

        def load() -> tuple[Any, Prepared]:
            well = plate.wells[key]
            images = well.images
            first = next(iter(images.values()), None)
            return well, _prepare(first if first is not None else well)

        self.worker.submit("node", load, on_result=self._well_loaded, on_error=self._node_failed)

    def _well_loaded(self, loaded: tuple[Any, Prepared]) -> None:
        well, prepared = loaded
        self.well = well
        self._show_well(well, prepared)

    def _show_well(self, well: Any, prepared: Prepared | None = None) -> None:
        """``prepared``: the first field (or the well itself when it has none), loaded."""
        self._well_images = dict(well.images)
        names = list(self._well_images)
        self.navigation.show_fields(names, names[0] if names else None)
        if names and prepared is not None and prepared.node is not well:
            self._show_image(prepared)
        elif names:
            self.select_field(names[0])
        else:
            self.details.show(prepared.summary if prepared is not None else describe(well))
            self.viewer.clear("This well has no field of view.")

    def select_field(self, key: str) -> None:
        """Show field ``key`` of the current well."""
        image = self._well_images.get(key)
        if image is None:
            return
        self.worker.submit("node", lambda: _prepare(image), on_result=self._show_image,
                           on_error=self._node_failed)

    # -- images ---------------------------------------------------------------------------------
    def _show_image(self, prepared: Prepared) -> None:
        image = prepared.node
        self.node = image
        self._info("")
        self.details.show(prepared.summary)
        self.table_pane.clear()
        tables: dict[str, Any] = {}
        if self.root is not None and self.root.kind == "plate":
            tables.update({f"plate/{n}": t for n, t in self.root_tables.items()})
        tables.update(prepared.tables)
        self._set_tables(tables)
        self.viewer.show(image, prepared.labels)

    def _set_tables(self, tables: dict[str, Any]) -> None:
        self._tables = tables
        self.navigation.show_tables([(f"{k} ({t.kind})", k) for k, t in tables.items()])

    def select_label(self, name: str) -> None:
        """Overlay label ``name`` ("" for none) on the preview."""
        if name in [v for _, v in self.viewer.label_dropdown.options]:
            self.viewer.label_dropdown.value = name

    def select_table(self, key: str) -> None:
        table = self._tables.get(key)
        if table is None:
            return
        self.tabs.selected_index = TABLE_TAB
        self.table_pane.show(table)

    def zoom_to_roi(self, row: Any, name: str) -> None:
        """Zoom the viewer to a ROI table row (read with ``Image.read_roi``)."""
        self.viewer.zoom_to(row, name)

    # -- generic groups -----------------------------------------------------------------------
    def _show_members(self, group: Any, summary: Summary | None = None) -> None:
        self._members = dict(group.members)
        path = "/".join(name for name, _ in self._group_path[1:])
        self.navigation.show_members(path, self._members, _describe)
        self.details.show(summary if summary is not None else describe(group))

    def select_member(self, key: str) -> None:
        if key == UP:
            if len(self._group_path) > 1:
                self._group_path.pop()
                self._show_members(self._group_path[-1][1])
            return
        member = self._members.get(key)
        if member is None:
            return
        kind = getattr(member, "kind", None)
        if kind is None:  # an array: its shape and dtype are all there is to show
            self.details.show(describe(member))
            self.viewer.clear(f"{key} is a plain array (no multiscales metadata).")
        elif kind in ("image", "label"):
            self.worker.submit("node", lambda: _prepare(member), on_result=self._show_image,
                               on_error=self._node_failed)
        elif kind in ("plate", "well"):
            self._show_root(member)
        else:
            def load() -> Prepared:
                return _prepare(member)  # its members, described

            def entered(prepared: Prepared) -> None:
                self._group_path.append((key, prepared.node))
                self._show_members(prepared.node, prepared.summary)

            self.worker.submit("node", load, on_result=entered, on_error=self._node_failed)

    def _node_failed(self, message: str, _exc: BaseException) -> None:
        self._error(message)
        self.viewer.status.value = status_html(message, "error")

    # -- tests and scripts ---------------------------------------------------------------------
    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no load (navigation, preview, table, thumbnail) is pending."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.worker.wait_idle(left)
            self.thumb_worker.wait_idle(max(0.0, deadline - time.monotonic()))
            if not self.worker.busy and not self.thumb_worker.busy:
                return True

    def close(self) -> None:
        """Stop loading and close every widget of the browser (frees their comms)."""
        self.worker.shutdown()
        self.thumb_worker.shutdown()
        close_tree(self)


def browse(source_or_node: Any, *, auth: Any = None, max_size: int = 512,
           thumbnails: bool = True) -> Browser:
    """A dataset browser for a node or anything ``kit.open`` takes (path, URL, refs, store).

    Loads run in the background; the widget shows a spinner meanwhile and readable messages on
    failure. ``auth`` applies to this browser's tree only, like ``kit.open(..., auth=)``.
    """
    return Browser(source_or_node, auth=auth, max_size=max_size, thumbnails=thumbnails)
