"""``Image.to_xarray`` / ``to_datatree``: lazy, labelled in physical units, values as zarr-python.

Coordinates are checked against numbers computed by hand from the scale/translation written;
laziness against the DemoServer's request log (no chunk is fetched before ``compute``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image
from kit.errors import KitError

xr = pytest.importorskip("xarray")

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

META_NAMES = ("zarr.json", ".zattrs", ".zgroup", ".zarray", ".zmetadata")


def shifted_image(base: Path, version: str) -> Path:
    """czyx, x/y pixel 0.5 µm and z 2 µm at level 0, translation (z, y, x) = (4, -3, 10);
    level 1 moved by a quarter pixel in x (10.25), as a pyramid with pixel centres has."""
    root = write_image(base / f"img-{version}.zarr", version=version, shape=(2, 3, 32, 48),
                       levels=2, channels=["DAPI", "GFP"], scale={"z": 2.0, "y": 0.5, "x": 0.5},
                       translation={"z": 4.0, "y": -3.0, "x": 10.0})
    doc_path = root / ("zarr.json" if version == "0.5" else ".zattrs")
    doc = json.loads(doc_path.read_text())
    attrs = doc["attributes"]["ome"] if version == "0.5" else doc
    attrs["multiscales"][0]["datasets"][1]["coordinateTransformations"][1]["translation"] = [
        0.0, 4.0, -3.0, 10.25]
    doc_path.write_text(json.dumps(doc))
    return root


@pytest.fixture(params=["0.4", "0.5"])
def image_folder(request, tmp_path: Path) -> Path:
    return shifted_image(tmp_path, request.param)


def test_data_array_is_labelled_in_physical_units(image_folder: Path) -> None:
    image = kit.open(image_folder)
    arr = image.to_xarray()
    assert arr.dims == ("c", "z", "y", "x") and arr.shape == (2, 3, 32, 48)
    assert isinstance(arr.data, da.Array)  # lazy, the image's dask array
    assert list(arr.coords["c"].values) == ["DAPI", "GFP"]
    np.testing.assert_allclose(arr.coords["z"].values, [4.0, 6.0, 8.0])
    np.testing.assert_allclose(arr.coords["y"].values, -3.0 + 0.5 * np.arange(32))
    np.testing.assert_allclose(arr.coords["x"].values, 10.0 + 0.5 * np.arange(48))
    assert arr.coords["x"].attrs == {"units": "micrometer", "type": "space"}
    assert arr.coords["c"].attrs == {"type": "channel"}
    assert arr.attrs["ngff_version"] == image.version
    assert arr.attrs["axis_units"] == {"z": "micrometer", "y": "micrometer", "x": "micrometer"}
    assert arr.attrs["name"] == arr.name == image.multiscale.name
    assert (arr.attrs["level"], arr.attrs["path"]) == (0, "0")

    coarse = image.to_xarray(level=1)
    np.testing.assert_allclose(coarse.coords["x"].values, 10.25 + 1.0 * np.arange(24))
    np.testing.assert_allclose(coarse.coords["y"].values, -3.0 + 1.0 * np.arange(16))
    assert coarse.attrs["translation"] == [0.0, 4.0, -3.0, 10.25]


def test_values_match_zarr_python(image_folder: Path) -> None:
    image = kit.open(image_folder)
    for level in ("0", "1"):
        expected = zarr.open_array(str(image_folder / level), mode="r")[:]
        arr = image.to_xarray(int(level))
        assert np.array_equal(arr.values, expected)
        # selection by label and by physical position
        assert np.array_equal(arr.sel(c="GFP").values, expected[1])
        x = float(arr.coords["x"][5])
        assert np.array_equal(arr.sel(x=x).values, expected[..., 5])


def test_label_to_xarray(image_folder: Path) -> None:
    label = kit.open(image_folder).labels["nuclei"]
    arr = label.to_xarray()
    assert arr.dims == ("z", "y", "x")
    expected = zarr.open_array(str(image_folder / "labels" / "nuclei" / "0"), mode="r")[:]
    assert np.array_equal(arr.values, expected)
    np.testing.assert_allclose(arr.coords["x"].values, 10.0 + 0.5 * np.arange(48))


def test_datatree_holds_every_level(image_folder: Path) -> None:
    image = kit.open(image_folder)
    tree = image.to_datatree()
    assert isinstance(tree, xr.DataTree)
    assert list(tree.children) == ["0", "1"]
    assert tree.attrs["levels"] == ["0", "1"] and tree.attrs["ngff_version"] == image.version
    for path in ("0", "1"):
        node = tree[path]["image"]
        assert isinstance(node.data, da.Array)
        expected = zarr.open_array(str(image_folder / path), mode="r")[:]
        assert np.array_equal(node.values, expected)
        xr.testing.assert_identical(node, image.to_xarray(int(path)).rename("image"))
    np.testing.assert_allclose(tree["1"]["x"].values, 10.25 + np.arange(24))


def test_stays_lazy_until_computed(tmp_path: Path, serve) -> None:
    root = shifted_image(tmp_path / "site", "0.5")
    srv = serve(tmp_path / "site")
    image = kit.open(f"{srv.url}{root.name}")
    arr = image.to_xarray(1)
    image.to_datatree()
    assert all(r.path.endswith(META_NAMES) for r in srv.requests)  # metadata only so far
    srv.reset_log()
    total = int(arr.sum().compute())
    assert total == int(zarr.open_array(str(root / "1"), mode="r")[:].sum())
    assert srv.count() > 0 and not any(r.path.endswith(META_NAMES) for r in srv.requests)


def test_without_xarray_the_error_names_the_extra(image_folder: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    image = kit.open(image_folder)
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray now raises ImportError
    for call in (image.to_xarray, image.to_datatree):
        with pytest.raises(KitError) as info:
            call()
        assert "pip install 'ngff-kit[xarray]'" in str(info.value)
