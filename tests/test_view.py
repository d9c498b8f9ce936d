"""kit.view without a browser: the level and tile maths, and the widget's kernel side.

The kernel side is driven the way the front end drives it (the widget's message handler gets
``view``/``hover``/``click`` messages, ``send`` is captured) against a DemoServer, whose request
log says which chunks were read: only those of the tiles a view shows, then its prefetch ring,
each once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kit
from kit.render.composite import composite, to_uint8
from kit.render.spec import RenderSpec
from kit.render.tiles import (
    PREFETCH_PER_VIEW,
    LevelGeometry,
    TileRenderer,
    View,
    ahead_first,
    choose_view_level,
    geometry,
    prefetch_ring,
    tile_side,
    visible_tiles,
)

pytest.importorskip("anywidget")

SHAPE = (2, 1, 1024, 1536)  # c, z, y, x
CHUNKS = (2, 1, 256, 256)   # both channels in one chunk: one request per image tile


# -- maths --------------------------------------------------------------------------------------

LEVELS = [LevelGeometry(0, (1000, 1500), (1.0, 1.0), (256, 256)),
          LevelGeometry(1, (500, 750), (2.0, 2.0), (256, 256)),
          LevelGeometry(2, (250, 375), (4.0, 4.0), (256, 256))]


@pytest.mark.parametrize("chunk, side", [(64, 256), (100, 300), (256, 256), (512, 512),
                                         (1000, 1000), (2160, 720), (4096, 1024), (1, 256)])
def test_tiles_are_aligned_to_chunks(chunk: int, side: int):
    assert tile_side(chunk) == side
    assert side % chunk == 0 or chunk % side == 0  # whole chunks, or a chunk split evenly


@pytest.mark.parametrize("screen, level", [(0.25, 0), (1.0, 0), (1.9, 0), (2.0, 1), (3.99, 1),
                                           (4.0, 2), (100.0, 2)])
def test_level_is_the_coarsest_whose_pixel_is_no_larger_than_a_screen_pixel(screen, level):
    view = View(0, 0, 800 * screen, 600 * screen, 800, 600)
    assert choose_view_level(LEVELS, view) == level


def test_visible_tiles_and_ring():
    g = LEVELS[0]
    view = View(300, 10, 700, 500, 400, 490)  # x tiles 1..2, y tiles 0..1
    assert visible_tiles(g, view) == [(0, 0, 1), (0, 0, 2), (0, 1, 1), (0, 1, 2)]
    ring = prefetch_ring(g, view)
    assert set(ring) == {(0, r, c) for r in range(0, 3) for c in range(0, 4)} - set(
        visible_tiles(g, view))  # row -1 is outside the level
    assert prefetch_ring(g, view, 0) == []
    # a view wholly outside the image shows no tile
    assert visible_tiles(g, View(5000, 5000, 6000, 6000, 100, 100)) == []
    # an edge exactly on a tile boundary does not pull in the next tile
    assert visible_tiles(g, View(0, 0, 256, 256, 256, 256)) == [(0, 0, 0)]


@pytest.mark.parametrize("bad", [{"x0": 0, "y0": 0, "x1": 0, "y1": 5, "width": 5, "height": 5},
                                 {"x0": "nan", "y0": 0, "x1": 1, "y1": 5, "width": 5,
                                  "height": 5},
                                 {"x0": 0, "y0": 0, "x1": 1, "y1": 5, "width": 0, "height": 5}])
def test_nonsense_views_are_refused(bad: dict):
    with pytest.raises(ValueError):
        View.from_message(bad)


# -- the kernel side against a server ------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from kit.demo.generate import write_image

    root = tmp_path_factory.mktemp("view")
    write_image(root / "img.zarr", shape=SHAPE, axes="czyx", chunks=CHUNKS, levels=3,
                labels=("nuclei",), tables=("nuclei_features",))
    return root


def chunk_paths(image: Any, keys: list, spec: RenderSpec) -> set[str]:
    """The chunk files (paths below the served root's image) the tiles ``keys`` read."""
    renderer = TileRenderer(image, spec, image.labels, geometry(image))
    out: set[str] = set()
    for key in keys:
        for box in renderer.plan(key).boxes():
            for piece in box.pieces():
                coords = [(s.start if isinstance(s, slice) else int(np.asarray(s).flat[0])) // c
                          for s, c in zip(piece.selection, box.chunks)]
                path = box.array.store_path.path
                out.add(f"{path}/{box.array.metadata.encode_chunk_key(tuple(coords))}".lstrip("/"))
    return out


def chunk_requests(server: Any, prefix: str = "/img.zarr/") -> list[str]:
    """Chunk GETs the server answered (metadata documents left out), in order."""
    out = []
    for r in server.requests:
        name = r.path.rsplit("/", 1)[-1]
        if r.method == "GET" and r.path.startswith(prefix) and not name.startswith(".") \
                and name != "zarr.json" and "tables" not in r.path:
            out.append(r.path[len(prefix):])
    return out


class Front:
    """The front end's side of the messages: sends views, keeps what the kernel answers."""

    def __init__(self, widget: Any):
        self.w = widget
        self.got: list[tuple[dict, list]] = []
        self.ids = 0
        widget.send = lambda content, buffers=None: self.got.append((content, buffers or []))
        self.have: set[str] = set()

    def view(self, x0, y0, x1, y1, width, height, wait: bool = True) -> None:
        self.ids += 1
        self.w._on_msg(self.w, {"type": "view", "id": self.ids, "x0": x0, "y0": y0, "x1": x1,
                                "y1": y1, "width": width, "height": height,
                                "spec": self.w.spec_key, "have": sorted(self.have)}, [])
        if wait:
            assert self.w.wait_idle(60)
            self.collect()

    def collect(self) -> None:
        for content, _ in self.got:
            if content["type"] == "tiles" and content["spec"] == self.w.spec_key:
                self.have.update(t["key"] for t in content["tiles"])

    def tiles(self, kind: str = "tiles") -> list[tuple[dict, bytes]]:
        out = []
        for content, buffers in self.got:
            if content["type"] == "tiles":
                metas = content[kind]
                start = 0 if kind == "tiles" else len(content["tiles"])
                out += list(zip(metas, buffers[start:start + len(metas)]))
        return out


def open_view(server: Any, **options: Any) -> tuple[Any, Front]:
    image = kit.open(server.url + "img.zarr")
    w = kit.view(image, width=512, height=256, **options)
    return w, Front(w)


def test_a_view_reads_only_its_tiles_then_the_ring_each_once(data: Path, serve):
    server = serve(data)
    w, front = open_view(server)
    server.reset_log()
    # the whole image in a 512 x 341 canvas: 3 level-0 pixels a screen pixel -> level 1
    front.view(0, 0, 1536, 1024, 512, 341)
    level, visible, ring = w.session.plan_view(View(0, 0, 1536, 1024, 512, 341))
    assert level == 1 and len(visible) == 6 and ring == []  # level 1 is 3 x 2 tiles
    image = kit.open(data / "img.zarr")
    assert sorted(chunk_requests(server)) == sorted(chunk_paths(image, visible, w.spec))
    sent = front.got[0][0]
    assert sent["level"] == 1 and {t["key"] for t in sent["tiles"]} == {
        f"1/{r}/{c}" for _, r, c in visible}

    # zoomed in to 2:1 at the top-left: level 0, one tile visible, its ring prefetched after
    server.reset_log()
    front.got.clear()
    front.view(0, 0, 256, 128, 512, 256)
    level, visible, ring = w.session.plan_view(View(0, 0, 256, 128, 512, 256))
    assert (level, visible) == (0, [(0, 0, 0)]) and set(ring) == {(0, 0, 1), (0, 1, 0),
                                                                   (0, 1, 1)}
    # the ring nearest first (no motion: a zoom); only PREFETCH_PER_VIEW of it is read
    assert ring == [(0, 0, 1), (0, 1, 0), (0, 1, 1)] and PREFETCH_PER_VIEW == 2
    first, second = front.got[0][0], front.got[1][0]
    assert [t["key"] for t in first["tiles"]] == ["0/0/0"] and not first["prefetch"]
    assert second["prefetch"] and [t["key"] for t in second["tiles"]] == ["0/0/1", "0/1/0"]
    requests = chunk_requests(server)
    assert sorted(requests) == sorted(chunk_paths(image, visible + ring[:2], w.spec))
    assert len(requests) == len(set(requests))  # every chunk once: visible + 2 at most

    # a pan right and down onto prefetched tiles reads no visible tile, and prefetches the two
    # ring tiles ahead of the motion (column 2), not the one behind it (0, 1, 1)
    server.reset_log()
    front.got.clear()
    front.view(200, 100, 456, 228, 512, 256)
    assert sorted(chunk_requests(server)) == sorted(
        chunk_paths(image, [(0, 0, 2), (0, 1, 2)], w.spec))
    # back: its visible tile is held; the one ring tile it never had is its prefetch
    server.reset_log()
    front.view(0, 0, 256, 128, 512, 256)
    assert sorted(chunk_requests(server)) == sorted(chunk_paths(image, [(0, 1, 1)], w.spec))
    resent = [t for t, _ in front.tiles() if t["key"] in {"0/0/0", "0/0/1", "0/1/0"}]
    assert resent == []


def test_the_ring_ahead_of_the_motion_comes_first():
    g = LEVELS[0]  # 256 px tiles
    before, after = View(300, 10, 700, 500, 400, 490), View(400, 10, 800, 500, 400, 490)
    ring = [(g, k) for k in prefetch_ring(g, after)]  # visible: rows 0-1, columns 1-3
    ahead = ahead_first(ring, after, before)  # moved right: column 4 first, column 0 last
    assert set(ahead[:3]) == {(0, 0, 4), (0, 1, 4), (0, 2, 4)}
    assert set(ahead[-3:]) == {(0, 0, 0), (0, 1, 0), (0, 2, 0)}
    assert sorted(ahead) == sorted(k for _, k in ring)
    # no motion, or a zoom: nearest the centre (600, 255) first, i.e. the tile below it
    zoomed_from = View(0, 0, 1500, 1000, 400, 490)
    assert ahead_first(ring, after)[0] == ahead_first(ring, after, after)[0] == (0, 2, 2)
    assert ahead_first(ring, after, zoomed_from) == ahead_first(ring, after)


def test_tile_pixels_are_the_level_values_under_the_spec(data: Path, serve):
    server = serve(data)
    spec = RenderSpec(channels=(0, 1), windows=((100, 3000), (0, 2000)))
    w, front = open_view(server, spec=spec)
    front.view(0, 0, 512, 256, 512, 256)  # 1:1 -> level 0
    (meta, raw), = [(m, b) for m, b in front.tiles() if m["key"] == "0/0/1"]
    got = np.frombuffer(bytes(raw), np.uint8).reshape(meta["h"], meta["w"], 4)
    level0 = kit.open(data / "img.zarr").read(0)[:, 0, 0:256, 256:512]
    image = kit.open(data / "img.zarr")
    colors = TileRenderer(image, spec, {}, geometry(image)).colors()
    want = to_uint8(composite(level0, colors, [(100, 3000), (0, 2000)]))
    assert np.array_equal(got[..., :3], want)
    assert (got[..., 3] == 255).all()

    # another window redraws from the data read: new tiles, no request
    server.reset_log()
    old_key = w.spec_key
    w.spec = spec.with_(windows=((0, 500), (0, 500)))
    assert w.spec_key != old_key
    front.got.clear()
    front.have.clear()
    front.view(0, 0, 512, 256, 512, 256)
    assert chunk_requests(server) == []
    (meta, raw), = [(m, b) for m, b in front.tiles() if m["key"] == "0/0/1"]
    got = np.frombuffer(bytes(raw), np.uint8).reshape(meta["h"], meta["w"], 4)
    assert np.array_equal(got[..., :3], to_uint8(composite(level0, colors, [(0, 500)] * 2)))


def test_latest_view_wins(data: Path, serve):
    server = serve(data)
    w, front = open_view(server)
    gate = threading.Event()
    real = w.session.tiles
    served: list[list] = []

    def slow(keys):
        gate.wait(30)
        served.append(list(keys))
        return real(keys)

    w.session.tiles = slow
    w.prefetch = 0
    front.view(0, 0, 1536, 1024, 512, 341, wait=False)   # being served (held at the gate)
    threading.Event().wait(0.2)
    front.view(0, 0, 256, 128, 512, 256, wait=False)     # replaced by the next one
    front.view(1280, 768, 1536, 896, 512, 256, wait=False)
    gate.set()
    assert w.wait_idle(60)
    ids = [c["id"] for c, _ in front.got if c["type"] == "tiles"]
    assert ids == [1, 3]
    assert served[-1] == [(0, 3, 5)]


def test_hover_shows_the_label_and_its_feature_row_click_selects_it(data: Path, serve):
    server = serve(data)
    w, front = open_view(server, labels="nuclei", label_style="fill", opacity=0.4)
    front.view(0, 0, 512, 256, 512, 256)
    nuclei = kit.open(data / "img.zarr").labels["nuclei"].read(0)[0]
    ys, xs = np.nonzero(nuclei[:256, :512])
    y, x = int(ys[len(ys) // 2]), int(xs[len(xs) // 2])
    value = int(nuclei[y, x])
    w._on_msg(w, {"type": "hover", "id": 7, "x": x + 0.5, "y": y + 0.5}, [])
    assert w.wait_idle(60)
    card = [c for c, _ in front.got if c["type"] == "hover"][-1]
    assert card["id"] == 7 and card["value"] == value and card["label"] == "nuclei"
    df = kit.open(data / "img.zarr").tables["nuclei_features"].to_pandas()
    assert card["table"] == "nuclei_features"
    assert card["row"]["area"] == pytest.approx(float(df.loc[value, "area"]), rel=1e-3)
    assert w.hover["value"] == value

    front.got.clear()
    w._on_msg(w, {"type": "click", "x": x + 0.5, "y": y + 0.5}, [])
    assert w.wait_idle(60)
    assert w.selected["value"] == value and w.selected["name"] == "nuclei"
    marks = front.tiles("sel")
    assert marks, "no highlight was sent"
    for meta, raw in marks:
        rgba = np.frombuffer(bytes(raw), np.uint8).reshape(meta["h"], meta["w"], 4)
        ly, lx = meta["y0"], meta["x0"]
        inside = nuclei[ly:ly + meta["h"], lx:lx + meta["w"]] == value
        assert (rgba[..., 3] > 0).sum() == inside.sum()  # exactly the object, outlined
        assert (rgba[inside][:, 3] == 255).any()
    # a click on the background clears the selection
    by, bx = np.argwhere(nuclei[:256, :512] == 0)[0]
    w._on_msg(w, {"type": "click", "x": bx + 0.5, "y": by + 0.5}, [])
    assert w.wait_idle(60)
    assert w.selected == {}


@pytest.mark.parametrize("style", ["outline", "fill"])
def test_label_opacity_fades_outline_and_fill(data: Path, serve, style: str):
    server = serve(data)
    pictures = {}
    for opacity in (0.0, 0.5, 1.0):
        _, front = open_view(server, labels="nuclei", label_style=style, opacity=opacity)
        front.view(0, 0, 512, 256, 512, 256)
        (_, raw), = [(m, b) for m, b in front.tiles() if m["key"] == "0/0/0"]
        pictures[opacity] = np.frombuffer(bytes(raw), np.uint8).reshape(256, 256, 4)[..., :3]
    _, front = open_view(server)
    front.view(0, 0, 512, 256, 512, 256)
    (_, raw), = [(m, b) for m, b in front.tiles() if m["key"] == "0/0/0"]
    bare = np.frombuffer(bytes(raw), np.uint8).reshape(256, 256, 4)[..., :3]
    assert np.array_equal(pictures[0.0], bare)  # opacity 0: no label drawn
    d_half = np.abs(pictures[0.5].astype(int) - bare).sum()
    d_full = np.abs(pictures[1.0].astype(int) - bare).sum()
    assert 0 < d_half < d_full


def test_label_image_and_well_and_plate(tmp_path: Path, serve):
    from kit.demo.generate import write_plate

    write_plate(tmp_path / "plate.zarr", rows="B", columns=("03", "04"), fields=2,
                image_kwargs={"axes": "czyx", "shape": (2, 1, 256, 256),
                              "chunks": (2, 1, 128, 128), "levels": 2, "labels": ("nuclei",)})
    server = serve(tmp_path)
    plate = kit.open(server.url + "plate.zarr")
    v = kit.view(plate)  # one mosaic of the wells: the selector zooms to a well
    assert v.choices == ["B/03", "B/04"] and v.title
    assert [p["short"] for p in v.parts] == ["B03", "B04"]
    v.choice = 1
    x0, y0, x1, y1 = v.focus["box"]
    card = v.session.hover(0, (x0 + x1) / 2, (y0 + y1) / 2)
    assert card["where"] == "B04 · field 0"
    # panning onto B03 makes the selector name it, without zooming anywhere
    focus, front = dict(v.focus), Front(v)
    bx0, by0, bx1, by1 = v.session.parts()[0].box
    w, h = bx1 - bx0, by1 - by0
    front.view(bx0 + w / 4, by0 + h / 4, bx0 + 3 * w / 4, by0 + 3 * h / 4, 256, 256)
    assert v.choice == 0 and v.focus == focus
    # at plate scale (a view wider than two wells) the selector stays as it was
    v.choice = 1
    focus = dict(v.focus)
    front.view(bx0 - 2 * w, by0 - h, bx0 + 2 * w, by0 + 2 * h, 256, 256)
    assert v.choice == 1 and v.focus == focus
    well = kit.open(server.url + "plate.zarr/B/03")
    v = kit.view(well)  # its fields side by side
    assert v.choices == ["0", "1"]
    v.choice = 1
    x0, y0, x1, y1 = v.focus["box"]
    assert v.session.hover(0, x0 + 1, y0 + 1)["where"] == "field 1"
    label = kit.open(server.url + "plate.zarr/B/03/1").labels["nuclei"]
    lv = kit.view(label, width=256, height=256)
    front = Front(lv)
    front.view(0, 0, 256, 256, 256, 256)
    values = label.read(0)[0]
    ys, xs = np.nonzero(values)
    lv._on_msg(lv, {"type": "hover", "id": 1, "x": xs[0] + 0.5, "y": ys[0] + 0.5}, [])
    assert lv.wait_idle(60)
    assert lv.hover["value"] == int(values[ys[0], xs[0]])
    with pytest.raises(kit.KitError):
        kit.view(object())


def test_embedding_api_spec_image_and_bad_messages(data: Path, tmp_path: Path, serve):
    from kit.demo.generate import write_image

    write_image(tmp_path / "other.zarr", shape=SHAPE, axes="czyx", chunks=CHUNKS, levels=3,
                labels=(), seed=3)
    server = serve(data)
    other_server = serve(tmp_path)
    w, front = open_view(server, prefetch=0)
    with pytest.raises(TypeError):
        w.spec = {"channels": 0}
    levels, key = w.levels, w.spec_key
    w.image = kit.open(other_server.url + "other.zarr")
    assert w.levels == levels and w.spec_key != key  # same size: the front end keeps its view
    assert "other.zarr" in w.image.url
    front.view(0, 0, 512, 256, 512, 256)
    assert [t["key"] for t, _ in front.tiles()] == ["0/0/0", "0/0/1"]  # prefetch 0: no ring
    front.got.clear()
    w._on_msg(w, {"type": "view", "id": 9, "x0": 5, "y0": 5, "x1": 5, "y1": 5, "width": 1,
                  "height": 1}, [])
    assert w.wait_idle(30)
    (error, _), = front.got
    assert error["type"] == "error" and "not a view" in error["message"] and w.status
    w._on_msg(w, {"type": "something else"}, [])  # ignored, never queued
    assert w.wait_idle(5) and len(front.got) == 1
    w.close()
    w._thread.join(5)
    assert not w._thread.is_alive()


def test_png_encoding_for_slow_links(data: Path, serve):
    server = serve(data)
    _, front = open_view(server, prefetch=0, encoding="png")
    front.view(0, 0, 512, 256, 512, 256)
    tiles = front.tiles()
    assert len(tiles) == 2 and all(bytes(b).startswith(b"\x89PNG") for _, b in tiles)
    assert all(c["encoding"] == "png" for c, _ in front.got if c["type"] == "tiles")
    with pytest.raises(ValueError):
        open_view(server, encoding="jpeg")
