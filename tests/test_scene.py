"""0.6 scenes: the node, placements, the composite picture, card, describe and `info`.

Resampling is checked against scipy.ndimage.affine_transform, an independent implementation
(scipy is a test-only dependency).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import ndimage

import kit
from kit.cli.app import main
from kit.demo.generate import write_scene
from kit.errors import InvalidMetadata, KitWarning
from kit.render.describe import describe, describe_text
from kit.render.scene import affine_sample

pytestmark = pytest.mark.filterwarnings("ignore::kit.errors.KitWarning")


def rotation(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("deg", [17.0, 45.0, 120.0])
def test_affine_sample_matches_scipy(order: int, deg: float) -> None:
    rng = np.random.default_rng(3)
    src = rng.random((40, 52)).astype(np.float32)
    matrix = rotation(deg) * 0.8
    offset = np.array([19.5, 25.5]) - matrix @ [29.5, 34.5] + [0.3, -0.1]  # centre to centre
    ours, inside = affine_sample(src, matrix, offset, (60, 70), order=order)
    theirs = ndimage.affine_transform(src, matrix, offset, output_shape=(60, 70), order=order,
                                      mode="constant", cval=0.0)
    # compare away from the border (the two differ only in how they treat the last half pixel)
    oy, ox = np.meshgrid(np.arange(60), np.arange(70), indexing="ij")
    cy = matrix[0, 0] * oy + matrix[0, 1] * ox + offset[0]
    cx = matrix[1, 0] * oy + matrix[1, 1] * ox + offset[1]
    interior = (cy > 1) & (cy < 38) & (cx > 1) & (cx < 50)
    assert interior.sum() > 500
    assert inside[interior].all() and not inside[(cy < -1) | (cx > 52)].any()
    np.testing.assert_allclose(ours[interior], theirs[interior], atol=1e-5)


def test_affine_sample_of_rgb_is_per_channel() -> None:
    src = np.random.default_rng(0).random((20, 30, 3))
    m, off = rotation(30), [5.0, 2.0]
    ours, _ = affine_sample(src, m, off, (25, 25), order=1)
    for k in range(3):
        single, _ = affine_sample(src[..., k], m, off, (25, 25), order=1)
        np.testing.assert_allclose(ours[..., k], single, atol=1e-6)


def _tiles(tmp_path, **kw):
    return write_scene(tmp_path / "scene.zarr", {
        "a": {"type": "translation", "translation": [0.0, 0.0]},
        "b": {"type": "translation", "translation": [0.0, 64.0]},
    }, shape=(32, 64), levels=1, **kw)


def test_scene_node_places_its_images(tmp_path) -> None:
    scene = kit.open(_tiles(tmp_path))
    assert type(scene).__name__ == "Scene" and scene.kind == "scene"
    assert scene.version == "0.6rc0" and scene.target == "world"
    assert sorted(scene.images) == ["a", "b"]
    m = scene.placement("b")
    np.testing.assert_allclose(m.apply([[0, 0], [31, 63]]), [[0, 64], [31, 127]])
    assert m.target == "world"


def test_scene_preview_puts_tiles_side_by_side(tmp_path) -> None:
    scene = kit.open(_tiles(tmp_path, image_options={"omero": False}))
    rgb = kit.preview(scene, max_size=128)
    assert rgb.shape == (32, 128, 3)
    # each tile's own preview, drawn at the same size, is the matching half of the scene
    a = kit.preview(scene.images["a"], max_size=64)
    b = kit.preview(scene.images["b"], max_size=64)
    np.testing.assert_array_equal(rgb[:, :64], a)
    np.testing.assert_array_equal(rgb[:, 64:], b)


def test_scene_rotated_by_90_degrees_is_the_rotated_picture(tmp_path) -> None:
    path = write_scene(tmp_path / "rot.zarr", {
        "r": {"type": "rotation", "rotation": [[0.0, -1.0], [1.0, 0.0]]}},
        shape=(24, 40), levels=1, image_options={"omero": False})
    scene = kit.open(path)
    rgb = kit.preview(scene, max_size=40)
    own = kit.preview(scene.images["r"], max_size=40)
    # (y, x) -> (-x, y): the picture turned a quarter counter-clockwise
    assert rgb.shape == (40, 24, 3)
    np.testing.assert_array_equal(rgb, np.rot90(own, k=1))


def test_scene_rotated_by_30_degrees_matches_scipy(tmp_path) -> None:
    rot = rotation(30)
    path = write_scene(tmp_path / "rot30.zarr", {
        "r": {"type": "rotation", "rotation": rot.tolist()}},
        shape=(48, 48), levels=1, image_options={"omero": False})
    scene = kit.open(path)
    own = kit.preview(scene.images["r"], max_size=48).astype(np.float64)
    rgb = kit.preview(scene, max_size=96).astype(np.float64)
    # independent oracle: the rotated corners give the output grid, scipy samples the picture
    corners = np.array([[-0.5, -0.5], [-0.5, 47.5], [47.5, -0.5], [47.5, 47.5]]) @ rot.T
    lo, extent = corners.min(axis=0), np.ptp(corners, axis=0)
    pixel = extent.max() / 96
    assert rgb.shape[:2] == tuple(math.ceil(e / pixel - 1e-9) for e in extent)
    inv = np.linalg.inv(rot)
    matrix = inv * pixel
    offset = inv @ (lo + pixel / 2)
    expected = np.stack([ndimage.affine_transform(own[..., k], matrix, offset,
                                                  output_shape=rgb.shape[:2], order=1)
                         for k in range(3)], axis=-1)
    oy, ox = np.meshgrid(*(np.arange(n) for n in rgb.shape[:2]), indexing="ij")
    src = np.stack([oy, ox], -1) @ matrix.T + offset
    interior = ((src > 1) & (src < 46)).all(axis=-1)
    assert interior.sum() > 2000
    assert np.abs(rgb[interior] - expected[interior]).max() <= 1.0  # uint8 rounding
    assert (rgb[~((src > -0.5) & (src < 47.5)).all(axis=-1)] == 0).all()


def test_scene_with_a_missing_image_warns_and_shows_the_rest(tmp_path) -> None:
    scene = kit.open(_tiles(tmp_path, missing=("b",), image_options={"omero": False}))
    with pytest.warns(KitWarning, match="'b' is missing"):
        images = scene.images
    assert list(images) == ["a"]
    rgb = kit.preview(scene, max_size=64)
    np.testing.assert_array_equal(rgb, kit.preview(images["a"], max_size=64))
    summary = describe(scene)
    assert summary.missing == ["b"] and [im.path for im in summary.images] == ["a"]
    assert "b  missing" in describe_text(scene)


def test_scene_card_and_info(tmp_path, capsys) -> None:
    path = _tiles(tmp_path)
    scene = kit.open(path)
    html = scene._repr_html_()
    assert "Scene" in html and "world" in html and "<img" in html
    assert "color:#c00" not in html
    assert main(["info", "--json", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["type"] == "scene" and out["coordinate_system"] == "world"
    assert [im["path"] for im in out["images"]] == ["a", "b"]
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "scene in world" in text and "  a  image yx" in text


def test_scene_of_the_rfc5_examples_reads(spec_dir) -> None:
    root = spec_dir / "rfc5-examples-0.6.dev3" / "user_stories"
    if not root.exists():
        pytest.skip(f"{root} is absent")
    tiles = kit.open(root / "stitched_tiles_2d.zarr")
    assert sorted(tiles.images) == ["tile_0", "tile_1", "tile_2", "tile_3"]
    np.testing.assert_allclose(tiles.placement("tile_3").apply([[0, 0]]), [[276, 348]])
    atlas = kit.open(root / "human_organ_atlas.zarr")
    assert atlas.target == "overview.ome.zarr/physical"  # no system of its own: the member's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert kit.preview(atlas, max_size=64).ndim == 3


def test_scene_transforms_name_their_field(tmp_path) -> None:
    path = _tiles(tmp_path)
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"]["scene"]["coordinateTransformations"][1]["translation"] = ["x"]
    (path / "zarr.json").write_text(json.dumps(doc))
    before = (path / "zarr.json").read_bytes()
    with pytest.raises(InvalidMetadata,
                       match=r"scene\.coordinateTransformations\[1\]\.translation"):
        kit.open(path)
    assert (path / "zarr.json").read_bytes() == before


def test_browse_scene_lists_and_shows_its_images(tmp_path) -> None:
    pytest.importorskip("ipywidgets")
    browser = kit.browse(str(_tiles(tmp_path)), thumbnails=False)
    assert browser.wait_idle(60)
    assert "error" not in browser.message.value, browser.message.value
    assert sorted(browser._members) == ["a", "b"]
    browser.select_member("b")
    assert browser.wait_idle(60)
    shown = browser.viewer.picture.picture()  # the pan/zoom view's pixels of member b
    assert shown.ndim == 3 and shown.shape[-1] == 3 and shown.size, browser.message.value


def test_scene_member_in_an_unknown_system_warns_and_the_rest_shows(tmp_path) -> None:
    path = _tiles(tmp_path, image_options={"omero": False})
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"]["scene"]["coordinateTransformations"][1]["input"]["name"] = "nope"
    (path / "zarr.json").write_text(json.dumps(doc))
    scene = kit.open(path)
    with pytest.warns(KitWarning, match="scene image 'b' not shown: no coordinate system 'nope'"):
        rgb = kit.preview(scene, max_size=64)
    np.testing.assert_array_equal(rgb, kit.preview(scene.images["a"], max_size=64))
