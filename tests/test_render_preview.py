"""kit.preview on generated OME-Zarr, compared with a reference composited by hand from the
zarr arrays themselves (read with zarr-python, not the kit)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image, write_plate
from kit.render.overview import MISSING_RGB

from test_render_support import edit_ome, reference_composite, u8

COLORS = ["FF8000", "00FFFF", "FFFFFF"]


def _open(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a deliberately missing window is warned about
        return kit.open(path)


@pytest.fixture(scope="module", params=["0.4", "0.5"])
def image_path(request, tmp_path_factory) -> Path:
    """3 channels with set colours; windows: two given, one missing (-> percentiles)."""
    path = write_image(tmp_path_factory.mktemp("img") / "img.zarr", version=request.param,
                       axes="czyx", shape=(3, 4, 256, 256), chunks=(1, 1, 64, 64), levels=3,
                       channels=[{"label": n, "color": c} for n, c in zip("ABC", COLORS)],
                       labels=("nuclei",))

    def windows(attrs: dict) -> None:
        chans = attrs["omero"]["channels"]
        chans[0]["window"] = {"start": 150, "end": 900, "min": 0, "max": 65535}
        chans[1]["window"] = {"start": 120, "end": 2500, "min": 0, "max": 65535}
        del chans[2]["window"]
    edit_ome(path, windows)
    return path


def level_plane(path: Path, level: int, z: int, channels=(0, 1, 2)) -> np.ndarray:
    return zarr.open_array(path / str(level), mode="r")[list(channels), z]


def reference(path: Path, level: int, z: int, channels=(0, 1, 2)) -> np.ndarray:
    planes = level_plane(path, level, z, channels)
    given = {0: (150, 900), 1: (120, 2500)}
    windows = [given.get(c) or tuple(np.percentile(planes[k].astype(np.float64), [0.5, 99.5]))
               for k, c in enumerate(channels)]
    return reference_composite(planes, [COLORS[c] for c in channels], windows)


def test_preview_matches_hand_composite(image_path):
    image = _open(image_path)
    rgb = kit.preview(image, max_size=128)  # level 1 is exactly 128: no final resize
    assert rgb.dtype == np.uint8 and rgb.shape == (128, 128, 3)
    expected = u8(reference(image_path, 1, z=2))  # default z: the middle of 4
    assert np.abs(rgb.astype(int) - expected).max() <= 1
    assert (rgb != 0).any() and len(np.unique(rgb.reshape(-1, 3), axis=0)) > 100


def test_channels_by_name_or_index_and_z(image_path):
    image = _open(image_path)
    rgb = kit.preview(image, max_size=64, channels=["B", 0], z=1)
    expected = u8(reference(image_path, 2, z=1, channels=(1, 0)))
    assert np.abs(rgb.astype(int) - expected).max() <= 1
    one = kit.preview(image, max_size=64, channels=2, z=3)
    assert np.abs(one.astype(int) - u8(reference(image_path, 2, z=3, channels=(2,)))).max() <= 1
    assert not np.array_equal(one, kit.preview(image, max_size=64, channels=2, z=0))
    with pytest.raises(kit.NotFound, match="no channel named 'D'"):
        kit.preview(image, channels="D")
    with pytest.raises(kit.NotFound, match="z=9"):
        kit.preview(image, z=9)


def test_final_resize_is_a_block_mean(image_path):
    image = _open(image_path)
    rgb = kit.preview(image, max_size=32)  # level 2 (64 px) halved
    ref = reference(image_path, 2, z=2).reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
    assert rgb.shape == (32, 32, 3)
    assert np.abs(rgb.astype(int) - u8(ref)).max() <= 1


def test_inactive_channels_are_hidden_by_default(tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="cyx", shape=(2, 64, 64), levels=1, labels=())
    edit_ome(path, lambda a: a["omero"]["channels"][1].update(active=False))
    image = kit.open(path)
    assert np.array_equal(kit.preview(image), kit.preview(image, channels=[0]))
    assert not np.array_equal(kit.preview(image), kit.preview(image, channels=[0, 1]))


def test_no_omero_uses_percentiles_and_default_colours(tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="yx", shape=(64, 64), levels=1, omero=False,
                       labels=())
    rgb = kit.preview(kit.open(path))
    data = zarr.open_array(path / "0", mode="r")[...]
    lo, hi = np.percentile(data.astype(np.float64), [0.5, 99.5])
    gray = u8(reference_composite(data[None], ["FFFFFF"], [(lo, hi)]))
    assert np.abs(rgb.astype(int) - gray).max() <= 1
    assert (rgb[..., 0] == rgb[..., 1]).all()  # one channel without colour: grey


def test_5d_plane_selection(tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="tczyx", shape=(2, 2, 3, 64, 64), levels=2,
                       labels=())
    image = kit.open(path)
    attrs = json.loads((path / ".zattrs").read_text())["omero"]["channels"]
    plane = zarr.open_array(path / "0", mode="r")[1, :, 0]
    windows = [(c["window"]["start"], c["window"]["end"]) for c in attrs]
    expected = u8(reference_composite(plane, [c["color"] for c in attrs], windows))
    rgb = kit.preview(image, max_size=64, t=1, z=0)
    assert np.abs(rgb.astype(int) - expected).max() <= 1


# -- labels -----------------------------------------------------------------------------------

def label_plane(path: Path, level: int, z: int, name: str = "nuclei") -> np.ndarray:
    return zarr.open_array(path / "labels" / name / str(level), mode="r")[z]


def label_colors(path: Path, name: str = "nuclei") -> dict[int, np.ndarray]:
    group = zarr.open_group(path / "labels" / name, mode="r")
    attrs = dict(group.attrs)
    il = attrs.get("image-label") or attrs["ome"]["image-label"]
    return {c["label-value"]: np.array(c["rgba"], np.float64) for c in il["colors"]}


def outline_reference(lab: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbour (inside the array) holds another value, label pixels only."""
    p = np.pad(lab, 1, mode="edge")
    centre = p[1:-1, 1:-1]
    differ = ((p[:-2, 1:-1] != centre) | (p[2:, 1:-1] != centre)
              | (p[1:-1, :-2] != centre) | (p[1:-1, 2:] != centre))
    return differ & (lab != 0)


def test_labels_filled_with_opacity(image_path):
    image = _open(image_path)
    rgb = kit.preview(image, max_size=128, labels="nuclei", label_style="fill", opacity=0.4)
    base = reference(image_path, 1, z=2)
    lab = label_plane(image_path, 1, z=2)
    colors = label_colors(image_path)
    expected = base.copy()
    for value, rgba in colors.items():
        w = 0.4 * rgba[3] / 255
        expected[lab == value] = base[lab == value] * (1 - w) + rgba[:3] / 255 * w
    assert np.abs(rgb.astype(int) - u8(expected)).max() <= 1
    # one known pixel: the centre of the largest nucleus
    value = np.bincount(lab.ravel())[1:].argmax() + 1
    ys, xs = np.nonzero(lab == value)
    y, x = int(np.median(ys)), int(np.median(xs))
    assert lab[y, x] == value
    want = u8(base[y, x] * 0.6 + colors[value][:3] / 255 * 0.4)
    assert np.abs(rgb[y, x].astype(int) - want).max() <= 1
    assert np.array_equal(rgb[lab == 0], u8(base)[lab == 0])


def test_labels_outlined(image_path):
    image = _open(image_path)
    rgb = kit.preview(image, max_size=128, labels=True)  # outline is the default style
    base = u8(reference(image_path, 1, z=2))
    lab = label_plane(image_path, 1, z=2)
    colors = label_colors(image_path)
    edge = outline_reference(lab)
    assert edge.sum() > 50
    for y, x in zip(*np.nonzero(edge)):
        assert rgb[y, x].tolist() == colors[lab[y, x]][:3].astype(int).tolist()
    assert np.abs(rgb[~edge].astype(int) - base[~edge]).max() <= 1


def test_labels_without_colours_get_stable_ones(tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="cyx", shape=(1, 128, 128), levels=2,
                       label_colors=False)
    image = kit.open(path)
    assert image.labels["nuclei"].colors == {}
    a = kit.preview(image, max_size=128, labels=True, label_style="fill", opacity=1.0)
    b = kit.preview(image, max_size=128, labels=True, label_style="fill", opacity=1.0)
    assert np.array_equal(a, b)
    lab = zarr.open_array(path / "labels" / "nuclei" / "0", mode="r")[...]
    seen = {}
    for value in np.unique(lab[lab > 0]):
        colors = np.unique(a[lab == value], axis=0)
        assert len(colors) == 1  # one colour per value
        seen[int(value)] = tuple(colors[0])
    assert len(set(seen.values())) == len(seen) >= 3  # different values, different colours
    small = kit.preview(image, max_size=64, labels=True, label_style="fill", opacity=1.0)
    lab1 = zarr.open_array(path / "labels" / "nuclei" / "1", mode="r")[...]
    for value, color in seen.items():
        if (lab1 == value).any():  # same value, same colour, in another call and level
            assert {tuple(c) for c in small[lab1 == value]} == {color}


def test_label_starting_coarser_than_the_image(tmp_path):
    """Like the real plate: the label's finest level has twice the image's pixel size."""
    path = write_image(tmp_path / "i.zarr", axes="cyx", shape=(2, 128, 128), levels=3)
    edit_ome(path / "labels" / "nuclei",
             lambda a: a["multiscales"][0].update(datasets=a["multiscales"][0]["datasets"][1:]))
    image = kit.open(path)
    label = image.labels["nuclei"]
    assert [lv.path for lv in label.levels] == ["1", "2"]
    colors = label_colors(path)
    lab1 = zarr.open_array(path / "labels" / "nuclei" / "1", mode="r")[...]  # 64 x 64
    # image level 0 (128 px): the label is enlarged by nearest neighbour
    rgb = kit.preview(image, max_size=128, labels=True, label_style="fill", opacity=1.0)
    up = np.repeat(np.repeat(lab1, 2, axis=0), 2, axis=1)
    for value, rgba in colors.items():
        if (up == value).any():
            assert {tuple(c) for c in rgb[up == value]} == {tuple(rgba[:3].astype(int))}
    # image level 1 (64 px, 0.65 µm): label path "1" has the same pixel size
    rgb = kit.preview(image, max_size=64, labels=True, label_style="fill", opacity=1.0)
    for value, rgba in colors.items():
        if (lab1 == value).any():
            assert {tuple(c) for c in rgb[lab1 == value]} == {tuple(rgba[:3].astype(int))}
    assert (rgb[lab1 == 0] != 0).any()


def test_unknown_label_and_style(image_path):
    image = _open(image_path)
    with pytest.raises(kit.NotFound, match="no label 'cells'"):
        kit.preview(image, labels="cells")
    with pytest.raises(ValueError, match="label_style"):
        kit.preview(image, labels=True, label_style="dots")


# -- geometry ---------------------------------------------------------------------------------

def test_anisotropic_pixels_keep_the_physical_aspect(tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="cyx", shape=(2, 64, 128), levels=2,
                       scale={"y": 0.65, "x": 0.325}, labels=())
    image = kit.open(path)
    attrs = json.loads((path / ".zattrs").read_text())["omero"]["channels"]
    colors = [c["color"] for c in attrs]
    windows = [(c["window"]["start"], c["window"]["end"]) for c in attrs]
    for max_size, level in ((512, 0), (64, 1)):
        plane = zarr.open_array(path / str(level), mode="r")[...]
        rgb = kit.preview(image, max_size=max_size)
        h, w = plane.shape[1:]
        assert rgb.shape == (2 * h, w, 3)  # physical 41.6 x 41.6 µm: square picture
        expected = np.repeat(u8(reference_composite(plane, colors, windows)), 2, axis=0)
        assert np.abs(rgb.astype(int) - expected).max() <= 1


# -- node kinds ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plate_path(tmp_path_factory) -> Path:
    return write_plate(tmp_path_factory.mktemp("plate") / "p.zarr", rows="BC",
                       columns=("03", "05", "07"), missing_wells=("C/05",), fields=2)


def test_well_label_and_plate_nodes(plate_path):
    plate = kit.open(plate_path)
    well, field = plate["B/03"], plate["B/03/0"]
    assert np.array_equal(kit.preview(well, max_size=64), kit.preview(field, max_size=64))
    label = field.labels["nuclei"]
    rgb = kit.preview(label, max_size=64)
    lab = zarr.open_array(plate_path / "B/03/0/labels/nuclei/0", mode="r")[...]
    if lab.ndim == 3:
        lab = lab[lab.shape[0] // 2]
    assert (rgb[lab == 0] == 0).all()
    for value, rgba in label.colors.items():
        if (lab == value).any():
            assert {tuple(c) for c in rgb[lab == value]} == {tuple(rgba[:3])}
    mosaic = kit.preview(plate, max_size=300)
    assert np.array_equal(mosaic, kit.plate_overview(plate, max_size=300, progress=False))
    with pytest.raises(TypeError):
        kit.preview(object())


def test_plate_overview_mosaic_and_missing_well(plate_path):
    plate = kit.open(plate_path)
    mosaic = kit.plate_overview(plate, max_size=300, progress=False)
    assert mosaic.shape == (200, 300, 3)  # 2 rows x 3 columns of 100 px cells
    cells = {(r, c): mosaic[100 * i:100 * (i + 1), 100 * j:100 * (j + 1)]
             for i, r in enumerate("BC") for j, c in enumerate(("03", "05", "07"))}
    assert (cells[("C", "05")] == MISSING_RGB).all()
    for key, cell in cells.items():
        if key != ("C", "05"):
            assert not (cell == MISSING_RGB).all(axis=-1).any()
    # B/03: its first field (64 px) enlarged into the 98 px tile inside a 1 px frame
    tile = kit.preview(plate["B/03/0"], max_size=98)
    idx = np.floor((np.arange(98) + 0.5) * 64 / 98).astype(int)
    assert np.array_equal(cells[("B", "03")][1:99, 1:99], tile[idx][:, idx])
    assert (cells[("B", "03")][0] == 0).all()
    every = kit.plate_overview(plate, max_size=300, fields="all", progress=False)
    assert every.shape == (200, 300, 3)
    field1 = kit.preview(plate["B/03/1"], max_size=49)  # 2 fields: 2x2 tiles of 49 px
    assert field1.shape == (49, 49, 3)
    assert np.array_equal(every[1:50, 50:99], field1)
    with pytest.raises(ValueError):
        kit.plate_overview(plate, fields="some")


def test_plate_overview_progress(plate_path, capsys, monkeypatch):
    plate = kit.open(plate_path)
    kit.plate_overview(plate, max_size=60, progress=False)
    assert "plate overview" not in capsys.readouterr().err
    kit.plate_overview(plate, max_size=60)  # a terminal: tqdm on stderr
    err = capsys.readouterr().err
    assert "plate overview" in err and "100%" in err
    import kit.render.progress as progress

    monkeypatch.setattr(progress, "in_kernel", lambda: True)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    kit.plate_overview(plate, max_size=60)
    import ipywidgets

    assert len(shown) == 1 and isinstance(shown[0], ipywidgets.IntProgress)
    assert shown[0].value == shown[0].max > 1
