"""The render layer's numpy parts on hand-made arrays: compositing, resizing, overlays, PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest

from kit.render.color import hex_to_rgb, label_color, label_lut, robust_window
from kit.render.composite import composite, to_uint8
from kit.render.overlay import grid_indices, outline_mask, overlay, sample
from kit.render.png import data_uri, save_png, to_png
from kit.render.resample import output_shape, resize, resize_nearest


def test_hex_colors():
    assert hex_to_rgb("00FF7F") == (0, 255, 127)
    assert hex_to_rgb("#ff0000") == (255, 0, 0)
    assert hex_to_rgb("F00") is None and hex_to_rgb(None) is None and hex_to_rgb("GG0000") is None


def test_composite_is_additive_with_windows():
    planes = np.array([[[0, 50, 100, 200]], [[100, 100, 0, 400]]], np.uint16)  # (2, 1, 4)
    rgb = composite(planes, [(255, 0, 0), (0, 128, 255)], [(0, 100), (0, 200)])
    ch0 = np.clip(planes[0] / 100, 0, 1)
    ch1 = np.clip(planes[1] / 200, 0, 1)
    expected = np.stack([ch0, ch1 * 128 / 255, ch1], axis=-1)[0]
    np.testing.assert_allclose(rgb[0], expected, atol=1e-6)
    both = composite(planes[[0, 0]], [(255, 0, 0), (255, 0, 0)], [(0, 100), (0, 100)])
    assert both.max() == 1.0  # additive, then clipped
    assert to_uint8(rgb)[0, 1].tolist() == [128, 64, 128]


def test_composite_checks_its_input():
    with pytest.raises(ValueError):
        composite(np.zeros((4, 4)), [(1, 1, 1)], [(0, 1)])
    with pytest.raises(ValueError):
        composite(np.zeros((2, 4, 4)), [(1, 1, 1)], [(0, 1)])


def test_robust_window_ignores_outliers():
    data = np.concatenate([np.arange(1000, dtype=float), [1e9]])
    lo, hi = robust_window(data)
    assert 0 <= lo < 10 and 990 < hi < 1000
    assert robust_window(np.full(10, 7.0)) == (7.0, 8.0)


def test_label_colors_are_stable_and_distinct():
    assert label_color(5) == label_color(5)
    colors = {label_color(v)[:3] for v in range(1, 200)}
    assert len(colors) == 199
    lut = label_lut(np.array([0, 3, 9]), {3: (1, 2, 3, 4)})
    assert lut[1].tolist() == [1, 2, 3, 4] and tuple(lut[2]) == label_color(9)


def test_resize_means_blocks_and_repeats_when_growing():
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_allclose(resize(a, 2, 2), a.reshape(2, 2, 2, 2).mean(axis=(1, 3)))
    np.testing.assert_array_equal(resize(a, 8, 4), np.repeat(a, 2, axis=0))
    # nearest takes the source pixel under each output pixel centre: rows 1 and 3
    np.testing.assert_array_equal(resize_nearest(a, 2, 8), np.repeat(a[[1, 3]], 2, axis=1))
    assert resize(np.zeros((10, 7, 3)), 3, 5).shape == (3, 5, 3)


@pytest.mark.parametrize("h,w,sy,sx,max_size,expected", [
    (256, 256, 1, 1, 512, (256, 256)),      # no enlargement
    (256, 128, 1, 1, 100, (100, 50)),       # longest side capped
    (64, 128, 2, 1, 512, (128, 128)),       # anisotropic: y stretched to square pixels
    (64, 128, 2, 1, 64, (64, 64)),
    (100, 100, 1, 3, 150, (50, 150)),
])
def test_output_shape(h, w, sy, sx, max_size, expected):
    assert output_shape(h, w, sy, sx, max_size) == expected


def test_grid_indices_in_physical_units():
    # output: 4 pixels of 1 µm from 0; source: 2 pixels of 2 µm from 0 -> 0, 0, 1, 1
    idx, inside = grid_indices(4, 0.0, 1.0, 0.0, 2.0, 2)
    assert idx.tolist() == [0, 0, 1, 1] and inside.all()
    # a source that starts at 2 µm: the first two output pixels fall outside it
    idx, inside = grid_indices(4, 0.0, 1.0, 2.0, 1.0, 2)
    assert inside.tolist() == [False, False, True, True] and idx[2:].tolist() == [0, 1]
    lab = np.array([[5, 6], [7, 8]])
    out = sample(lab, grid_indices(4, 0, 1, 2, 1, 2), grid_indices(2, 0, 1, 0, 1, 2))
    assert out.tolist() == [[0, 0], [0, 0], [5, 6], [7, 8]]


def test_outline_mask_and_overlay_styles():
    lab = np.zeros((7, 7), np.int64)
    lab[1:6, 1:6] = 3
    edge = outline_mask(lab)
    assert edge[1, 1] and edge[1, 3] and edge[5, 5] and not edge[3, 3] and not edge[0, 0]
    assert edge.sum() == 16
    rgb = np.full((7, 7, 3), 0.5, np.float32)
    colors = {3: (255, 0, 0, 255)}
    fill = overlay(rgb, lab, colors, style="fill", opacity=0.25)
    np.testing.assert_allclose(fill[3, 3], [0.625, 0.375, 0.375])
    np.testing.assert_allclose(fill[0, 0], [0.5, 0.5, 0.5])
    line = overlay(rgb, lab, colors, style="outline")
    np.testing.assert_allclose(line[1, 3], [1, 0, 0])
    np.testing.assert_allclose(line[3, 3], [0.5, 0.5, 0.5])
    half = overlay(rgb, lab, {3: (255, 0, 0, 127)}, style="fill", opacity=1.0)
    np.testing.assert_allclose(half[3, 3], 0.5 * (1 - 127 / 255) + np.array([1, 0, 0]) * 127 / 255,
                               atol=1e-6)
    with pytest.raises(ValueError):
        overlay(rgb, lab, colors, style="dots")  # type: ignore[arg-type]


def test_png_round_trip(tmp_path):
    from matplotlib.image import imread

    rgb = (np.arange(4 * 5 * 3) * 4 % 256).astype(np.uint8).reshape(4, 5, 3)
    data = to_png(rgb)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    back = imread(io.BytesIO(data), format="png")
    np.testing.assert_array_equal(np.rint(back[..., :3] * 255).astype(np.uint8), rgb)
    save_png(rgb, tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes() == data
    assert data_uri(rgb).startswith("data:image/png;base64,iVBOR")
    with pytest.raises(ValueError):
        to_png(rgb.astype(np.float32))
