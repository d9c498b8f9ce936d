"""The viewer's controls (issue 14 points 2 and 3): contrast from the data, settings that survive
the next well, only the controls that do something, controls reused instead of rebuilt.

Headless like tests/test_widgets.py: ipywidgets' dummy comm, traits set and read directly. The
16-bit checks run on the real Fractal plate in /work/shared/data (uint16, window 110-800).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets
import numpy as np
import pytest
from ipywidgets.widgets import widget as widget_module

import kit
from kit.demo.generate import write_image, write_plate
from kit.render.contrast import auto_window, channel_stats, slider_range
from kit.render.png import to_png
from kit.widgets import Browser
from kit.widgets.channels import histogram_svg
from kit.widgets.viewer import roi_box

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

WAIT = 60.0


def png(widget: Any) -> bytes:
    """PNG bytes of an Image widget, or of what the viewer's pan/zoom view shows now (the
    tiles of the level it reads, put together; b"" before the first image)."""
    if widget is None:
        return b""
    if isinstance(widget, ipywidgets.Image):
        return bytes(widget.value)
    return to_png(widget.picture())


def pixels(view: Any) -> np.ndarray:
    return view.picture().astype(np.int16)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Two wells x two fields, 3 channels, z=4, labels; and a 2-D single-level image."""
    root = tmp_path_factory.mktemp("controls")
    write_plate(root / "plate.zarr", rows="B", columns=("03", "04"), fields=2,
                image_kwargs={"axes": "czyx", "shape": (3, 4, 96, 96), "chunks": (1, 1, 48, 48),
                              "levels": 2, "labels": ("nuclei",), "tables": True,
                              "scale": {"z": 1.0, "y": 0.5, "x": 0.5}},
                seed=11)
    write_image(root / "flat.zarr", axes="cyx", shape=(2, 64, 64), levels=1, labels=())
    return root


def open_browser(path: Path, well: str | None = "B/03") -> Browser:
    b = kit.browse(str(path), thumbnails=False)
    assert b.wait_idle(WAIT), b.message.value
    if well is not None:
        b.select_well(well)
        assert b.wait_idle(WAIT), b.message.value
        assert png(b.viewer.picture).startswith(b"\x89PNG"), b.message.value
    return b


@pytest.fixture
def browser(data_root):
    b = open_browser(data_root / "plate.zarr")
    yield b
    b.close()


# -- kit.render.contrast: numpy only -------------------------------------------------------------


def test_stats_of_16_bit_data_give_a_window_and_range_inside_the_data():
    rng = np.random.default_rng(0)
    data = rng.normal(300, 40, (256, 256)).clip(0).astype(np.uint16)
    data[0, 0] = 60000  # one hot pixel
    stats = channel_stats(data)
    assert stats.integer and stats.low == data.min() and stats.high == 60000
    lo, hi = stats.auto
    assert data.min() <= lo < hi <= 1000  # the hot pixel does not set the window
    assert (lo, hi) == auto_window(data)
    assert stats.counts.sum() == data.size and len(stats.edges) == len(stats.counts) + 1
    assert stats.log_counts().max() == pytest.approx(np.log1p(stats.counts.max()))
    assert stats.top == hi + (hi - lo)  # the hot pixel does not stretch the range either
    assert stats.counts[-1] == np.count_nonzero(data >= stats.edges[-2])  # it is in the last bin
    # the slider spans the data and the window, within the omero min/max
    assert slider_range(stats, (200, 300), limits=(0, 65535)) == (float(data.min()), stats.top)
    assert slider_range(stats, (110, 800), limits=(0, 65535)) == (110.0, 800.0)
    assert slider_range(None, (110, 800), limits=(0, 65535)) == (110.0, 800.0)
    assert slider_range(stats, (200, 300), limits=(150, 400)) == (150.0, 400.0)
    assert slider_range(stats, (100, 300), limits=(150, 400)) == (100.0, 400.0)


def test_stats_of_flat_empty_and_float_data():
    flat = channel_stats(np.full((8, 8), 7, np.uint16))
    assert flat.auto == (7.0, 8.0) and flat.top == 8.0 and flat.counts.sum() == 64
    empty = channel_stats(np.array([np.nan, np.inf], np.float32))
    assert empty.auto == (0.0, 1.0) and empty.counts.sum() == 0
    floats = channel_stats(np.linspace(0.0, 1.0, 10001))
    assert not floats.integer
    assert floats.auto == pytest.approx((0.001, 0.999), abs=1e-6)


def test_histogram_svg_marks_the_window_in_the_channel_colour():
    stats = channel_stats(np.arange(1000, dtype=np.uint16))
    svg = histogram_svg(stats, (250.0, 750.0), (0.0, 1000.0), "#00ffff")
    assert svg.startswith("<svg") and "#00ffff" in svg
    assert "x='250.0'" in svg and "x='747.0'" in svg  # the band and the right edge marker
    assert "#999999" in histogram_svg(stats, None, (0.0, 1000.0), "#00ffff", on=False)


# -- 16-bit data: the real plate -----------------------------------------------------------------


def test_real_plate_sliders_span_the_data_not_the_dtype_and_auto_stays_inside(real_plate):
    b = open_browser(real_plate)
    try:
        v = b.viewer
        dapi = v.rows[0]
        assert dapi.visible.description == "DAPI"
        assert dapi.window.value == (110.0, 800.0) and dapi.window.step == 1.0
        lo, hi = dapi.window.min, dapi.window.max
        assert (lo, hi) != (0.0, 65535.0)
        assert hi < 65535 * 0.25, (lo, hi)  # 110-800 is a usable part of the track, not 1 %
        assert (800 - 110) / (hi - lo) > 0.05
        stats = dapi.stats
        assert stats is not None and not dapi.auto.disabled
        assert (lo, hi) == (min(stats.low, 110.0), max(stats.top, 800.0))
        before = png(v.picture)
        dapi.auto.click()
        assert b.wait_idle(WAIT)
        start, end = dapi.window.value
        assert stats.low <= start < end <= stats.high
        assert dapi.window.min <= start < end <= dapi.window.max
        assert (start, end) == stats.auto
        assert v.snapshot().windows[0] == (start, end)
        assert png(v.picture) != before
        assert "<rect" in dapi.histogram.value
    finally:
        b.close()


# -- settings persist across wells, fields and ROI -----------------------------------------------


def test_settings_survive_another_well_and_field(browser):
    v = browser.viewer
    rows = v.rows
    rows[1].visible.value = False
    rows[0].window.value = (rows[0].window.min, rows[0].window.min + 10)
    window0 = rows[0].current_window
    rows[2].color.value = "#ff8800"
    v.label_dropdown.value = "nuclei"
    v.label_style.value = "fill"
    v.opacity_slider.value = 0.8
    assert browser.wait_idle(WAIT)
    before = v.snapshot()
    assert before.channels == (0, 2) and before.windows[0] == window0

    browser.select_well("B/04")
    assert browser.wait_idle(WAIT)
    browser.select_field("1")
    assert browser.wait_idle(WAIT)
    assert browser.node.path.endswith("B/04/1")
    after = v.snapshot()
    assert after.channels == (0, 2)
    assert after.windows[0] == window0
    assert (after.labels, after.label_style, after.opacity) == (("nuclei",), "fill", 0.8)
    assert after.colors[1] == (0xff, 0x88, 0x00)
    assert [r.visible.value for r in v.shown_rows] == [True, False, True]

    # a ROI zoom keeps them too, and does not recompute a window from the ROI's pixels
    table = browser._tables["FOV_ROI_table"]
    browser.zoom_to_roi(table.to_pandas().iloc[0], "FOV_1")
    assert browser.wait_idle(WAIT)
    zoomed = v.snapshot()
    assert v.roi is not None and zoomed.windows == after.windows
    assert v.view.session.windows == list(after.windows)
    assert v.view.focus["box"] is not None  # the view moved to the ROI's box


def test_colour_picker_changes_the_picture(browser):
    v = browser.viewer
    before = pixels(v.picture)
    for row in v.shown_rows[1:]:
        row.visible.value = False
    assert browser.wait_idle(WAIT)
    v.rows[0].color.value = "#ff0000"
    assert browser.wait_idle(WAIT)
    red = pixels(v.picture)
    assert red[..., 0].max() > 0 and red[..., 1].max() == 0 and red[..., 2].max() == 0
    assert not np.array_equal(red, before)


# -- only the controls that do something ---------------------------------------------------------


def test_a_2d_single_level_image_without_labels_shows_no_z_or_label_controls(data_root):
    b = kit.browse(str(data_root / "flat.zarr"))
    try:
        assert b.wait_idle(WAIT), b.message.value
        v = b.viewer
        assert png(v.picture).startswith(b"\x89PNG")
        assert v.z_slider.layout.display == "none" and v.t_slider.layout.display == "none"
        assert not hasattr(v, "level_dropdown")  # the view picks the level from the zoom
        assert v.label_box.layout.display == "none"
        assert len(v.shown_rows) == 2
    finally:
        b.close()


def test_label_style_and_opacity_show_only_with_a_label(browser):
    v = browser.viewer
    assert v.z_slider.layout.display == ""
    assert v.label_box.layout.display == ""
    assert v.label_style.layout.display == "none" and v.opacity_slider.layout.display == "none"
    v.label_dropdown.value = "nuclei"
    for style in ("outline", "fill"):
        v.label_style.value = style
        assert v.label_style.layout.display == "" and v.opacity_slider.layout.display == ""


@pytest.mark.parametrize("style", ["fill", "outline"])
def test_opacity_changes_the_label_pixels(browser, style):
    v = browser.viewer
    v.label_dropdown.value = "nuclei"
    v.label_style.value = style
    shown = {}
    for opacity in (0.2, 1.0):
        v.opacity_slider.value = opacity
        assert browser.wait_idle(WAIT)
        assert v.snapshot().opacity == opacity and v.snapshot().label_style == style
        shown[opacity] = pixels(v.picture)
    assert not np.array_equal(shown[0.2], shown[1.0])


# -- layout: a placeholder, not a broken image; one-line title -----------------------------------


def test_no_broken_image_before_a_well_is_chosen(data_root):
    b = open_browser(data_root / "plate.zarr", well=None)
    try:
        v = b.viewer
        assert v.picture is None and png(v.picture) == b""
        assert v.picture_box.children == (v.placeholder,) and "Choose a well" in \
            v.placeholder.value
        assert b.navigation.thumbnails == {}  # thumbnails=False: no empty image slots either
        b.select_well("B/03")
        assert b.wait_idle(WAIT)
        assert v.picture_box.children == (v.picture,)  # the view, not the placeholder
        assert "nowrap" in b.title.value and "ellipsis" in b.title.value
        assert b.title.layout.min_width == "0"  # may shrink below its text: no reflow
    finally:
        b.close()


def test_thumbnail_slots_stay_invisible_until_their_picture_arrives(data_root, monkeypatch):
    from kit.widgets import browser as browser_module

    monkeypatch.setattr(browser_module.Browser, "_start_thumbnails", lambda self, plate: None)
    b = kit.browse(str(data_root / "plate.zarr"))
    try:
        assert b.wait_idle(WAIT)
        slots = b.navigation.thumbnails
        assert set(slots) == {"B/03", "B/04"}
        assert all(i.layout.visibility == "hidden" for i in slots.values())
        b.navigation.set_thumbnail("B/03", b"\x89PNG fake")
        assert slots["B/03"].layout.visibility == "visible"
        assert slots["B/04"].layout.visibility == "hidden"
    finally:
        b.close()


# -- controls reused, not rebuilt ---------------------------------------------------------------


def live_widgets() -> dict[str, int]:
    counts: dict[str, int] = {}
    for wid in list(widget_module._instances.values()):
        counts[type(wid).__name__] = counts.get(type(wid).__name__, 0) + 1
    return counts


def test_twelve_image_changes_create_no_widgets(browser):
    start = live_widgets()
    for i in range(12):
        browser.select_well(("B/03", "B/04")[i % 2])
        assert browser.wait_idle(WAIT)
        browser.select_field(str(i % 2))
        assert browser.wait_idle(WAIT)
    end = live_widgets()
    grown = {k: end.get(k, 0) - n for k, n in start.items() if end.get(k, 0) != n}
    grown.update({k: n for k, n in end.items() if k not in start})
    assert sum(end.values()) - sum(start.values()) <= 0, grown
    assert len(browser.viewer.channel_toggles) == 3
    assert end.get("ToggleButton", 0) == 0  # the old code had 36 after 12 changes


# -- the picture is the pan/zoom view: controls set its spec, wells its image -------------------


def front_view(view: Any, box: tuple[float, float, float, float], size: int = 512) -> list:
    """Send ``view`` a "view" message as the front end does; the tiles it answers with."""
    got: list = []
    view.send = lambda content, buffers=None: got.append(content)
    x0, y0, x1, y1 = box
    view._on_msg(view, {"type": "view", "id": 1, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                        "width": size, "height": size, "spec": view.spec_key, "have": []}, [])
    assert view.wait_idle(WAIT)
    return [t for c in got if c["type"] == "tiles" for t in c["tiles"]]


def chunk_gets(server: Any) -> list[str]:
    return [r.path for r in server.requests if r.method == "GET"
            and not r.path.rsplit("/", 1)[-1].startswith(".") and "zarr.json" not in r.path]


def test_a_control_change_redraws_the_view_from_the_data_already_read(data_root, serve):
    server = serve(data_root)
    b = kit.browse(server.url + "plate.zarr", thumbnails=False)
    try:
        assert b.wait_idle(WAIT)
        b.select_well("B/03")
        assert b.wait_idle(WAIT)
        v = b.viewer
        view = v.picture
        assert view is not None and v.picture_box.children == (view,)
        assert front_view(view, (0, 0, 96, 96))  # the front end's first view: tiles read
        before, key = len(chunk_gets(server)), view.spec_key
        shown = pixels(view)
        v.rows[0].window.value = (v.rows[0].window.min, v.rows[0].window.min + 5)
        v.rows[1].color.value = "#ff00ff"
        v.label_dropdown.value = ""
        v.gamma_slider.value = 0.5
        assert b.wait_idle(WAIT)
        assert view.spec.windows[0] == v.rows[0].current_window and view.spec.gamma == 0.5
        assert view.spec.colors[1] == (255, 0, 255) and view.spec_key != key
        assert front_view(view, (0, 0, 96, 96))  # the front end asks again: redrawn tiles
        assert not np.array_equal(pixels(view), shown)
        assert len(chunk_gets(server)) == before, chunk_gets(server)[before:]  # no new reads
        assert v.picture is view  # one view, reused
    finally:
        b.close()


def test_another_well_keeps_the_zoom_and_a_roi_moves_the_view(browser):
    v = browser.viewer
    view = v.picture
    zoom = (24.0, 24.0, 48.0, 48.0)
    front_view(view, zoom)  # the user zoomed in on a quarter of the image
    zoomed = view.current_view()
    assert (zoomed.x0, zoomed.x1) == (24.0, 48.0)
    browser.select_well("B/04")
    assert browser.wait_idle(WAIT)
    assert browser.node.path.endswith("B/04/0") and view.image is browser.node
    assert v.picture is view and view.current_view() == zoomed  # same size: same zoom
    assert pixels(view).shape[:2] == (24, 24)  # level 0, the zoomed box only

    table = browser._tables["FOV_ROI_table"]
    row = table.to_pandas().iloc[0]
    browser.zoom_to_roi(row, "FOV_1")
    assert browser.wait_idle(WAIT)
    box = view.focus["box"]
    x0, y0, x1, y1 = roi_box(browser.node, row)
    assert box == [x0, y0, x1, y1] and "FOV_1" in v.status.value
    assert view.current_view().x0 <= x0 and view.current_view().x1 >= x1
