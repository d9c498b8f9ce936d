"""Pictures that follow the transforms: an image shown in a rotated coordinate system of its
own (checked against scipy.ndimage, an independent resampling), and labels whose scale and
translation differ from their image's, placed by them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import zarr
from scipy import ndimage

import kit
from kit.demo.generate import write_image
from kit.render.scene import render_in_system

pytestmark = pytest.mark.filterwarnings("ignore::kit.errors.KitWarning")


def _rotated_image(tmp_path, deg: float):
    path = write_image(tmp_path / "rot.zarr", version="0.6rc0", axes="yx", shape=(40, 56),
                       levels=1, labels=(), omero=False, scale={"y": 1.0, "x": 1.0})
    doc = json.loads((path / "zarr.json").read_text())
    ms = doc["attributes"]["ome"]["multiscales"][0]
    a = math.radians(deg)
    rot = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
    ms["coordinateSystems"].append({"name": "world", "axes": ms["coordinateSystems"][0]["axes"]})
    ms["coordinateTransformations"] = [{"type": "rotation", "rotation": rot,
                                        "input": {"name": "physical"},
                                        "output": {"name": "world"}}]
    (path / "zarr.json").write_text(json.dumps(doc))
    return kit.open(path), np.array(rot)


@pytest.mark.parametrize("deg", [25.0, 140.0])
def test_image_in_its_rotated_system_matches_scipy(tmp_path, deg: float) -> None:
    image, rot = _rotated_image(tmp_path, deg)
    np.testing.assert_allclose(image.transform(0, to="world").affine[:2, :2], rot)
    own = kit.preview(image, max_size=56).astype(np.float64)
    assert own.shape[:2] == (40, 56)
    rgb = render_in_system(image, "world", size=80).astype(np.float64)
    h, w = own.shape[:2]
    corners = np.array([[-0.5, -0.5], [-0.5, w - 0.5], [h - 0.5, -0.5], [h - 0.5, w - 0.5]])
    corners = corners @ rot.T
    lo, extent = corners.min(axis=0), np.ptp(corners, axis=0)
    pixel = extent.max() / 80
    assert rgb.shape[:2] == tuple(math.ceil(e / pixel - 1e-9) for e in extent)
    inv = np.linalg.inv(rot)
    matrix, offset = inv * pixel, inv @ (lo + pixel / 2)
    expected = np.stack([ndimage.affine_transform(own[..., k], matrix, offset,
                                                  output_shape=rgb.shape[:2], order=1)
                         for k in range(3)], axis=-1)
    oy, ox = np.meshgrid(*(np.arange(n) for n in rgb.shape[:2]), indexing="ij")
    src = np.stack([oy, ox], -1) @ matrix.T + offset
    interior = (src > 1).all(axis=-1) & (src[..., 0] < h - 2) & (src[..., 1] < w - 2)
    assert interior.sum() > 1500
    assert np.abs(rgb[interior] - expected[interior]).max() <= 1.0
    outside = (src < -0.5).any(axis=-1) | (src[..., 0] > h - 0.5) | (src[..., 1] > w - 0.5)
    assert (rgb[outside] == 0).all()


def test_identity_system_is_the_plain_preview(tmp_path) -> None:
    image, _ = _rotated_image(tmp_path, 0.0)
    np.testing.assert_array_equal(render_in_system(image, "world", size=56),
                                  kit.preview(image, max_size=56))


def _coarse_shifted_label(path) -> None:
    """Replace the image's label by one at half resolution, shifted by (10, 6)."""
    data = np.zeros((16, 16), np.uint8)
    data[2:6, 3:8] = 1
    group = zarr.open_group(str(path / "labels" / "nuclei"), mode="w", zarr_format=2)
    group.attrs.update({
        "multiscales": [{"version": "0.4", "name": "nuclei",
                         "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
                         "datasets": [{"path": "0", "coordinateTransformations": [
                             {"type": "scale", "scale": [2.0, 2.0]},
                             {"type": "translation", "translation": [10.0, 6.0]}]}]}],
        "image-label": {"version": "0.4", "colors": [{"label-value": 1,
                                                      "rgba": [255, 0, 0, 255]}]},
    })
    group.create_array("0", data=data, chunks=(16, 16))


def test_label_at_half_resolution_with_a_translation_is_placed_by_its_transforms(
        tmp_path) -> None:
    path = write_image(tmp_path / "img.zarr", version="0.4", axes="yx", shape=(64, 64), levels=1,
                       labels=("nuclei",), scale={"y": 1.0, "x": 1.0})
    _coarse_shifted_label(path)
    image = kit.open(path)
    plain = kit.preview(image, max_size=64)
    shown = kit.preview(image, max_size=64, labels=True, label_style="fill", opacity=1.0)
    changed = (plain != shown).any(axis=-1)
    # label pixel k covers [10 + 2k, 12 + 2k) in y and [6 + 2k, 8 + 2k) in x: rows 2..5 give
    # y 14..21, columns 3..7 give x 12..21 (image pixels of size 1 from 0)
    expected = np.zeros((64, 64), bool)
    expected[14:22, 12:22] = True
    np.testing.assert_array_equal(changed, expected)
    assert (shown[expected] == [255, 0, 0]).all()
