"""RenderSpec: one validated set of options behind kit.preview, kit.show and kit.plate_overview,
and the typed errors for bad requests (issue 18: level=99, a non-plate overview, all fill)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image, write_plate
from kit.render import InvalidRenderSpec, NotRenderable, RenderSpec
from kit.render.preview import render


@pytest.fixture(scope="module")
def image_path(tmp_path_factory) -> Path:
    return write_image(tmp_path_factory.mktemp("spec") / "img.zarr", axes="czyx",
                       shape=(3, 4, 128, 128), chunks=(1, 1, 32, 32), levels=3,
                       labels=("nuclei",))


@pytest.fixture(scope="module")
def plate_path(tmp_path_factory) -> Path:
    return write_plate(tmp_path_factory.mktemp("spec-plate") / "p.zarr", rows="AB",
                       columns=("01", "02"))


# -- the spec itself ------------------------------------------------------------------------------

def test_a_spec_normalises_its_options_once():
    spec = RenderSpec(channels=[0, np.int64(2)], labels="nuclei", windows=[(0, 10), None],
                      opacity=1, z=np.int32(3))
    assert spec.channels == (0, 2) and spec.labels == ("nuclei",) and spec.z == 3
    assert spec.windows == ((0.0, 10.0), None) and spec.opacity == 1.0
    assert RenderSpec(labels=False).labels is None and RenderSpec(labels=[]).labels is None
    assert RenderSpec(labels=True).labels is True
    assert RenderSpec().size(512) == 512 and RenderSpec(max_size=64).size(512) == 64
    with pytest.raises(AttributeError):
        spec.z = 1  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("options,match", [
    ({"label_style": "dots"}, "label_style"),
    ({"opacity": 1.5}, "opacity"),
    ({"opacity": "half"}, "opacity"),
    ({"max_size": 0}, "max_size"),
    ({"max_size": -5}, "max_size"),
    ({"max_size": 2.5}, "max_size"),
    ({"z": "middle"}, "z must be an integer"),
    ({"level": True}, "level must be an integer"),
    ({"channels": 1.5}, "channels"),
    ({"channels": [0, None]}, "channels"),
    ({"labels": 3}, "labels"),
    ({"windows": [(0, float("inf"))]}, "finite"),
    ({"windows": [(1, 2, 3)]}, "window"),
    ({"fields": "some"}, "fields"),
])
def test_bad_options_are_one_typed_error(options, match):
    with pytest.raises(InvalidRenderSpec, match=match) as info:
        RenderSpec(**options)
    assert isinstance(info.value, kit.KitError) and isinstance(info.value, ValueError)
    with pytest.raises(InvalidRenderSpec, match=match):
        RenderSpec.from_kwargs(**options)


def test_from_kwargs_layers_keywords_over_a_spec():
    base = RenderSpec(max_size=64, channels=[1], label_style="fill")
    spec = RenderSpec.from_kwargs(base, z=2, channels="GFP")
    assert (spec.max_size, spec.channels, spec.label_style, spec.z) == (64, "GFP", "fill", 2)
    assert RenderSpec.from_kwargs(base) is base
    with pytest.raises(TypeError, match="colour"):
        RenderSpec.from_kwargs(colour="red")
    with pytest.raises(TypeError, match="RenderSpec"):
        RenderSpec.from_kwargs({"z": 1})  # type: ignore[arg-type]


def test_validated_once_for_every_entry_point(image_path, plate_path):
    """The same bad option fails the same way in preview, show and plate_overview, before any
    request is made."""
    image, plate = kit.open(image_path), kit.open(plate_path)
    for call in (lambda: kit.preview(image, opacity=2), lambda: kit.show(image, opacity=2),
                 lambda: kit.plate_overview(plate, opacity=2, progress=False)):
        with pytest.raises(InvalidRenderSpec, match="opacity"):
            call()
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        kit.preview(image, colour="red")


# -- spec= is the keywords in one value --------------------------------------------------------

def test_spec_gives_the_same_picture_as_keywords(image_path, plate_path):
    image, plate = kit.open(image_path), kit.open(plate_path)
    options = {"max_size": 64, "channels": [0, 2], "z": 1, "labels": "nuclei",
               "label_style": "fill", "opacity": 0.8}
    spec = RenderSpec(**options)
    assert np.array_equal(kit.preview(image, spec), kit.preview(image, **options))
    assert np.array_equal(kit.preview(image, spec=spec, z=3), kit.preview(image, **{**options,
                                                                                     "z": 3}))
    fig = kit.show(image, spec, title="x")
    assert np.array_equal(fig.axes[0].get_images()[0].get_array(), kit.preview(image, spec))
    assert np.array_equal(kit.plate_overview(plate, RenderSpec(max_size=100), progress=False),
                          kit.plate_overview(plate, max_size=100, progress=False))


def test_windows_set_the_contrast_of_the_shown_channels(image_path):
    image = kit.open(image_path)
    level = zarr.open_array(image_path / "2", mode="r")[...]
    rgb = kit.preview(image, max_size=32, channels=[1], windows=[(0, 1)])
    plane = level[1, level.shape[1] // 2]
    assert np.array_equal(rgb[..., 1] > 0, plane > 0)  # any count above 0 is full colour
    rendered = render(image, RenderSpec(max_size=32, channels=[1], windows=[(0, 1)]))
    assert rendered.windows == [(0.0, 1.0)] and rendered.level == 2
    with pytest.raises(InvalidRenderSpec, match="1 window"):
        kit.preview(image, channels=[0, 1], windows=[(0, 1)])


def test_roi_shows_only_that_part(image_path):
    image = kit.open(image_path)
    full = kit.preview(image, max_size=128, level=0)
    scale = image.levels[0].scale[-1]
    roi = {"x_micrometer": 32 * scale, "y_micrometer": 16 * scale,
           "len_x_micrometer": 64 * scale, "len_y_micrometer": 48 * scale}
    crop = kit.preview(image, level=0, max_size=64, roi=roi)
    assert crop.shape == (48, 64, 3)
    # the same pixels as the whole plane, except where the data-driven windows differ
    whole = render(image, RenderSpec(level=0, max_size=128))
    same = kit.preview(image, level=0, max_size=64, roi=roi, windows=whole.windows)
    assert np.array_equal(same, full[16:64, 32:96])


# -- issue 18: typed errors for requests the data cannot satisfy --------------------------------

def test_a_level_that_does_not_exist_is_not_found_naming_the_levels(image_path):
    image = kit.open(image_path)
    for call in (lambda: kit.preview(image, level=99), lambda: kit.show(image, level=-9),
                 lambda: kit.preview(image.labels["nuclei"], level=99)):
        with pytest.raises(kit.NotFound, match=r"level (99|-9) does not exist.*0 to 2") as info:
            call()
        assert str(image_path.name) in str(info.value)
    assert kit.preview(image, level=-1).shape[:2] == (32, 32)


def test_a_plate_overview_at_a_level_that_does_not_exist_is_not_found(plate_path):
    with pytest.raises(kit.NotFound, match="level 99 does not exist"):
        kit.plate_overview(kit.open(plate_path), level=99, progress=False)


def test_z_or_t_on_an_image_without_that_axis_is_not_found(tmp_path):
    image = kit.open(write_image(tmp_path / "yx.zarr", axes="cyx", shape=(1, 32, 32),
                                 levels=1, labels=()))
    assert np.array_equal(kit.preview(image, t=0, z=0), kit.preview(image))
    with pytest.raises(kit.NotFound, match=r"no t axis.*t=3"):
        kit.preview(image, t=3)
    with pytest.raises(kit.NotFound, match=r"no z axis.*z=2"):
        kit.show(image, z=2)


def test_plate_overview_of_something_else_is_a_typed_error(image_path, plate_path):
    image = kit.open(image_path)
    with pytest.raises(NotRenderable, match="plate_overview needs a Plate, not a Image") as info:
        kit.plate_overview(image)
    assert isinstance(info.value, kit.KitError) and isinstance(info.value, TypeError)
    with pytest.raises(NotRenderable):
        kit.plate_overview(kit.open(plate_path)["A/01"])
    with pytest.raises(TypeError):
        kit.preview(object())


def test_a_preview_of_missing_chunks_warns_that_nothing_is_stored(tmp_path):
    path = write_image(tmp_path / "gone.zarr", axes="cyx", shape=(2, 64, 64), levels=2,
                       labels=())
    image = kit.open(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kit.preview(image, max_size=64)  # data there: no warning
    for level in ("0", "1"):
        for chunk in (path / level).iterdir():
            if not chunk.name.startswith("."):
                shutil.rmtree(chunk) if chunk.is_dir() else chunk.unlink()
    image = kit.open(path)
    with pytest.warns(kit.KitWarning, match="no data stored there.*fill value 0"):
        rgb = kit.preview(image, max_size=64)
    assert not rgb.any()


def test_a_plate_overview_of_missing_chunks_warns_once(tmp_path):
    path = write_plate(tmp_path / "p.zarr", rows="A", columns=("01", "02"),
                       image_kwargs={"labels": ()})
    plate = kit.open(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kit.plate_overview(plate, max_size=64, progress=False)
    for chunk in path.glob("A/*/0/[0-9]*/**/*"):
        if chunk.is_file() and not chunk.name.startswith("."):
            chunk.unlink()
    for chunk in path.glob("A/*/0/[0-9]*"):
        if chunk.is_file():
            chunk.unlink()
    plate = kit.open(path)
    with pytest.warns(kit.KitWarning, match="no data stored there") as caught:
        kit.plate_overview(plate, max_size=64, progress=False)
    assert len([w for w in caught if "no data" in str(w.message)]) == 1


# -- colours and gamma are part of the one spec -------------------------------------------------

@pytest.mark.parametrize("options, match", [
    ({"colors": ["nothex"]}, "colour"),
    ({"colors": [(1, 2)]}, "colour"),
    ({"colors": [(0, 0, 256)]}, "colour"),
    ({"colors": "FF0000"}, "colors"),
    ({"gamma": 0}, "gamma"),
    ({"gamma": "x"}, "gamma"),
    ({"gamma": float("inf")}, "gamma"),
])
def test_bad_colours_and_gamma_are_typed_errors(options, match):
    with pytest.raises(InvalidRenderSpec, match=match):
        RenderSpec(**options)


def test_colours_and_gamma_change_the_preview(image_path):
    image = kit.open(image_path)
    spec = RenderSpec(max_size=64, channels=[0])
    plain = kit.preview(image, spec)
    red = kit.preview(image, spec.with_(colors=["#ff0000"]))
    assert RenderSpec(colors=["#FF0000", (0, 255, 0), None]).colors == (
        (255, 0, 0), (0, 255, 0), None)
    assert red[..., 0].max() > 0 and red[..., 1].max() == 0 and red[..., 2].max() == 0
    assert np.array_equal(kit.preview(image, spec.with_(colors=[None])), plain)
    bright = kit.preview(image, spec.with_(gamma=0.5))
    assert bright.astype(int).sum() > plain.astype(int).sum()  # v ** 0.5 >= v on [0, 1]
    with pytest.raises(InvalidRenderSpec, match="colors gives 2"):
        kit.preview(image, spec.with_(colors=["ff0000", "00ff00"]))
