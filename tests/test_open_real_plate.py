"""The reader core on the real Fractal plate, every array compared with zarr-python."""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
import zarr

import kit

WELLS = ("B/03", "B/05")


@pytest.fixture
def plate(real_plate):
    return kit.open(real_plate)


def test_plate_structure(plate):
    assert isinstance(plate, kit.Plate)
    assert plate.version == "0.4"
    assert plate.rows == ["B"]
    assert plate.columns == ["03", "05"]
    assert sorted(plate.wells) == list(WELLS)
    assert sorted(plate.images()) == ["B/03/0", "B/05/0"]
    assert isinstance(plate["B/03"], kit.Well)
    assert isinstance(plate["B/03/0"], kit.Image)
    with pytest.raises(kit.NotFound, match="C/01"):
        plate["C/01"]


def test_image_metadata(plate):
    image = plate["B/03/0"]
    assert image.axes == ["c", "z", "y", "x"]
    assert [c.label for c in image.channels] == ["DAPI", "nanog", "Lamin B1"]
    assert all(c.color and len(c.color) == 6 for c in image.channels)
    levels = image.levels
    assert len(levels) == 5
    assert levels[0].shape == (3, 1, 2160, 5120)
    assert levels[0].dtype == np.uint16
    assert levels[0].scale[-1] == pytest.approx(0.1625)
    for a, b in itertools.pairwise(levels):
        assert b.scale[-1] == pytest.approx(a.scale[-1] * 2)
        assert b.shape[-1] == a.shape[-1] // 2


@pytest.mark.parametrize("well", WELLS)
def test_every_level_equals_zarr(real_plate, plate, well):
    image = plate[f"{well}/0"]
    for level in image.levels:
        oracle = zarr.open_array(real_plate / well / "0" / level.path, mode="r")
        lazy = image.to_dask(level.index)
        assert isinstance(lazy, da.Array)
        assert lazy.shape == oracle.shape and lazy.chunksize == oracle.chunks
        if level.index == 0:  # 66 MB of mostly missing chunks: compare a corner and a band
            np.testing.assert_array_equal(lazy[:, :, :300, :700].compute(),
                                          oracle[:, :, :300, :700])
        else:
            np.testing.assert_array_equal(lazy.compute(), oracle[...])


def test_labels(real_plate, plate):
    image = plate["B/03/0"]
    labels = image.labels
    assert list(labels) == ["nuclei"]
    nuclei = labels["nuclei"]
    assert isinstance(nuclei, kit.Label)
    assert len(nuclei.levels) == 5
    assert nuclei.levels[0].scale[-1] == pytest.approx(0.65)
    oracle = zarr.open_array(real_plate / "B/03/0/labels/nuclei/2", mode="r")
    np.testing.assert_array_equal(nuclei.to_dask(2).compute(), oracle[...])
    assert nuclei.source.path == image.path


def test_tables_listed(plate):
    tables = plate["B/03/0"].tables
    assert sorted(tables) == ["FOV_ROI_table", "condition", "measurements", "well_ROI_table"]
    assert tables["FOV_ROI_table"].kind == "roi_table"
    assert tables["measurements"].kind == "feature_table"


def test_pick_level(plate):
    image = plate["B/03/0"]
    widths = [lv.shape[-1] for lv in image.levels]  # 5120, 2560, 1280, 640, 320
    assert image.pick_level(300) == 4
    assert image.pick_level(512) == 3
    assert image.pick_level(1000) == 2
    assert image.pick_level(widths[0] * 2) == 0


def test_level_arrays_opened_only_when_read(plate):
    image = plate["B/05/0"]
    store = image.location.store
    before = set(store._documents)
    image.to_dask(4)
    fetched = {k for k in store._documents if k not in before}
    assert all("/0/" in k or k.endswith(".zarray") for k in fetched)
    assert not any(k.endswith("/labels/.zattrs") for k in fetched)
