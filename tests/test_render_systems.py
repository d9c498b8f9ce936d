"""Pictures in a named coordinate system: ``coordinate_system=`` on kit.preview / kit.show /
the CLI, scenes with their members' labels, and the "not rendered" fallback of non-linear
fields.

Oracles are independent of the kit's resampling: scipy.ndimage.affine_transform for pixels,
np.rot90 for quarter turns, hand-computed extents read back from the matplotlib Axes, and
label values at positions computed by hand. The RFC-5 example hierarchies carry metadata
only, so their arrays are shrunk and filled with known data in a copy first.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings

import numpy as np
import pytest
import zarr
from PIL import Image as PILImage
from scipy import ndimage

import kit
from kit.cli.app import main
from kit.demo.generate import write_image, write_scene
from kit.errors import KitError, KitWarning, NotFound
from kit.render.scene import render_in_system
from kit.render.spec import InvalidRenderSpec, RenderSpec

pytestmark = pytest.mark.filterwarnings("ignore::kit.errors.KitWarning")

RFC5 = "rfc5-examples-0.6.dev3"


def _bar_texts(ax) -> list[str]:
    bars = [a for a in ax.artists if type(a).__name__ == "AnchoredSizeBar"]
    return [t.get_text() for b in bars for t in b.findobj(lambda o: hasattr(o, "get_text"))]


def _rfc5_with_data(spec_dir, rel: str, tmp_path, shape=(48, 60), seed: int = 0):
    """A copy of an RFC-5 example whose level arrays are ``shape`` and hold smooth noise."""
    src = spec_dir / RFC5 / rel
    if not src.exists():
        pytest.skip(f"{src} is absent")
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    ome = json.loads((dst / "zarr.json").read_text())["attributes"]["ome"]
    rng = np.random.default_rng(seed)
    smooth = 2.0 if len(shape) == 2 else (0, 2.0, 2.0)
    for ds in ome["multiscales"][0]["datasets"]:
        meta_path = dst / ds["path"] / "zarr.json"
        meta = json.loads(meta_path.read_text())
        meta["shape"] = list(shape)
        meta["chunk_grid"]["configuration"]["chunk_shape"] = list(shape)
        meta_path.write_text(json.dumps(meta))
        data = ndimage.gaussian_filter(rng.random(shape), smooth)
        data = (data - data.min()) / np.ptp(data) * 250
        zarr.open_array(str(dst / ds["path"]), mode="r+")[:] = data.astype(np.uint8)
    return kit.open(dst)


def _scipy_in_system(own: np.ndarray, a: np.ndarray, out_shape, size: int) -> tuple:
    """The picture ``own`` (pixel = one level index, centre at the index) mapped by the 2x3
    affine ``a`` (index -> target y, x) onto a grid of longest side ``size`` covering it, by
    scipy; returns (expected, source coordinates of each output pixel)."""
    h, w = own.shape[:2]
    lin, t = a[:, :2], a[:, 2]
    corners = np.array([[-0.5, -0.5], [-0.5, w - 0.5], [h - 0.5, -0.5], [h - 0.5, w - 0.5]])
    corners = corners @ lin.T + t
    lo, extent = corners.min(axis=0), np.ptp(corners, axis=0)
    pixel = extent.max() / size
    assert tuple(out_shape) == tuple(math.ceil(e / pixel - 1e-9) for e in extent)
    inv = np.linalg.inv(lin)
    matrix, offset = inv * pixel, inv @ (lo + pixel / 2 - t)
    expected = np.stack([ndimage.affine_transform(own[..., k].astype(np.float64), matrix, offset,
                                                  output_shape=out_shape, order=1)
                         for k in range(own.shape[2])], axis=-1)
    oy, ox = np.meshgrid(*(np.arange(n) for n in out_shape), indexing="ij")
    return expected, np.stack([oy, ox], -1) @ matrix.T + offset


# -- the option itself -------------------------------------------------------------------------

def test_spec_coordinate_system_is_a_name_or_none() -> None:
    assert RenderSpec(coordinate_system="world").coordinate_system == "world"
    assert RenderSpec().coordinate_system is None
    for bad in (3, "", ["world"]):
        with pytest.raises(InvalidRenderSpec, match="coordinate_system must be the name"):
            RenderSpec(coordinate_system=bad)


def test_unknown_system_is_a_typed_error_listing_the_image_systems(spec_dir, tmp_path) -> None:
    image = _rfc5_with_data(spec_dir, "2d/simple/rotation.zarr", tmp_path)
    for call in (kit.preview, kit.show):
        with pytest.raises(NotFound, match=r"no coordinate system 'nope'.*physical, rotated"):
            call(image, coordinate_system="nope")


def test_the_intrinsic_system_by_name_is_the_plain_preview(spec_dir, tmp_path) -> None:
    image = _rfc5_with_data(spec_dir, "2d/simple/rotation.zarr", tmp_path)
    np.testing.assert_array_equal(kit.preview(image, coordinate_system="physical"),
                                  kit.preview(image))


# -- resampled pixels against scipy -----------------------------------------------------------

def test_rfc5_rotation_example_is_a_quarter_turn(spec_dir, tmp_path) -> None:
    image = _rfc5_with_data(spec_dir, "2d/simple/rotation.zarr", tmp_path)
    own = kit.preview(image, max_size=60)
    rgb = kit.preview(image, coordinate_system="rotated", max_size=60)
    # rotation [[0, 1], [-1, 0]]: (y, x) -> (x, -y), i.e. a quarter turn clockwise
    assert own.shape[:2] == (48, 60) and rgb.shape[:2] == (60, 48)
    np.testing.assert_array_equal(rgb, np.rot90(own, k=-1))


def test_rfc5_affine_example_matches_scipy(spec_dir, tmp_path) -> None:
    image = _rfc5_with_data(spec_dir, "2d/simple/affine.zarr", tmp_path)
    a = np.array([[3, 0.4, 30], [0.3, 2, 20]])  # the example's shear, index -> sheared
    np.testing.assert_allclose(image.transform(0, to="sheared").affine[:2], a)
    own = kit.preview(image, max_size=60).astype(np.float64)
    rgb = kit.preview(image, coordinate_system="sheared", max_size=150).astype(np.float64)
    expected, src = _scipy_in_system(own, a, rgb.shape[:2], 150)
    interior = (src > 1).all(-1) & (src[..., 0] < 46) & (src[..., 1] < 58)
    assert interior.sum() > 3000
    assert np.abs(rgb[interior] - expected[interior]).max() <= 1.0  # uint8 rounding
    outside = (src < -0.5).any(-1) | (src[..., 0] > 47.5) | (src[..., 1] > 59.5)
    assert outside.sum() > 1000 and (rgb[outside] == 0).all()
    # the same picture through render_in_system, the lower-level entry point
    np.testing.assert_array_equal(render_in_system(image, "sheared", size=150), rgb)


def test_rotation_with_parameters_in_an_array_and_swapped_axes(spec_dir, tmp_path) -> None:
    """rotationParams: the matrix sits in a zarr array and the target names its axes (x, y):
    the picture's vertical axis is the target's y wherever it sits."""
    image = _rfc5_with_data(spec_dir, "2d/simple/rotationParams.zarr", tmp_path)
    rot = np.array([[math.cos(0.5), -math.sin(0.5)], [math.sin(0.5), math.cos(0.5)]])
    zarr.open_array(str(tmp_path / "rotationParams.zarr" / "rotationParams"), mode="r+")[:] = rot
    image = kit.open(tmp_path / "rotationParams.zarr")
    a = image.transform(0, to="rotated").affine[:2]
    np.testing.assert_allclose(a[:, :2], rot * 1.4)  # the level's 1.4 µm pixels, then rotated
    fig = kit.show(image, coordinate_system="rotated", max_size=80)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)"
    rgb = ax.get_images()[0].get_array()
    # rows of the picture follow target axis 1 ("y"), columns target axis 0 ("x")
    yx = a[[1, 0]]
    expected, src = _scipy_in_system(kit.preview(image, max_size=60).astype(np.float64), yx,
                                     rgb.shape[:2], 80)
    interior = (src > 1).all(-1) & (src[..., 0] < 46) & (src[..., 1] < 58)
    assert interior.sum() > 500
    assert np.abs(np.asarray(rgb, float)[interior] - expected[interior]).max() <= 1.0


def test_rfc5_map_axis_example_is_the_transpose(spec_dir, tmp_path) -> None:
    """mapAxis [1, 0] from array_coordinates (dim_0, dim_1) to physical (y, x)."""
    image = _rfc5_with_data(spec_dir, "2d/axis_dependent/mapAxis.zarr", tmp_path)
    own = kit.preview(image, max_size=60)
    rgb = kit.preview(image, coordinate_system="physical", max_size=60)
    np.testing.assert_array_equal(rgb, own.transpose(1, 0, 2))
    (ax,) = kit.show(image, coordinate_system="physical", max_size=60).axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (µm)", "y (µm)")
    assert ax.get_images()[0].get_extent() == pytest.approx([-0.5, 47.5, 59.5, -0.5])


def test_rfc5_3d_rotation_that_reslices_is_a_clear_error(spec_dir, tmp_path) -> None:
    """3d rotation: the target's y is the image's z, so its y/x plane is seen edge-on."""
    image = _rfc5_with_data(spec_dir, "3d/simple/rotation.zarr", tmp_path, shape=(6, 48, 60))
    assert kit.preview(image, coordinate_system="physical", max_size=60).shape == (48, 60, 3)
    with pytest.raises(KitError, match=r"edge-on.*reslice is not drawn"):
        kit.preview(image, coordinate_system="rotated")


def test_rfc5_3d_affine_example_matches_scipy_in_its_plane(spec_dir, tmp_path) -> None:
    image = _rfc5_with_data(spec_dir, "3d/simple/affine.zarr", tmp_path, shape=(6, 48, 60))
    full = image.transform(0, to="sheared").affine
    z = 3  # the middle plane drawn: index 3 of 6
    a = np.column_stack([full[1:3, 1:3], full[1:3, 3] + full[1:3, 0] * z])
    own = kit.preview(image, max_size=60).astype(np.float64)
    rgb = kit.preview(image, coordinate_system="sheared", max_size=120).astype(np.float64)
    expected, src = _scipy_in_system(own, a, rgb.shape[:2], 120)
    interior = (src > 1).all(-1) & (src[..., 0] < 46) & (src[..., 1] < 58)
    assert interior.sum() > 1000
    assert np.abs(rgb[interior] - expected[interior]).max() <= 1.0


# -- kit.show axes ------------------------------------------------------------------------------

def _world_image(tmp_path, transform: dict, unit: str = "micrometer"):
    """A 40 x 56 image of 0.5 µm pixels with a second system "world" reached by ``transform``
    from its physical system; world's axes are in ``unit``."""
    path = write_image(tmp_path / "w.zarr", version="0.6rc0", axes="yx", shape=(40, 56),
                       levels=1, labels=("nuclei",), omero=False, scale={"y": 0.5, "x": 0.5})
    doc = json.loads((path / "zarr.json").read_text())
    ms = doc["attributes"]["ome"]["multiscales"][0]
    axes = [{"name": a, "type": "space", "unit": unit} for a in "yx"]
    ms["coordinateSystems"].append({"name": "world", "axes": axes})
    ms["coordinateTransformations"] = [{**transform, "input": {"name": "physical"},
                                        "output": {"name": "world"}}]
    (path / "zarr.json").write_text(json.dumps(doc))
    return kit.open(path)


def test_show_in_a_translated_system_has_its_extent(tmp_path) -> None:
    image = _world_image(tmp_path, {"type": "translation", "translation": [100.0, -50.0]})
    fig = kit.show(image, coordinate_system="world", max_size=56)
    (ax,) = fig.axes
    # pixel centres at 0.5 * index; corners half a pixel out; shifted by (100, -50)
    extent = [-50.25, -50.25 + 28.0, 100 - 0.25 + 20.0, 100 - 0.25]
    assert ax.get_images()[0].get_extent() == pytest.approx(extent)
    assert ax.get_xlim() == pytest.approx((-50.25, -22.25))
    assert ax.get_ylim() == pytest.approx((119.75, 99.75))  # y grows downwards
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)"
    assert "5 µm" in _bar_texts(ax)  # 20 % of 28 µm, rounded down to 1/2/5
    # a whole-pixel shift resamples nothing: the plain picture
    np.testing.assert_array_equal(ax.get_images()[0].get_array(),
                                  kit.preview(image, max_size=56))


def test_show_in_a_system_uses_its_units_and_names(tmp_path) -> None:
    image = _world_image(tmp_path, {"type": "sequence", "transformations": [
        {"type": "scale", "scale": [0.001, 0.001]},
        {"type": "rotation", "rotation": [[0.0, -1.0], [1.0, 0.0]]}]}, unit="millimeter")
    fig = kit.show(image, coordinate_system="world", max_size=56)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "x (mm)" and ax.get_ylabel() == "y (mm)"
    # (y, x) -> (-x, y) / 1000: y' spans -x, x' spans y
    extent = [-0.00025, 0.01975, 0.00025, -0.02775]
    assert ax.get_images()[0].get_extent() == pytest.approx(extent, abs=1e-9)
    assert "0.002 mm" in _bar_texts(ax)  # 20 % of the 0.02 mm width
    assert _legend_texts(ax) == ["w.zarr"]


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


# -- labels in the same system ----------------------------------------------------------------

def test_labels_follow_the_image_into_a_rotated_system(tmp_path) -> None:
    image = _world_image(tmp_path, {"type": "rotation", "rotation": [[0.0, -1.0], [1.0, 0.0]]})
    for style in ("fill", "outline"):
        plain = kit.preview(image, max_size=56, labels=True, label_style=style, opacity=1.0)
        world = kit.preview(image, max_size=56, labels=True, label_style=style, opacity=1.0,
                            coordinate_system="world")
        assert (plain != kit.preview(image, max_size=56)).any()  # labels were drawn
        # (y, x) -> (-x, y): a quarter turn counter-clockwise, labels and all
        np.testing.assert_array_equal(world, np.rot90(plain, k=1))


def _object_image(tmp_path):
    """An image whose label "nuclei" holds only object 7, in rows 10-19, columns 30-43."""
    _world_image(tmp_path, {"type": "rotation", "rotation": [
        [math.cos(math.radians(30)), -math.sin(math.radians(30))],
        [math.sin(math.radians(30)), math.cos(math.radians(30))]]})
    root = zarr.open_group(str(tmp_path / "w.zarr" / "labels" / "nuclei"), mode="r+")
    data = np.zeros((40, 56), np.uint32)
    data[10:20, 30:44] = 7
    root["0"][:] = data.astype(root["0"].dtype)
    return kit.open(tmp_path / "w.zarr")


def test_label_values_land_where_the_transform_puts_them(tmp_path) -> None:
    image = _object_image(tmp_path)
    from kit.render.overlay import colorize

    colour, _ = colorize(np.array([[7]]), image.labels["nuclei"].colors)  # its colour table
    colour = np.round(colour[0, 0] * 255)
    plain = kit.preview(image, max_size=56)
    bare = kit.preview(image, max_size=56, coordinate_system="world")
    rgb = kit.preview(image, max_size=56, labels=True, label_style="fill", opacity=1.0,
                      coordinate_system="world")
    changed = (rgb != bare).any(-1)
    assert changed.any() and (plain.shape != rgb.shape)
    # where the object's centre (row 14.5, col 36.5; 0.5 µm pixels) lands in the output grid
    a = image.transform(0, to="world").affine
    corners = np.array([[-0.5, -0.5, 1], [-0.5, 55.5, 1], [39.5, -0.5, 1], [39.5, 55.5, 1]])
    world = corners @ a[:2].T
    lo, pixel = world.min(0), np.ptp(world, 0).max() / 56
    centre = (a @ [14.5, 36.5, 1])[:2]
    r, c = np.floor((centre - lo) / pixel).astype(int)
    assert changed[r, c] and changed[r - 2:r + 3, c - 2:c + 3].all()
    assert (rgb[r, c] == colour).all()
    far = (a @ [35.0, 5.0, 1])[:2]  # a corner of the image, far from the object
    fr, fc = np.floor((far - lo) / pixel).astype(int)
    assert not changed[fr, fc]
    # the object's area is kept by the rotation (14 x 10 pixels of 0.5 µm, on a finer grid)
    assert changed.sum() * pixel**2 == pytest.approx(14 * 10 * 0.25, rel=0.15)


# -- scenes: members' labels, axes -----------------------------------------------------------

def _tiles(tmp_path, **placements):
    return kit.open(write_scene(tmp_path / "scene.zarr", placements or {
        "a": {"type": "translation", "translation": [0.0, 0.0]},
        "b": {"type": "translation", "translation": [0.0, 64.0]},
    }, shape=(32, 64), levels=1, image_options={"omero": False, "labels": ("nuclei",)}))


def test_scene_draws_each_members_labels_placed(tmp_path) -> None:
    scene = _tiles(tmp_path)
    opts = {"labels": True, "label_style": "fill", "opacity": 1.0}
    rgb = kit.preview(scene, max_size=128, **opts)
    assert rgb.shape == (32, 128, 3)
    a = kit.preview(scene.images["a"], max_size=64, **opts)
    b = kit.preview(scene.images["b"], max_size=64, **opts)
    assert (a != kit.preview(scene.images["a"], max_size=64)).any()
    np.testing.assert_array_equal(rgb[:, :64], a)
    np.testing.assert_array_equal(rgb[:, 64:], b)
    half = kit.preview(scene, max_size=128, labels=True, label_style="fill", opacity=0.5)
    assert not np.array_equal(half, rgb) and (half != kit.preview(scene, max_size=128)).any()


def test_scene_rotated_member_labels_by_nearest_neighbour(tmp_path) -> None:
    scene = _tiles(tmp_path, r={"type": "rotation", "rotation": [[0.0, -1.0], [1.0, 0.0]]})
    opts = {"labels": "nuclei", "label_style": "outline", "opacity": 1.0}
    rgb = kit.preview(scene, max_size=64, **opts)
    own = kit.preview(scene.images["r"], max_size=64, **opts)
    np.testing.assert_array_equal(rgb, np.rot90(own, k=1))


def test_scene_labels_by_name_skip_members_without_it(tmp_path) -> None:
    scene = _tiles(tmp_path)
    shutil.rmtree(tmp_path / "scene.zarr" / "b" / "labels")
    scene = kit.open(tmp_path / "scene.zarr")
    rgb = kit.preview(scene, max_size=128, labels="nuclei", label_style="fill", opacity=1.0)
    plain = kit.preview(scene, max_size=128)
    assert (rgb[:, :64] != plain[:, :64]).any()
    np.testing.assert_array_equal(rgb[:, 64:], plain[:, 64:])
    with pytest.raises(NotFound, match=r"no image of the scene has a label 'cells'.*nuclei"):
        kit.preview(scene, labels="cells")


def test_show_scene_has_the_scene_systems_axes(tmp_path) -> None:
    scene = _tiles(tmp_path, a={"type": "translation", "translation": [10.0, 0.0]},
                   b={"type": "translation", "translation": [10.0, 64.0]})
    fig = kit.show(scene, max_size=128, labels=True)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)"
    assert ax.get_images()[0].get_extent() == pytest.approx([-0.5, 127.5, 41.5, 9.5])
    assert "20 µm" in _bar_texts(ax)
    assert _legend_texts(ax) == ["nuclei (labels)"]  # grey members are not channels
    assert ax.get_title() == "scene.zarr"
    # each member's outline (x, y corners) where its transform puts it, and its name
    outlines = [np.asarray(p.get_xy())[:4] for p in ax.patches]
    assert len(outlines) == 2
    for got, x0 in zip(outlines, (-0.5, 63.5)):
        want = [(x0, 9.5), (x0 + 64, 9.5), (x0, 41.5), (x0 + 64, 41.5)]
        np.testing.assert_allclose(sorted(map(tuple, got)), sorted(want), atol=1e-9)
    assert {t.get_text() for t in ax.texts} == {"a", "b"}
    (bare,) = kit.show(scene, max_size=128, annotate=False).axes
    assert not bare.patches and not bare.texts and bare.get_legend() is None


def test_annotated_scene_preview_draws_the_members_outlines(tmp_path) -> None:
    from kit.render.scene import FOOTPRINT_RGB

    scene = _tiles(tmp_path)
    plain = kit.preview(scene, max_size=128)
    rgb = kit.preview(scene, max_size=128, annotate=True)
    grey = (rgb == FOOTPRINT_RGB).all(-1) & ~(plain == FOOTPRINT_RGB).all(-1)
    # the edge both tiles share, x = 63.5 (output column 64): two dashed lines, one down, one
    # up, cover it; a top edge (row 0) is dashed, half on; nothing inside a tile
    assert grey[:, 64].all()
    assert 0.3 < grey[0, 66:126].mean() < 0.7
    assert grey[0, 64:68].all() and not grey[0, 68:72].any()  # 4 on, 4 off from the corner
    assert not grey[4:28, 4:60].any() and not grey[4:28, 68:124].any()


def test_show_rfc5_stitched_tiles_names_the_world_axes(spec_dir) -> None:
    root = spec_dir / RFC5 / "user_stories" / "stitched_tiles_2d.zarr"
    if not root.exists():
        pytest.skip(f"{root} is absent")
    fig = kit.show(kit.open(root), max_size=180)
    (ax,) = fig.axes
    # world is (x, y): its first coordinate (tile rows + 276) is drawn across as "x"
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)"
    assert ax.get_images()[0].get_extent() == pytest.approx([-0.5, 575.5, 719.5, -0.5])


def test_scene_in_another_system_is_refused(tmp_path) -> None:
    with pytest.raises(NotFound, match="shown in its coordinate system 'world'"):
        kit.preview(_tiles(tmp_path), coordinate_system="other")


def test_plate_refuses_a_coordinate_system(tmp_path) -> None:
    from kit.demo.generate import write_plate

    plate = kit.open(write_plate(tmp_path / "p.zarr", rows="A", columns=("01",)))
    with pytest.raises(InvalidRenderSpec, match="coordinate_system applies to"):
        kit.preview(plate, coordinate_system="physical")
    # the overview itself refuses it too, rather than ignoring it
    with pytest.raises(InvalidRenderSpec, match="coordinate_system applies to"):
        kit.plate_overview(plate, coordinate_system="physical", progress=False)


# -- non-linear fields: "not rendered", never a crash ----------------------------------------

@pytest.mark.parametrize(("rel", "system"), [("2d/nonlinear/displacements.zarr", "displaced")])
def test_displacements_warn_not_rendered_and_fall_back(spec_dir, tmp_path, rel, system) -> None:
    image = _rfc5_with_data(spec_dir, rel, tmp_path)
    plain = kit.preview(image, max_size=60)
    with pytest.warns(KitWarning, match=rf"'{system}' is reached through a displacements .*"
                                        r"not rendered; drawn in 'physical'"):
        rgb = kit.preview(image, coordinate_system=system, max_size=60)
    np.testing.assert_array_equal(rgb, plain)
    with pytest.warns(KitWarning, match="not rendered"):
        fig = kit.show(image, coordinate_system=system, max_size=60)
    assert fig.axes[0].get_xlabel() == "x (µm)"
    with pytest.warns(KitWarning, match="not rendered"):
        assert render_in_system(image, system, size=60).shape == plain.shape


def test_coordinates_field_image_previews_with_a_warning(spec_dir, tmp_path) -> None:
    """coordinates.zarr: the levels map into "scaled", "physical" only through a coordinate
    field: drawing in "physical" warns and shows the intrinsic system."""
    image = _rfc5_with_data(spec_dir, "2d/nonlinear/coordinates.zarr", tmp_path)
    with pytest.warns(KitWarning, match=r"coordinates .*not rendered"):
        rgb = kit.preview(image, coordinate_system="physical", max_size=60)
    np.testing.assert_array_equal(rgb, kit.preview(image, max_size=60))


def test_scene_with_a_displacement_field_warns_not_crashes(spec_dir) -> None:
    root = spec_dir / RFC5 / "user_stories" / "lens_correction.zarr"
    if not root.exists():
        pytest.skip(f"{root} is absent")
    scene = kit.open(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rgb = kit.preview(scene, max_size=32)
        fig = kit.show(scene, max_size=32)
    assert rgb.ndim == 3 and fig.axes
    assert any("not shown" in str(w.message) and "not rendered" in str(w.message)
               for w in caught), [str(w.message) for w in caught]


# -- the CLI ---------------------------------------------------------------------------------

def test_cli_preview_coordinate_system(tmp_path, capsys) -> None:
    image = _world_image(tmp_path, {"type": "rotation", "rotation": [[0.0, -1.0], [1.0, 0.0]]})
    out = tmp_path / "world.png"
    assert main(["preview", str(tmp_path / "w.zarr"), "-o", str(out), "--size", "56",
                 "--coordinate-system", "world", "--no-annotate"]) == 0
    got = np.asarray(PILImage.open(out).convert("RGB"))
    np.testing.assert_array_equal(got, kit.preview(image, max_size=56, coordinate_system="world"))
    assert main(["preview", str(tmp_path / "w.zarr"), "-o", str(out),
                 "--coordinate-system", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--coordinate-system nope" in err and "physical, world" in err


def test_cli_previews_a_scene_with_labels(tmp_path) -> None:
    _tiles(tmp_path)
    out = tmp_path / "scene.png"
    assert main(["preview", str(tmp_path / "scene.zarr"), "-o", str(out), "--size", "128",
                 "--labels", "nuclei"]) == 0
    got = np.asarray(PILImage.open(out).convert("RGB"))
    assert got.shape == (32, 128, 3)
