"""kit.view in a real browser: Voila serves ``kit.view(image)``, Debian's Chromium drives it.

The image is served by a DemoServer in this process, so its request log says what the viewer
read. Wheel-zoom until the readout says level 0, drag to pan, then: the canvas pixels are the
level-0 values under the spec (nearest neighbour: one block of identical screen pixels per
array pixel), every chunk read belongs to a tile that some view sent showed or prefetched (its
ring), each read once; hovering a nucleus shows its label id and feature row; a click selects
it (highlight drawn). Screenshots go to the test's folder (``KIT_VIEW_SHOTS`` to keep them).
The harness (Voila + Chromium) is the latency benchmark's, ``benchmarks/viewer_latency.py``.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kit
from kit.io.boxes import read_boxes
from kit.render.spec import RenderSpec
from kit.render.tiles import (
    TileRenderer,
    View,
    choose_view_level,
    geometry,
    prefetch_ring,
    resolve_windows,
    visible_tiles,
)

pytestmark = pytest.mark.browser
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

SHAPE = (2, 1, 1024, 1536)
OPTIONS = {"labels": "nuclei", "width": 640, "height": 420}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("voila", reason="voila is not installed")
    pytest.importorskip("anywidget", reason="anywidget is not installed")
    from kit.demo.generate import write_image

    write_image(tmp_path / "data" / "img.zarr", shape=SHAPE, axes="czyx", chunks=(2, 1, 256, 256),
                levels=3, labels=("nuclei",), tables=("nuclei_features",))
    return tmp_path


def shot(page, workdir: Path, name: str) -> Path:
    folder = Path(os.environ.get("KIT_VIEW_SHOTS") or workdir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"view-{name}.png"
    page.screenshot(path=str(path))
    return path


def canvas_pixels(page) -> np.ndarray:
    from PIL import Image as PILImage

    url = page.evaluate("() => document.querySelector('.ngffkit-view canvas').toDataURL()")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"))


def chunk_keys(image, spec: RenderSpec, keys) -> set[str]:
    renderer = TileRenderer(image, spec, image.labels, geometry(image))
    out = set()
    for key in keys:
        for box in renderer.plan(key).boxes():
            for piece in box.pieces():
                coords = tuple((s.start if isinstance(s, slice) else int(s)) // c
                               for s, c in zip(piece.selection, box.chunks))
                out.add(f"{box.array.store_path.path}/"
                        f"{box.array.metadata.encode_chunk_key(coords)}".lstrip("/"))
    return out


def blocks_match(canvas: np.ndarray, state: dict, tiles: list,
                 skip: tuple[int, int] = (0, 0)) -> int:
    """Each array pixel of ``tiles`` ((x0, y0) in the picture's level-0 pixels, RGB) is a
    block of identical screen pixels with its value (nearest neighbour); the pixels checked.
    ``skip``: the canvas's top-left (height, width) holding a well's name, not checked."""
    s, x0, y0 = state["scale"], state["x0"], state["y0"]
    checked = 0
    for tx0, ty0, rgb in tiles:
        # canvas position of the tile as the viewer draws it (rounded to whole pixels)
        dx, dy = round((tx0 - x0) * s), round((ty0 - y0) * s)
        sx = (round((tx0 + rgb.shape[1] - x0) * s) - dx) / rgb.shape[1]
        sy = (round((ty0 + rgb.shape[0] - y0) * s) - dy) / rgb.shape[0]
        for r in range(rgb.shape[0]):
            cy0, cy1 = dy + r * sy, dy + (r + 1) * sy
            if cy0 < 0 or cy1 > canvas.shape[0]:
                continue
            for c in range(rgb.shape[1]):
                cx0, cx1 = dx + c * sx, dx + (c + 1) * sx
                if cx0 < 0 or cx1 > canvas.shape[1] or (cy0 < skip[0] and cx0 < skip[1]):
                    continue
                block = canvas[int(np.ceil(cy0)) + 1:int(cy1) - 1,
                               int(np.ceil(cx0)) + 1:int(cx1) - 1]
                assert block.size, "a level-0 pixel is drawn smaller than 3 screen pixels"
                assert (block == block[0, 0]).all(), "not nearest neighbour"
                np.testing.assert_allclose(block[0, 0], rgb[r, c], atol=1)
                checked += 1
    return checked


def test_zoom_pan_pixels_requests_hover_and_click(workdir: Path):
    import viewer_latency as vl

    from kit.demo.server import DemoServer

    local = kit.open(workdir / "data" / "img.zarr")
    spec = RenderSpec(labels="nuclei")
    geo = geometry(local)
    with DemoServer(workdir / "data") as server, \
            vl.voila_viewer(workdir / "voila", server.url + "img.zarr", OPTIONS) as page:
        readout = page.locator(".ngffkit-readout")
        assert readout.inner_text().startswith("level 1")  # the whole image: 2.4 px a pixel
        shot(page, workdir, "fit")
        # wheel-zoom in (around the pointer) until level 0 is shown past 1:1
        for _ in range(12):
            if vl.probe(page, "p.st.scale") >= 3:
                break
            n = vl.probe(page, "p.latency.length")
            vl.wheel(page, -240)
            vl.wait_complete(page, n)
        assert readout.inner_text().startswith("level 0 · ")
        n = vl.probe(page, "p.latency.length")
        vl.drag(page, -150, -90)
        vl.wait_complete(page, n)
        vl.wait_quiet(server)
        shot(page, workdir, "zoomed")

        # the pixels: each array pixel is a block of identical screen pixels with its value
        state = vl.probe(page, "p.state()")
        assert state["level"] == 0 and state["complete"]
        canvas = canvas_pixels(page)
        s = state["scale"]  # the hover below uses the view too
        x0, y0 = state["x0"], state["y0"]
        view = View(x0, y0, state["x1"], state["y1"], state["width"], state["height"])
        renderer = TileRenderer(local, spec, local.labels, geo)
        windows = resolve_windows(local, spec, None)
        tiles = []
        for key in visible_tiles(geo[0], view):
            plan = renderer.plan(key)
            rgb, _ = renderer.draw(plan, read_boxes(plan.boxes()), windows)
            ty0, _, tx0, _ = plan.bounds
            tiles.append((tx0, ty0, rgb))
        assert blocks_match(canvas, state, tiles) > 1000

        # requests: only chunks of tiles some sent view showed or prefetched, each once
        sent = vl.probe(page, "p.sent")
        allowed: set[str] = set()
        for v in sent:
            vw = View(v["x0"], v["y0"], v["x1"], v["y1"], v["width"], v["height"])
            g = geo[choose_view_level(geo, vw)]
            allowed |= chunk_keys(local, spec, visible_tiles(g, vw) + prefetch_ring(g, vw))
        got = [r.path.split("/img.zarr/", 1)[1] for r in server.requests
               if r.method == "GET" and vl.is_chunk(r.path)]
        assert got and set(got) <= allowed, sorted(set(got) - allowed)[:5]
        assert len(got) == len(set(got)), "a chunk was read twice"
        assert chunk_keys(local, spec, visible_tiles(geo[0], view)) <= set(got)

        # hover a nucleus: its id and its feature-table row
        nuclei = local.labels["nuclei"].read(0)[0]
        box = vl.canvas_box(page)
        target = None
        for py in range(60, int(box["height"]) - 60, 7):
            for px in range(60, int(box["width"]) - 60, 7):
                ix, iy = int(x0 + (px + 0.5) / s), int(y0 + (py + 0.5) / s)
                if 0 <= iy < nuclei.shape[0] and 0 <= ix < nuclei.shape[1] and nuclei[iy, ix] \
                        and (nuclei[iy - 3:iy + 4, ix - 3:ix + 4] == nuclei[iy, ix]).all():
                    target = (px, py, int(nuclei[iy, ix]))
                    break
            if target:
                break
        assert target, "no nucleus in view"
        px, py, value = target
        page.mouse.move(box["x"] + px - 10, box["y"] + py)
        page.mouse.move(box["x"] + px, box["y"] + py, steps=3)
        card = page.locator(".ngffkit-hover")
        page.wait_for_function(
            "(v) => document.querySelector('.ngffkit-hover').dataset.value === String(v)",
            arg=value)
        text = card.inner_text()
        assert f"nuclei #{value}" in text and "area" in text
        shot(page, workdir, "hover")
        page.mouse.click(box["x"] + px, box["y"] + py)
        page.wait_for_function(
            "(v) => document.querySelector('.ngffkit-view').dataset.selected === String(v)",
            arg=value)
        time.sleep(0.3)
        after = canvas_pixels(page)
        def yellow(a: np.ndarray) -> int:
            return int(((a[..., 0] > 200) & (a[..., 1] > 200) & (a[..., 2] < 80)).sum())

        assert yellow(after) > yellow(canvas) + 20, "the selected object is not highlighted"
        shot(page, workdir, "selected")

        # double-click zooms in twice around the pointer; keys: "-" out, "0" fits the image
        scale = vl.probe(page, "p.st.scale")
        page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("(s) => window.__ngffkit.at(-1).st.scale > 1.9 * s", arg=scale)
        page.locator(".ngffkit-view").press("-")
        page.wait_for_function("(s) => window.__ngffkit.at(-1).st.scale < 1.9 * s", arg=scale)
        page.locator(".ngffkit-view").press("0")
        page.wait_for_function("() => document.querySelector('.ngffkit-readout').textContent"
                               ".startsWith('level 1')")


def test_plate_mosaic_zoom_into_a_well(workdir: Path):
    """The plate as one picture: every well at the coarse level with its name, then a wheel
    zoom into B04 until its level 0 shows, its pixels the field's level-0 values."""
    import viewer_latency as vl

    from kit.demo.generate import write_plate
    from kit.demo.server import DemoServer
    from kit.render.plate_tiles import GAP

    h0, w0 = 512, 768
    write_plate(workdir / "data" / "plate.zarr", rows="BC", columns=("03", "04", "05"),
                missing_wells=("C/05",),
                image_kwargs={"axes": "czyx", "shape": (2, 1, h0, w0),
                              "chunks": (2, 1, 128, 128), "levels": 3, "labels": ()})
    gap = round(GAP * max(h0, w0))
    with DemoServer(workdir / "data") as server, \
            vl.voila_viewer(workdir / "voila", server.url + "plate.zarr",
                            {"width": 640, "height": 420}) as page:
        page.wait_for_function("() => window.__ngffkit.at(-1).st.complete")
        parts = vl.probe(page, "p.st.parts")
        assert [p["short"] for p in parts] == ["B03", "B04", "B05", "C03", "C04"]
        assert page.locator(".ngffkit-readout").inner_text().startswith("level 1")
        shot(page, workdir, "plate")
        whole = canvas_pixels(page)
        # the gap between B03 and B04 is frame colour, not picture
        state = vl.probe(page, "p.state()")
        gx = round((w0 + gap / 2 - state["x0"]) * state["scale"])
        gy = round((h0 / 2 - state["y0"]) * state["scale"])
        assert (whole[gy, gx] == (20, 20, 20)).all()

        # hover names the well and the field under the pointer
        box = vl.canvas_box(page)
        b04 = parts[1]
        cx, cy = (b04["x0"] + b04["x1"]) / 2 + 17, (b04["y0"] + b04["y1"]) / 2 + 11
        px = box["x"] + (cx - state["x0"]) * state["scale"]
        py = box["y"] + (cy - state["y0"]) * state["scale"]
        page.mouse.move(px - 10, py)
        page.mouse.move(px, py, steps=3)
        page.wait_for_function("() => document.querySelector('.ngffkit-hover').dataset.where"
                               " === 'B04 · field 0'")
        # a double-click on a small well fits that well, "0" fits the plate again
        page.mouse.dblclick(px, py)
        page.wait_for_function("(x) => { const v = window.__ngffkit.at(-1).state();"
                               " return Math.abs((v.x0 + v.x1) / 2 - x) < 1; }",
                               arg=(b04["x0"] + b04["x1"]) / 2)
        page.locator(".ngffkit-view").press("0")
        page.wait_for_function("(s) => Math.abs(window.__ngffkit.at(-1).st.scale - s) < 1e-6",
                               arg=state["scale"])
        # wheel-zoom around that point of B04 until its level 0 shows past 1:1
        for _ in range(14):
            if vl.probe(page, "p.st.scale") >= 3:
                break
            n = vl.probe(page, "p.latency.length")
            vl.wheel(page, -240, at=(px, py))
            vl.wait_complete(page, n)
        assert page.locator(".ngffkit-readout").inner_text().startswith("level 0 · ")
        vl.wait_quiet(server)
        shot(page, workdir, "plate-well")
        state = vl.probe(page, "p.state()")
        assert state["complete"]
        canvas = canvas_pixels(page)
        field = kit.open(workdir / "data" / "plate.zarr" / "B" / "04" / "0")
        spec = RenderSpec()
        geo = geometry(field)
        renderer = TileRenderer(field, spec, {}, geo)
        # every well is drawn with the first well's windows (settings shared by the plate)
        windows = resolve_windows(kit.open(workdir / "data" / "plate.zarr" / "B" / "03" / "0"),
                                  spec, None)
        local = View(state["x0"] - b04["x0"], state["y0"] - b04["y0"], state["x1"] - b04["x0"],
                     state["y1"] - b04["y0"], state["width"], state["height"])
        tiles = []
        for key in visible_tiles(geo[0], local):
            plan = renderer.plan(key)
            rgb, _ = renderer.draw(plan, read_boxes(plan.boxes()), windows)
            ty0, _, tx0, _ = plan.bounds
            tiles.append((b04["x0"] + tx0, b04["y0"] + ty0, rgb))
        # the well's name sits in the top-left corner, over the picture (a dark box)
        assert tiles and blocks_match(canvas, state, tiles, skip=(40, 90)) > 1000
        # requests: only chunks of tiles some sent view showed or prefetched (its ring, which
        # stays inside each well), each once; the level-0 chunks under the view are B04's
        from kit.render.plate_tiles import mosaic_of
        from kit.widgets.view.session import TileSession

        session = TileSession(mosaic_of(kit.open(workdir / "data" / "plate.zarr")), prefetch=1)

        def chunks_of(keys) -> set[str]:
            session.renderer.prepare(keys)
            out = set()
            for key in keys:
                for bx in session.renderer.plan(key).boxes():
                    for piece in bx.pieces():
                        coords = tuple((sl.start if isinstance(sl, slice) else int(sl)) // c
                                       for sl, c in zip(piece.selection, bx.chunks))
                        out.add(f"{bx.array.store_path.path}/"
                                f"{bx.array.metadata.encode_chunk_key(coords)}".lstrip("/"))
            return out

        allowed: set[str] = set()
        for sv in vl.probe(page, "p.sent"):
            _, vis, ring = session.plan_view(View(sv["x0"], sv["y0"], sv["x1"], sv["y1"],
                                                  sv["width"], sv["height"]))
            allowed |= chunks_of(vis + ring)
        got = [r.path.split("/plate.zarr/", 1)[1] for r in server.requests
               if r.method == "GET" and vl.is_chunk(r.path)]
        assert got and set(got) <= allowed, sorted(set(got) - allowed)[:5]
        assert len(got) == len(set(got)), "a chunk was read twice"
        final = View(state["x0"], state["y0"], state["x1"], state["y1"], state["width"],
                     state["height"])
        level, shown, _ = session.plan_view(final)
        assert level == 0 and {k[1] for k in shown} == {1}
        assert chunks_of(shown) <= set(got)
        assert all(p.startswith("B/04/0/0/") for p in chunks_of(shown))
