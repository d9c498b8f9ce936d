"""Every example document of the 0.4 and 0.5 specs parses, in strict mode where it is strict.

0.4 examples are `.zattrs` bodies; 0.5 examples are whole `zarr.json` documents (we pass their
`attributes`). Multiscale transforms are compared with values worked out by hand here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from kit.errors import KitWarning
from kit.ngff import Axis, parse_attributes

from ngff_shared import SPEC, file_params, load_json

EXAMPLES = file_params(SPEC, "0.[45]/examples/*/*.json")

KIND = {"bf2raw/image": "bioformats2raw", "bf2raw/plate": "plate",
        "label_strict/colors_properties": "label", "multiscales_strict/multiscales_example":
        "image", "multiscales_strict/multiscales_transformations": "image",
        "ome/series-2": "series", "plate_strict/plate_2wells": "plate",
        "plate_strict/plate_6wells": "plate", "well_strict/well_2fields": "well",
        "well_strict/well_4fields": "well"}


def _attrs(path: Path) -> tuple[str, dict]:
    version = path.parts[-4]
    doc = load_json(path)
    if version == "0.5":
        assert doc["zarr_format"] == 3 and doc["node_type"] == "group"
        return version, doc["attributes"]
    return version, doc


def _load(path: Path, **kw):
    version, attrs = _attrs(path)
    return parse_attributes(attrs, zarr_format=2 if version == "0.4" else 3, where=str(path), **kw)


@pytest.mark.parametrize("path", EXAMPLES)
def test_example_parses_cleanly(path: Path) -> None:
    version = path.parts[-4]
    key = f"{path.parent.name}/{path.stem}"
    strict = "_strict" in path.parent.name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = _load(path, strict=strict)
    assert meta.version == version
    assert meta.kind == KIND[key]
    assert [str(w.message) for w in caught] == list(meta.warnings)
    if key.startswith("label_strict/"):
        # The label example is a bare image-label block (its multiscales live elsewhere).
        assert len(meta.warnings) == 1 and "without multiscales" in meta.warnings[0]
    else:
        assert meta.warnings == ()  # the spec's own examples are clean


def _example(version: str, name: str) -> Path:
    path = SPEC / version / "examples" / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared inputs sit beside the repository in CI)")
    return path


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_multiscales_example_effective_transforms(version: str) -> None:
    meta = _load(_example(version, "multiscales_strict/multiscales_example.json"))
    (ms,) = meta.multiscales
    assert ms.name == "example" and ms.type == "gaussian"
    assert ms.metadata["method"] == "skimage.transform.pyramid_gaussian"
    assert ms.axis_names == ("t", "c", "z", "y", "x")
    assert ms.axes[0] == Axis("t", "time", "millisecond")
    assert ms.axes[1] == Axis("c", "channel", None)
    # Per-level scales times the multiscale-level scale (0.1 on t only), by hand:
    assert [d.path for d in ms.datasets] == ["0", "1", "2"]
    assert ms.datasets[0].scale == pytest.approx((0.1, 1.0, 0.5, 0.5, 0.5))
    assert ms.datasets[1].scale == pytest.approx((0.1, 1.0, 1.0, 1.0, 1.0))
    assert ms.datasets[2].scale == pytest.approx((0.1, 1.0, 2.0, 2.0, 2.0))
    assert all(d.translation == (0.0,) * 5 for d in ms.datasets)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_multiscales_transformations_example(version: str) -> None:
    meta = _load(_example(version, "multiscales_strict/multiscales_transformations.json"))
    (ds,) = meta.multiscales[0].datasets
    assert ds.scale == (10.0, 10.0)  # 1 * 10 per axis


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_plate_6wells_example(version: str) -> None:
    plate = _load(_example(version, "plate_strict/plate_6wells.json")).plate
    assert plate.name == "test" and plate.field_count == 4
    assert plate.rows == ("A", "B") and plate.columns == ("1", "2", "3")
    assert [(w.path, w.row, w.column, w.row_index, w.column_index) for w in plate.wells][-1] == \
        ("B/3", "B", "3", 1, 2)
    assert [(a.id, a.maximum_field_count) for a in plate.acquisitions] == [(1, 2), (2, 2)]
    assert plate.acquisitions[0].name == "Meas_01(2012-07-31_10-41-12)"


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_bf2raw_plate_example_plate_wins(version: str) -> None:
    meta = _load(_example(version, "bf2raw/plate.json"))
    assert meta.kind == "plate" and meta.bioformats2raw_layout == 3
    assert meta.plate.wells[0].path == "A/1"


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_label_and_well_and_series_examples(version: str) -> None:
    with pytest.warns(KitWarning, match="without multiscales"):
        label = _load(_example(version, "label_strict/colors_properties.json")).image_label
    assert label.source_image == "../../"
    if version == "0.4":
        assert label.colors == {1: (255, 255, 255, 255), 4: (0, 255, 255, 128)}
        assert label.properties[4] == {"area (pixels)": 1650}
    else:
        assert label.colors == {0: (0, 0, 128, 128), 1: (0, 128, 0, 128)}
        assert label.properties[1]["cell type"] == "neuron"
    well = _load(_example(version, "well_strict/well_4fields.json")).well
    assert [(im.path, im.acquisition) for im in well.images] == [
        ("0", 1), ("1", 1), ("2", 2), ("3", 2)]
    assert _load(_example(version, "ome/series-2.json")).series == ("0", "1")
