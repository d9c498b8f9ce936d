"""The reader core on generated data of every layout, compared with zarr-python."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image

LAYOUTS = [
    ("yx", (96, 128)),
    ("zyx", (3, 64, 80)),
    ("cyx", (2, 64, 64)),
    ("czyx", (3, 2, 64, 96)),
    ("tczyx", (2, 2, 3, 64, 64)),
]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("axes,shape", LAYOUTS)
def test_image_every_layout(tmp_path, version, axes, shape):
    path = write_image(tmp_path / "img.zarr", version=version, axes=axes, shape=shape, levels=3,
                       chunks=tuple(min(s, 32) for s in shape))
    image = kit.open(path)
    assert isinstance(image, kit.Image)
    assert image.version == version
    assert image.axes == list(axes)
    assert len(image.levels) == 3
    for level in image.levels:
        oracle = zarr.open_array(path / level.path, mode="r")
        assert level.shape == oracle.shape
        assert level.dtype == oracle.dtype
        np.testing.assert_array_equal(image.to_dask(level.index).compute(), oracle[...])
    assert image.location.store.zarr_format == (2 if version == "0.4" else 3)


def test_sharded_v3_reads_inner_chunks(tmp_path):
    path = write_image(tmp_path / "s.zarr", version="0.5", axes="cyx", shape=(2, 128, 128),
                       chunks=(1, 32, 32), sharded=True, levels=2)
    image = kit.open(path)
    oracle = zarr.open_array(path / "0", mode="r")
    assert oracle.shards is not None
    lazy = image.to_dask(0)
    assert lazy.chunksize == oracle.chunks  # the inner chunks, not whole shards
    np.testing.assert_array_equal(lazy.compute(), oracle[...])


def test_physical_scale_and_translation(tmp_path):
    path = write_image(tmp_path / "p.zarr", version="0.4", axes="zyx", shape=(2, 64, 64),
                       scale={"z": 2.0, "y": 0.5, "x": 0.25}, translation={"y": 10.0, "x": 5.0},
                       levels=2, labels=())
    levels = kit.open(path).levels
    assert levels[0].scale == pytest.approx((2.0, 0.5, 0.25))
    assert levels[1].scale == pytest.approx((2.0, 1.0, 0.5))
    assert levels[0].translation[1:] == pytest.approx((10.0, 5.0))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_labels_without_colors(tmp_path, version):
    path = write_image(tmp_path / "l.zarr", version=version, axes="zyx", shape=(2, 64, 64),
                       label_colors=False, levels=2)
    label = kit.open(path).labels["nuclei"]
    assert label.colors == {}
    values = np.unique(label.to_dask(0).compute())
    assert values[0] == 0 and len(values) > 1
    direct = kit.open(path / "labels" / "nuclei")
    assert isinstance(direct, kit.Label)
    assert direct.source.path == ""


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_label_colors(tmp_path, version):
    path = write_image(tmp_path / "l.zarr", version=version, axes="yx", shape=(64, 64), levels=1)
    label = kit.open(path).labels["nuclei"]
    values = set(np.unique(label.to_dask(0).compute())) - {0}
    assert values and set(label.colors) >= values
    assert all(len(rgba) == 4 for rgba in label.colors.values())


def test_plate_with_several_fields(tmp_path):
    from kit.demo.generate import write_plate

    path = write_plate(tmp_path / "plate.zarr", version="0.5", rows="AB",
                       columns=("01", "02", "03"),
                       fields=3, missing_wells=("B/02",),
                       image_kwargs={"axes": "cyx", "shape": (2, 32, 32), "levels": 2})
    plate = kit.open(path)
    assert isinstance(plate, kit.Plate)
    assert plate.rows == ["A", "B"]
    assert "B/02" not in plate.wells and len(plate.wells) == 5
    images = plate.images()
    assert len(images) == 15
    assert sorted(plate["A/01"].images) == ["0", "1", "2"]
    oracle = zarr.open_array(path / "A/03/2/1", mode="r")
    np.testing.assert_array_equal(images["A/03/2"].to_dask(1).compute(), oracle[...])


def test_amap_wells_runs_per_well_and_skips_missing_wells_with_a_warning(tmp_path):
    from kit.demo.generate import write_plate
    from kit.io.loop import run_sync

    path = write_plate(tmp_path / "plate.zarr", rows="AB", columns=("01", "02"), fields=2,
                       image_kwargs={"shape": (1, 1, 16, 16), "levels": 1})
    shutil.rmtree(path / "B" / "02")  # listed by the plate, absent from the store
    plate = kit.open(path)

    async def mean_of_fields(well: str, fields: dict) -> float:
        return float(np.mean([(await image.aread(0)).mean() for image in fields.values()]))

    with pytest.warns(kit.KitWarning, match="B/02: listed well is missing"):
        means = run_sync(plate.amap_wells(mean_of_fields))
    assert sorted(means) == ["A/01", "A/02", "B/01"]
    for well, value in means.items():
        oracle = [zarr.open_array(path / well / f / "0", mode="r")[...].mean() for f in "01"]
        assert value == pytest.approx(float(np.mean(oracle)))
    assert sorted(plate.wells) == ["A/01", "A/02", "B/01"]  # cached: no second walk


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_bioformats2raw_layout(tmp_path, version):
    from kit.demo.generate import write_bf2raw

    path = write_bf2raw(tmp_path / "bf.zarr", version=version, series=2)
    root = kit.open(path)
    assert isinstance(root, kit.Group)
    assert root.meta.kind == "bioformats2raw"
    members = root.members
    assert sorted(members) == ["0", "1"]
    assert all(isinstance(m, kit.Image) for m in members.values())


def test_generic_group_members_local(tmp_path):
    root = zarr.open_group(tmp_path / "g.zarr", mode="w", zarr_format=3)
    root.create_group("sub").create_array("a", shape=(4,), dtype="i4")[:] = [1, 2, 3, 4]
    root.create_array("b", shape=(2, 2), dtype="f8")[:] = 1.5
    group = kit.open(tmp_path / "g.zarr")
    assert isinstance(group, kit.Group)
    assert sorted(group.members) == ["b", "sub"]
    assert group["b"].compute().sum() == 6.0
    assert list(group["sub"]["a"].compute()) == [1, 2, 3, 4]
