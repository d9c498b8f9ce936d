"""Notebook cards: key metadata, escaped text, a PNG thumbnail read from the coarsest level only
(checked in the real DemoServer's log)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import warnings

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image, write_plate
from kit.demo.server import DemoServer

from test_render_support import chunk_requests, edit_ome


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("cards")
    img = write_image(root / "img.zarr", axes="czyx", shape=(2, 3, 256, 256),
                      chunks=(1, 1, 64, 64), levels=3, labels=("nuclei",),
                      channels=[{"label": "<b>DAPI</b>", "color": "0000FF"},
                                {"label": "GFP & co", "color": "00FF00"}])
    edit_ome(img, lambda a: a["multiscales"][0].update(name="x"))
    write_plate(root / "plate.zarr", rows="AB", columns=("01", "02"),
                missing_wells=("B/02",))
    shutil.rmtree(root / "plate.zarr" / "A" / "02")  # listed in the plate, absent from the store
    with DemoServer(root, auth="bearer") as srv:
        yield srv


def _thumbnail(html: str) -> np.ndarray:
    from matplotlib.image import imread

    m = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert m, "no inline PNG thumbnail"
    return imread(io.BytesIO(base64.b64decode(m.group(1))), format="png")


def _levels_read(srv, prefix):
    return {level for level in chunk_requests(srv.requests, prefix)}


def test_image_card(served):
    image = kit.open(served.url + "img.zarr", auth=served.credential)
    served.reset_log()
    html = image._repr_html_()
    assert kit.nodes.base.html_renderer is kit.render.card_html
    for text in ("Image", "NGFF 0.4", "c z (µm) y (µm) x (µm)", "uint16", "(2, 3, 256, 256)",
                 "(2, 3, 128, 128)", "(2, 3, 64, 64)", "(1, 1, 64, 64)", "0.325 µm",
                 "nuclei", "#0000FF", "#00FF00", "&lt;b&gt;DAPI&lt;/b&gt;", "GFP &amp; co"):
        assert text in html, text
    assert "<b>DAPI" not in html
    thumb = _thumbnail(html)
    assert thumb.shape[:2] == (64, 64) and thumb[..., :3].max() > 0
    assert _levels_read(served, "img.zarr") == {"2"}  # the coarsest level only
    assert not chunk_requests(served.requests, "img.zarr/labels/nuclei")
    assert served.credential.token not in html


def test_label_card(served):
    label = kit.open(served.url + "img.zarr", auth=served.credential).labels["nuclei"]
    served.reset_log()
    html = label._repr_html_()
    for text in ("Label", "nuclei", "z (µm) y (µm) x (µm)", "uint32", "(3, 256, 256)", "colors",
                 "label values", "../../"):
        assert text in html, text
    color = label.colors[min(label.colors)]
    assert "#{:02X}{:02X}{:02X}".format(*color[:3]) in html
    _thumbnail(html)
    assert _levels_read(served, "img.zarr/labels/nuclei") == {"2"}
    assert not _levels_read(served, "img.zarr")


def test_well_and_plate_cards(served):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the listed-but-absent well is warned about
        plate = kit.open(served.url + "plate.zarr", auth=served.credential)
        served.reset_log()
        html = plate._repr_html_()
    for text in ("Plate", "2 rows × 2 columns, 3 wells listed", "A/01: present",
                 "A/02: listed but missing", "B/02: no well", "B/01: present"):
        assert text in html, text
    thumb = _thumbnail(html)
    assert thumb.shape[:2] == (256, 256)
    for well in ("A/01", "B/01"):  # each first field: its coarsest level only
        assert _levels_read(served, f"plate.zarr/{well}/0") == {"1"}
    well = plate["A/01"]
    served.reset_log()
    html = well._repr_html_()
    for text in ("Well", "fields", "<code>0</code>", "(2, 1, 64, 64)"):
        assert text in html, text
    _thumbnail(html)
    assert _levels_read(served, "plate.zarr/A/01/0") == {"1"}


def test_large_plates_get_the_grid_without_pixels(served, monkeypatch):
    import kit.render.card as card

    monkeypatch.setattr(card, "PLATE_THUMBNAIL_MAX_WELLS", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plate = kit.open(served.url + "plate.zarr", auth=served.credential)
        served.reset_log()
        html = plate._repr_html_()
    assert "A/01: present" in html and "data:image/png" not in html
    assert not any(not r.path.endswith((".zattrs", ".zgroup", ".zarray", "zarr.json",
                                        ".zmetadata")) for r in served.requests)


def test_group_card(tmp_path):
    root = zarr.open_group(tmp_path / "g.zarr", mode="w", zarr_format=2)
    root.attrs["note"] = "<script>alert(1)</script>"
    root.create_array("data", shape=(10, 4), dtype="float32")
    root.create_group("sub")
    group = kit.open(tmp_path / "g.zarr")
    assert isinstance(group, kit.Group)
    html = group._repr_html_()
    for text in ("Group", "g.zarr", "<code>data</code>", "array (10, 4) float32",
                 "<code>sub</code>"):
        assert text in html, text
    assert "<script>" not in html


def test_a_card_never_raises(tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="yx", shape=(32, 32), levels=1, labels=())
    image = kit.open(path)
    shutil.rmtree(path / "0")  # the level array disappears after opening
    html = image._repr_html_()
    assert "ngff-kit-card" in html and "Image" in html
