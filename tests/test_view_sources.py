"""kit.view of a plate (one mosaic of its wells), a well's fields and a scene, without a browser.

The tile source says which wells and tiles a view needs and at which level; a DemoServer's
request log says what a zoomed view of one well really read (that well's visible tiles and the
documents of the level it had not read, nothing of the other wells); the pixels of a zoomed
well are the level's values under the spec, and a scene view's are what
``kit.render.scene.render_scene_rgb`` draws of the whole scene.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kit
from kit.render.composite import composite, to_uint8
from kit.render.plate_tiles import GAP, mosaic_of
from kit.render.spec import RenderSpec
from kit.render.tiles import TileRenderer, View, geometry

pytest.importorskip("anywidget")

H0, W0 = 512, 768
GAP_PX = round(GAP * max(H0, W0))
WELLS = ["B03", "B04", "B05", "C03", "C04"]  # C/05 is not in the plate


@pytest.fixture(scope="module")
def plate_root(tmp_path_factory) -> Path:
    from kit.demo.generate import write_plate

    root = tmp_path_factory.mktemp("mosaic")
    write_plate(root / "plate.zarr", rows="BC", columns=("03", "04", "05"),
                missing_wells=("C/05",),
                image_kwargs={"axes": "czyx", "shape": (2, 1, H0, W0),
                              "chunks": (2, 1, 128, 128), "levels": 3, "labels": ("nuclei",)})
    return root


def captured(widget: Any) -> list[tuple[dict, list]]:
    got: list[tuple[dict, list]] = []
    widget.send = lambda content, buffers=None: got.append((content, buffers or []))
    return got


def send_view(widget: Any, view: View) -> None:
    widget._on_msg(widget, {"type": "view", "id": 1, "x0": view.x0, "y0": view.y0,
                            "x1": view.x1, "y1": view.y1, "width": view.width,
                            "height": view.height, "spec": widget.spec_key, "have": []}, [])
    assert widget.wait_idle(60)


def test_mosaic_geometry_wells_tiles_and_level(plate_root: Path):
    from kit.widgets.view.session import TileSession

    mosaic = mosaic_of(kit.open(plate_root / "plate.zarr"), cell_px=64)
    parts = mosaic.parts()
    assert [p.short for p in parts] == WELLS
    assert [p.name for p in parts][:2] == ["B03 · field 0", "B04 · field 0"]
    # cells a field apart plus a gap: B04 right of B03, C03 below it
    assert parts[1].box == (W0 + GAP_PX, 0, 2 * W0 + GAP_PX, H0)
    assert parts[3].box == (0, H0 + GAP_PX, W0, 2 * H0 + GAP_PX)
    assert mosaic.levels[0].shape == (2 * H0 + GAP_PX, 3 * W0 + 2 * GAP_PX)
    session = TileSession(mosaic, prefetch=1)

    # the whole plate in 360 px: 6.6 level-0 pixels a screen pixel -> level 2 (4), and at
    # that level each well is one tile: one tile per well, no ring (nothing around it)
    whole = View(0, 0, 3 * W0 + 2 * GAP_PX, 2 * H0 + GAP_PX, 360, 160)
    level, visible, ring = session.plan_view(whole)
    assert level == 2 and visible == [(2, p, 0, 0) for p in range(5)] and ring == []

    # inside B04 at 1.5 level-0 pixels a screen pixel: level 0, that well's tiles only
    x0 = W0 + GAP_PX + 100
    zoomed = View(x0, 50, x0 + 300, 250, 200, 133)
    level, visible, ring = session.plan_view(zoomed)
    assert level == 0 and visible == [(0, 1, 0, 0), (0, 1, 0, 1)]
    assert ring and {k[1] for k in ring} == {1}  # the ring stays inside the well
    # 2 level-0 pixels a screen pixel: level 1, never finer than the screen needs
    assert session.plan_view(View(x0, 50, x0 + 300, 250, 150, 100))[0] == 1

    # a view across the gap between B03 and B04 needs the tiles of both wells, none of the gap
    across = View(W0 - 100, 0, W0 + GAP_PX + 100, 100, 231, 100)
    level, visible, _ = session.plan_view(across)
    assert level == 0 and sorted({k[1] for k in visible}) == [0, 1]
    assert (0, 0, 0, 2) in visible and (0, 1, 0, 0) in visible

    # hover: which well and which of its pixels; the gap is no well
    card = session.hover(0, W0 + GAP_PX + 10.5, 20.5)
    assert card["where"] == "B04 · field 0" and (card["x"], card["y"]) == (10, 20)
    assert "where" not in session.hover(0, W0 + GAP_PX / 2, 20)


def test_zoomed_well_reads_its_tiles_and_documents_and_shows_its_values(plate_root: Path,
                                                                      serve):
    server = serve(plate_root)
    spec = RenderSpec(windows=((100, 3000), (0, 2000)))
    server.reset_log()
    v = kit.view(kit.open(server.url + "plate.zarr"), spec, width=360, height=160,
                 prefetch=0)
    got = captured(v)
    opening = [r.path for r in server.requests]
    # opening reads what a plate overview reads: per well its document and its first
    # field's, one level's array document (the probe: all three); no chunk yet
    assert not any(p.rsplit("/", 1)[-1].isdigit() for p in opening)
    assert sum(p.endswith("/.zarray") for p in opening) == 3 + 4
    send_view(v, v._fitted())
    plate_scale = [r.path for r in server.requests if r.path.rsplit("/", 1)[-1].isdigit()]
    # each well's field at the level shown (2: 128 x 192 pixels, two chunks), one tile a well
    assert len(plate_scale) == 10 and all("/0/2/" in p for p in plate_scale)
    assert {p.split("/")[2] + p.split("/")[3] for p in plate_scale} == set(WELLS)
    (msg, buffers), = [(c, b) for c, b in got if c["type"] == "tiles"]
    assert len(msg["tiles"]) == 5 and len(buffers) == 5

    server.reset_log()
    x0 = W0 + GAP_PX + 100
    view = View(x0, 50, x0 + 300, 250, 300, 200)  # inside B04, 1:1 -> level 0
    send_view(v, view)
    paths = [r.path for r in server.requests]
    docs = [p for p in paths if not p.rsplit("/", 1)[-1].isdigit()]
    chunks = [p for p in paths if p.rsplit("/", 1)[-1].isdigit()]
    assert docs == ["/plate.zarr/B/04/0/0/.zarray"]  # the level B04 had not read yet
    # its visible tiles (two 256-pixel tiles of 128-pixel chunks, one row: 2 x 4 chunks)
    assert len(chunks) == 8 == len(set(chunks))
    assert all(p.startswith("/plate.zarr/B/04/0/0/") for p in chunks)

    # the pixels: level 0 of B04 under the spec, one screen pixel per array pixel
    picture = v.session.picture(view)
    field = kit.open(plate_root / "plate.zarr" / "B" / "04" / "0")
    values = field.read(0)[:, 0, 50:250, 100:400]
    colors = TileRenderer(field, spec, {}, geometry(field)).colors()
    want = to_uint8(composite(values, colors, [(100, 3000), (0, 2000)]))
    assert picture.shape == want.shape and np.array_equal(picture, want)


def test_settings_are_the_same_in_every_well_and_labels_per_well(plate_root: Path):
    spec = RenderSpec(windows=((0, 1000), (0, 1000)), labels="nuclei", label_style="fill",
                      opacity=1.0)
    v = kit.view(kit.open(plate_root / "plate.zarr"), spec, width=360, height=160,
                 prefetch=0)
    s = v.session
    assert s.windows == [(0, 1000), (0, 1000)]
    # a view across B03 and B04 at level 0: each well's labels are its own
    across = View(W0 - 64, 0, W0 + GAP_PX + 64, 64, 159, 64)
    level, visible, _ = s.plan_view(across)
    assert level == 0
    tiles = s.tiles(visible)
    assert {t.key[1] for t in tiles} == {0, 1}
    for well, part in (("03", 0), ("04", 1)):
        nuclei = kit.open(plate_root / "plate.zarr" / "B" / well / "0").labels["nuclei"]
        ys, xs = np.nonzero(nuclei.read(0)[0])
        x, y = xs[0] + part * (W0 + GAP_PX) + 0.5, ys[0] + 0.5
        s.tiles(s.plan_view(View(x - 8, y - 8, x + 8, y + 8, 16, 16))[1])
        card = s.hover(0, x, y)
        assert card["where"].startswith(f"B{well}")
        assert card["value"] == int(nuclei.read(0)[0][ys[0], xs[0]])


def test_auto_label_style_is_one_for_every_well_of_a_level(plate_root: Path):
    v = kit.view(kit.open(plate_root / "plate.zarr"), labels="nuclei", width=360, height=160,
                 prefetch=0)
    s = v.session
    assert s.spec.label_style == "auto"
    _, visible, _ = s.plan_view(v._fitted())
    s.tiles(visible)  # every well at the coarse level
    drawer = s.renderer
    assert list(drawer.styles) == [(2, "nuclei")]  # decided once, shared by the wells
    assert all(r.styles is drawer.styles for r in drawer._renderers.values())
    assert len(drawer._renderers) == 5


def test_scene_view_is_render_scene_rgb_and_reads_only_what_it_shows(tmp_path: Path, serve):
    from kit.demo.scenes import write_scene
    from kit.render.scene import render_scene_rgb

    write_scene(tmp_path / "s.zarr", {
        "a": {"type": "translation", "translation": [0.0, 0.0]},
        "b": {"type": "translation", "translation": [10.0, 512.0]},
        "r": {"type": "rotation", "rotation": [[0.0, -1.0], [1.0, 0.0]]}},
        shape=(256, 512), levels=3, image_options={"chunks": (64, 64)})
    scene = kit.open(tmp_path / "s.zarr")
    v = kit.view(scene, width=400, height=300, prefetch=0)
    s = v.session
    g = s.levels[0]
    # pixel edges: a y -0.5..255.5; b y 9.5..265.5, x ..1023.5; r (y, x) -> (-x, y): y -511.5..
    assert g.shape == (265 + 512, 1024) and len(s.levels) == 2
    whole = View(0, 0, g.shape[1], g.shape[0], g.shape[1], g.shape[0])
    ours = s.picture(whole)
    theirs = render_scene_rgb(scene, RenderSpec(), max(g.shape))
    assert ours.shape == theirs.shape
    assert np.abs(ours.astype(int) - theirs).max() <= 1

    # zoomed into b, over the network: b's level 0 chunks under the view, nothing else
    server = serve(tmp_path)
    v = kit.view(kit.open(server.url + "s.zarr"), width=400, height=300, prefetch=0)
    server.reset_log()
    view = View(600, 600, 728, 664, 128, 64)  # 1:1 -> level 0, one 256-pixel tile
    assert v.session.plan_view(view)[:2] == (0, [(0, 2, 2)])
    send_view(v, view)
    chunks = [r.path for r in server.requests if r.path.rsplit("/", 1)[-1].isdigit()]
    assert len(chunks) == len(set(chunks))
    # that tile is scene y 0.5..256.5, x 511.5..767.5: b's rows 0..247 and columns 0..256
    # (4 x 5 chunks of 64 at most), a's last column (x 511: chunk column 7), nothing of r
    by_member = {m: [p for p in chunks if p.startswith(f"/s.zarr/{m}/0/")] for m in "abr"}
    assert sum(map(len, by_member.values())) == len(chunks)  # level 0 only
    assert by_member["r"] == [] and 0 < len(by_member["b"]) <= 20
    assert by_member["a"] and all(p.endswith("/7") for p in by_member["a"])


def test_browse_viewer_pane_takes_the_fields_aspect_ratio(tmp_path: Path):
    from kit.demo.generate import write_image
    from kit.widgets._worker import Worker
    from kit.widgets.viewer import WIDE, ViewerPane, view_size

    # a 2560 x 2160 field (Fractal's) fills the box's height at its own aspect
    w, h = view_size((2160, 2560), 512)
    assert h == 512 - 28 and abs(w / h - 2560 / 2160) < 0.01
    assert view_size((256, 1024), 512) == (576, 144)  # a wide strip: the box's width
    assert round(512 * WIDE) == 576 and 280 + 576 + 360 + 12 <= 1280  # issue 14's layout

    write_image(tmp_path / "wide.zarr", shape=(2, 1, 128, 512), axes="czyx", levels=2,
                labels=(), tables=False)
    write_image(tmp_path / "square.zarr", shape=(2, 1, 256, 256), axes="czyx", levels=2,
                labels=(), tables=False)
    worker = Worker(max_workers=1)
    pane = ViewerPane(worker, max_size=512)
    try:
        pane._present(kit.open(tmp_path / "wide.zarr"), RenderSpec())
        view = pane.view
        assert view is not None and (view.width, view.height) == (576, 144)
        # the view fits the wide field with no band: its whole width, its whole height
        fitted = view.current_view()
        assert fitted.x1 - fitted.x0 == 512 and abs((fitted.y1 - fitted.y0) - 128) < 1e-6
        pane._present(kit.open(tmp_path / "square.zarr"), RenderSpec())
        assert pane.view is view and (view.width, view.height) == (484, 484)
        assert pane.picture_box.layout.width == "576px"  # the box (and the controls) stay
    finally:
        pane.view.close() if pane.view is not None else None
        worker.close() if hasattr(worker, "close") else None
