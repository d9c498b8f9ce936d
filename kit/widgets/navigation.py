"""The navigation pane: where in the dataset the user is.

A plate is a grid of well buttons (with small thumbnails when the plate is small enough for them
to be cheap), then the fields of the chosen well; any image then lists its tables (its labels
are chosen in the viewer, beside their style and opacity: one control for one choice).
A generic group is a one-level-at-a-time member list (a ``Select`` with ``..`` to go up), so a
large hierarchy never becomes thousands of widget models; a new plate's grid closes the old
one's widgets. The pane has a fixed width and scrolls, so a wide plate never pushes the viewer
off screen. The pane only shows and reports choices; the browser decides what to load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as w

from kit.widgets._messages import esc

__all__ = ["MAX_THUMBNAIL_WELLS", "NavigationPane", "close_tree"]

#: Plates with more wells than this get no thumbnails (one preview read per well is not cheap).
MAX_THUMBNAIL_WELLS = 96
UP = "\x00up"
NAVIGATION_WIDTH = "280px"


class Controller(Protocol):
    def select_well(self, key: str) -> None: ...
    def select_field(self, key: str) -> None: ...
    def select_member(self, key: str) -> None: ...
    def select_table(self, name: str) -> None: ...


def _heading(text: str) -> w.HTML:
    return w.HTML(f"<b>{esc(text)}</b>")


class NavigationPane(w.VBox):
    """Plate grid, fields, group members and the tables of what is shown."""

    def __init__(self, controller: Controller, *, height: str = "536px") -> None:
        self.controller = controller
        self.well_buttons: dict[str, w.Button] = {}
        self.thumbnails: dict[str, w.Image] = {}
        self.current_well: str | None = None
        self.plate_box = w.VBox()
        self.fields = w.ToggleButtons(options=[], description="field",
                                      style={"button_width": "40px"})
        self.fields.observe(self._field_chosen, names="value")
        self.members = w.Select(options=[], rows=10, layout=w.Layout(width="100%"))
        self.members.observe(self._member_chosen, names="value")
        self.tables = w.Select(options=[], rows=4, layout=w.Layout(width="100%"))
        self.tables.observe(self._table_chosen, names="value")
        self._quiet = False
        self.fields_box = w.VBox([_heading("Fields"), self.fields])
        self.members_box = w.VBox([_heading("Members"), self.members])
        self.tables_box = w.VBox([_heading("Tables"), self.tables])
        for box in self._boxes():
            box.layout.display = "none"
        super().__init__(list(self._boxes()), layout=w.Layout(
            width=NAVIGATION_WIDTH, flex="0 0 auto", max_height=height, overflow="auto"))
        self.add_class("ngff-kit-navigation")

    def _boxes(self) -> tuple[w.Box, ...]:
        return (self.plate_box, self.fields_box, self.members_box, self.tables_box)

    def _set(self, widget: w.ValueWidget, **traits: Any) -> None:
        """Change options/value without reporting it as the user's choice."""
        self._quiet = True
        try:
            for name, value in traits.items():  # options first, then the value among them
                setattr(widget, name, value)
        finally:
            self._quiet = False

    # -- plate ---------------------------------------------------------------------------------
    def show_plate(self, plate: Any, *, thumbnails: bool = True) -> None:
        """One button per well, in the plate's row x column grid; with a thumbnail slot per
        well when ``thumbnails`` (kept invisible, not a broken image, until its PNG arrives:
        ``set_thumbnail``)."""
        rows, cols = plate.rows, plate.columns
        present = set(plate.well_paths)
        cells: list[w.Widget] = [w.Label("")] + [w.HTML(f"<center>{esc(c)}</center>") for c in cols]
        self._close_grid()
        thumbs = thumbnails and len(present) <= MAX_THUMBNAIL_WELLS
        for r in rows:
            cells.append(w.HTML(f"<b>{esc(r)}</b>"))
            for c in cols:
                key = f"{r}/{c}"
                if key not in present:
                    cells.append(w.Label(""))
                    continue
                button = w.Button(description=f"{r}{c}", tooltip=f"well {key}",
                                  layout=w.Layout(width="60px", padding="0"))
                button.on_click(lambda _b, key=key: self.controller.select_well(key))
                button.add_class("ngff-kit-well")
                self.well_buttons[key] = button
                parts: list[w.Widget] = []
                if thumbs:
                    image = w.Image(format="png", layout=w.Layout(
                        width="60px", height="60px", object_fit="contain", visibility="hidden"))
                    self.thumbnails[key] = image
                    parts.append(image)
                cells.append(w.VBox(parts + [button], layout=w.Layout(align_items="center")))
        grid = w.GridBox(cells, layout=w.Layout(
            grid_template_columns=f"28px repeat({len(cols)}, 64px)", grid_gap="2px"))
        title = f"Plate {plate.name}: {len(present)} wells"
        heading = w.HTML(f"<div style='white-space:nowrap;overflow:hidden;"
                         f"text-overflow:ellipsis' title='{esc(title)}'><b>{esc(title)}</b></div>")
        self.plate_box.children = (heading, grid)
        self.plate_box.layout.display = ""

    def set_thumbnail(self, key: str, png: bytes) -> None:
        image = self.thumbnails.get(key)
        if image is not None:
            image.value = png
            image.layout.visibility = "visible"

    def mark_well(self, key: str | None) -> None:
        """Highlight the chosen well."""
        self.current_well = key
        for k, b in self.well_buttons.items():
            b.button_style = "info" if k == key else ""

    def show_fields(self, names: list[str], selected: str | None) -> None:
        self._set(self.fields, options=names, value=selected)
        self.fields_box.layout.display = "" if names else "none"

    def _field_chosen(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None:
            self.controller.select_field(change["new"])

    # -- generic groups ------------------------------------------------------------------------
    def show_members(
        self, path: str, members: dict[str, Any], describe: Callable[[Any], str]
    ) -> None:
        """The members of the group at ``path`` (one level), with ``..`` when not at the root."""
        options: list[tuple[str, str]] = [("⬑ ..", UP)] if path else []
        for name, member in members.items():
            options.append((f"{describe(member)} {name}", name))
        self._set(self.members, options=options, value=None)
        heading = self.members_box.children[0]
        heading.value = f"<b>Members of {esc('/' + path)}</b>"
        self.members_box.layout.display = ""

    def _member_chosen(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None:
            self.controller.select_member(change["new"])

    # -- tables of what is shown ---------------------------------------------------------------
    def show_tables(self, entries: list[tuple[str, str]]) -> None:
        """``entries``: (shown text, key) per table."""
        self._set(self.tables, options=entries, value=None)
        self.tables_box.layout.display = "" if entries else "none"

    def _table_chosen(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None:
            self.controller.select_table(change["new"])

    def reset(self) -> None:
        for box in self._boxes():
            box.layout.display = "none"
        self._close_grid()

    def _close_grid(self) -> None:
        """Close the plate grid's widgets (buttons, thumbnails, cells): a reload or another
        plate must not leave the old ones alive in the kernel and in the saved state."""
        for child in self.plate_box.children:
            close_tree(child)
        self.plate_box.children = ()
        self.well_buttons, self.thumbnails = {}, {}


def close_tree(widget: w.Widget) -> None:
    """Close ``widget`` and everything inside it (frees their comms and kernel objects)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    w.Widget.close(widget)  # not an override (Browser.close closes its tree: no recursion)
