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
from typing import Any

import ipywidgets as w

from kit.auth import Origin, origin_of, redact_url
from kit.errors import AuthenticationError, KitError
from kit.widgets._events import subscribe
from kit.widgets._messages import SPINNER, esc, status_html
from kit.widgets._worker import Worker
from kit.widgets.details import DetailsPane, summary_html
from kit.widgets.navigation import UP, NavigationPane
from kit.widgets.table_pane import TablePane
from kit.widgets.viewer import ViewerPane

__all__ = ["Browser", "browse"]

THUMBNAIL_SIZE = 64

_ICONS = {"group": "📁", "image": "🖼", "label": "🏷", "plate": "▦", "well": "◻"}


def _describe(member: Any) -> str:
    return _ICONS.get(getattr(member, "kind", ""), "▤")


def _is_node(obj: Any) -> bool:
    from kit.nodes import Node

    return isinstance(obj, Node)


def _prepare_image(image: Any) -> Any:
    """Load what the viewer and details need (levels, labels, tables) in one worker call."""
    if image.kind == "label":
        return image.prefetch("levels")
    # a broken labels/tables group must not hide the image itself
    return image.prefetch("levels", "labels", "tables", skip_broken=True)


class Browser(w.VBox):
    """Dataset browser: navigation, details, viewer and table panes over one dataset."""

    def __init__(self, source: Any, *, auth: Any = None, max_size: int = 512,
                 thumbnails: bool = True) -> None:
        self.source, self.auth = source, auth
        self.thumbnails_enabled = thumbnails
        self.root: Any = None
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
        self.title = w.HTML(f"<b>{esc(self._source_text())}</b>")
        self.spinner = w.HTML("")
        self.message = w.HTML("")
        self.reload_button = w.Button(description="Reload", icon="refresh",
                                      layout=w.Layout(width="100px"))
        self.reload_button.on_click(lambda _b: self.reload())
        self.navigation = NavigationPane(self)
        self.details = DetailsPane()
        self.viewer = ViewerPane(self.worker, max_size=max_size)
        self.viewer.label_dropdown.observe(
            lambda ch: self.navigation.set_label(ch["new"] or ""), names="value")
        self.table_pane = TablePane(self.worker, on_roi=self.zoom_to_roi)
        self.tabs = w.Tab(children=[self.details, self.table_pane], titles=("Details", "Table"))
        right = w.VBox([self.viewer, self.tabs], layout=w.Layout(flex="1 1 auto"))
        header = w.HBox([self.title, self.spinner, self.reload_button],
                        layout=w.Layout(align_items="center", justify_content="space-between"))
        super().__init__([header, self.message, w.HBox([self.navigation, right])])
        self.add_class("ngff-kit-browser")
        self.reload()

    def __repr__(self) -> str:
        return f"<Browser {self._source_text()!r}>"

    def _source_text(self) -> str:
        if _is_node(self.source):
            return self.source.url
        if isinstance(self.source, str):
            return redact_url(self.source)
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
            import kit

            return kit.open(source, auth=auth)

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
            self._info("This dataset needs credentials: sign in with kit.login(url) (or set "
                       "NGFF_KIT_TOKEN / NGFF_KIT_USERNAME and NGFF_KIT_PASSWORD). This browser "
                       "reloads by itself after a successful sign-in.")
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
        self.title.value = f"<b>{esc(root.kind.capitalize())}</b> {esc(root.url)}"
        self.worker.submit("node", lambda: self._prepare_root(root),
                           on_result=lambda _r: self._root_ready(root), on_error=self._node_failed)

    def _prepare_root(self, root: Any) -> Any:
        if root.kind == "plate":
            root.prefetch("tables", skip_broken=True)
        elif root.kind == "well":
            root.images
        elif root.kind in ("image", "label"):
            _prepare_image(root)
        else:
            root.members
        return root

    def _root_ready(self, root: Any) -> None:
        kind = root.kind
        self.details.show(root)
        if kind == "plate":
            self.navigation.show_plate(root)
            self._set_tables({})
            self.viewer.clear("Choose a well.")
            self._start_thumbnails(root)
        elif kind == "well":
            self.well = root
            self._show_well(root)
        elif kind in ("image", "label"):
            self._show_image(root)
        else:
            self._group_path = [("", root)]
            self._show_members(root)

    # -- plates and wells -----------------------------------------------------------------------
    def _start_thumbnails(self, plate: Any) -> None:
        if not self.thumbnails_enabled or not self.navigation.thumbnails:
            return
        import kit
        from kit.render.png import to_png

        for key, image_widget in self.navigation.thumbnails.items():
            def thumb(key: str = key) -> bytes:
                return to_png(kit.preview(plate.wells[key], max_size=THUMBNAIL_SIZE))

            def apply(png: bytes, image_widget: w.Image = image_widget) -> None:
                image_widget.value = png

            self.thumb_worker.submit(f"thumb:{key}", thumb, on_result=apply)

    def select_well(self, key: str) -> None:
        """Show the first field of well ``key`` ("B/03") of the plate."""
        plate = self.root
        self.navigation.mark_well(key)
        self.viewer.status.value = status_html(f"Opening well {key} …", "busy", spinner=True)

        def load() -> Any:
            well = plate.wells[key]
            images = well.images
            if images:
                _prepare_image(next(iter(images.values())))
            return well

        self.worker.submit("node", load, on_result=self._well_loaded, on_error=self._node_failed)

    def _well_loaded(self, well: Any) -> None:
        self.well = well
        self._show_well(well)

    def _show_well(self, well: Any) -> None:
        self._well_images = dict(well.images)
        names = list(self._well_images)
        self.navigation.show_fields(names, names[0] if names else None)
        if names:
            self._show_image(self._well_images[names[0]])
        else:
            self.details.show(well)
            self.viewer.clear("This well has no field of view.")

    def select_field(self, key: str) -> None:
        """Show field ``key`` of the current well."""
        image = self._well_images.get(key)
        if image is None:
            return
        self.worker.submit("node", lambda: _prepare_image(image), on_result=self._show_image,
                           on_error=self._node_failed)

    # -- images ---------------------------------------------------------------------------------
    def _show_image(self, image: Any) -> None:
        self.node = image
        self._info("")
        self.details.show(image)
        self.table_pane.clear()
        labels = list(image.loaded("labels") or {}) if image.kind != "label" else []
        self.navigation.show_labels(labels)
        tables: dict[str, Any] = {}
        if self.root is not None and self.root.kind == "plate":
            tables.update({f"plate/{n}": t for n, t in (self.root.loaded("tables") or {}).items()})
        tables.update({n: t for n, t in (image.loaded("tables") or {}).items()})
        self._set_tables(tables)
        self.viewer.show(image)

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
        self.tabs.selected_index = 1
        self.table_pane.show(table)

    def zoom_to_roi(self, row: Any, name: str) -> None:
        """Zoom the viewer to a ROI table row (read with ``Image.read_roi``)."""
        self.viewer.zoom_to(row, name)

    # -- generic groups -----------------------------------------------------------------------
    def _show_members(self, group: Any) -> None:
        self._members = dict(group.members)
        path = "/".join(name for name, _ in self._group_path[1:])
        self.navigation.show_members(path, self._members, _describe)
        self.details.show(group)

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
            self.details.html.value = summary_html(member)
            self.viewer.clear(f"{key} is a plain array (no multiscales metadata).")
        elif kind in ("image", "label"):
            self.worker.submit("node", lambda: _prepare_image(member), on_result=self._show_image,
                               on_error=self._node_failed)
        elif kind in ("plate", "well"):
            self._show_root(member)
        else:
            def load() -> Any:
                member.members
                return member

            def entered(group: Any) -> None:
                self._group_path.append((key, group))
                self._show_members(group)

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
        _close_tree(self)


def _close_tree(widget: w.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    w.Widget.close(widget)


def browse(source_or_node: Any, *, auth: Any = None, max_size: int = 512,
           thumbnails: bool = True) -> Browser:
    """A dataset browser for a node or anything ``kit.open`` takes (path, URL, refs, store).

    Loads run in the background; the widget shows a spinner meanwhile and readable messages on
    failure. ``auth`` applies to this browser's tree only, like ``kit.open(..., auth=)``.
    """
    return Browser(source_or_node, auth=auth, max_size=max_size, thumbnails=thumbnails)
