"""kit.ngff.build: every builder's output passes the official (strict) schemas of its version
and parses back, through the kit's own parser in strict mode, to what was put in."""

from __future__ import annotations

import warnings

import pytest
from helpers import schema_validator

from kit.ngff import build, parse_attributes

VERSIONS = ("0.4", "0.5")
ZARR_FORMAT = {"0.4": 2, "0.5": 3}


def valid(version: str, schema: str, attrs: dict) -> None:
    errors = sorted(schema_validator(version, schema).iter_errors(attrs), key=str)
    assert not errors, [e.message for e in errors]


def parse(version: str, attrs: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean document: no KitWarning either
        return parse_attributes(attrs, zarr_format=ZARR_FORMAT[version], where="built", strict=True)


def image_attrs(version: str) -> dict:
    scales = [[1.0, 2.0, 0.5, 0.5], [1.0, 2.0, 1.0, 1.0], [1.0, 2.0, 2.0, 2.0]]
    shift = [0.0, 0.0, 10.0, -4.0]
    window = {"min": 0, "max": 4095, "start": 100, "end": 1800}
    return build.ome_attributes(version, {
        "multiscales": build.multiscales(version, name="img", axes=build.axes("czyx"),
                                         scales=scales, translations=[shift] * 3, type="mean",
                                         metadata={"method": "test"}),
        "omero": build.omero(version, name="img", default_z=1, channels=[
            build.channel("DAPI", "#0000ff", window),
            build.channel("GFP", "00FF00", window, active=False)]),
    })


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("strict", ["", "strict_"])
def test_image_passes_the_schema(version, strict):
    valid(version, f"{strict}image", image_attrs(version))


@pytest.mark.parametrize("version", VERSIONS)
def test_image_round_trip(version):
    meta = parse(version, image_attrs(version))
    assert (meta.version, meta.kind) == (version, "image")
    (ms,) = meta.multiscales
    assert ms.name == "img" and ms.type == "mean" and ms.metadata == {"method": "test"}
    assert ms.axis_names == ("c", "z", "y", "x")
    assert [(a.type, a.unit) for a in ms.axes] == [("channel", None), ("space", "micrometer"),
                                                   ("space", "micrometer"), ("space", "micrometer")]
    assert [d.path for d in ms.datasets] == ["0", "1", "2"]
    assert ms.datasets[1].scale == pytest.approx((1.0, 2.0, 1.0, 1.0))
    assert ms.datasets[2].translation == pytest.approx((0.0, 0.0, 10.0, -4.0))
    a, b = meta.omero.channels
    assert (a.label, a.color, a.active, b.label, b.color, b.active) == (
        "DAPI", "0000FF", True, "GFP", "00FF00", False)
    assert (a.window.start, a.window.end, a.window.min, a.window.max) == (100, 1800, 0, 4095)
    assert meta.omero.rdefs["defaultZ"] == 1


def label_attrs(version: str) -> dict:
    return build.ome_attributes(version, {
        "multiscales": build.multiscales(version, name="nuclei", axes=build.axes("zyx"),
                                         scales=[[1.0, 0.5, 0.5], [1.0, 1.0, 1.0]], type="nearest",
                                         metadata={"method": "every other pixel"}),
        "image-label": build.image_label(version, colors={1: [255, 0, 0, 255], 2: (0, 255, 0, 128)},
                                         properties=[{"label-value": 1, "area": 12},
                                                     {"label-value": 2, "area": 7}]),
    })


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("strict", ["", "strict_"])
def test_label_passes_the_schemas(version, strict):
    valid(version, f"{strict}label", label_attrs(version))
    valid(version, f"{strict}image", label_attrs(version))


@pytest.mark.parametrize("version", VERSIONS)
def test_label_round_trip(version):
    meta = parse(version, label_attrs(version))
    assert meta.kind == "label"
    il = meta.image_label
    assert il.colors == {1: (255, 0, 0, 255), 2: (0, 255, 0, 128)}
    assert il.properties[2]["area"] == 7
    assert il.source_image == "../../"
    assert [d.path for d in meta.multiscales[0].datasets] == ["0", "1"]


@pytest.mark.parametrize("version", VERSIONS)
def test_labels_group_round_trip(version):
    attrs = build.ome_attributes(version, {"labels": build.labels(["nuclei", "cells"])})
    meta = parse(version, attrs)
    assert meta.labels == ("nuclei", "cells")


def plate_attrs(version: str) -> dict:
    return build.ome_attributes(version, {"plate": build.plate(
        version, name="screen", rows="ABC", columns=["01", "02"], wells=[(0, 0), (2, 1)],
        field_count=2, acquisitions=[{"id": 0, "name": "cycle_1", "maximumfieldcount": 2}])})


def well_attrs(version: str) -> dict:
    return build.ome_attributes(version, {"well": build.well(version, [("0", 0), ("1", 0)])})


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("strict", ["", "strict_"])
def test_plate_and_well_pass_the_schemas(version, strict):
    valid(version, f"{strict}plate", plate_attrs(version))
    valid(version, f"{strict}well", well_attrs(version))


@pytest.mark.parametrize("version", VERSIONS)
def test_plate_and_well_round_trip(version):
    plate = parse(version, plate_attrs(version))
    assert plate.kind == "plate"
    p = plate.plate
    assert (p.name, p.rows, p.columns) == ("screen", ("A", "B", "C"), ("01", "02"))
    assert p.field_count == 2
    wells = [(w.path, w.row_index, w.column_index) for w in p.wells]
    assert wells == [("A/01", 0, 0), ("C/02", 2, 1)]
    assert [(a.id, a.name, a.maximum_field_count) for a in p.acquisitions] == [(0, "cycle_1", 2)]
    well = parse(version, well_attrs(version))
    assert well.kind == "well"
    assert [(i.path, i.acquisition) for i in well.well.images] == [("0", 0), ("1", 0)]
    bare = parse(version, build.ome_attributes(version, {"well": build.well(version, ["0"])}))
    assert [(i.path, i.acquisition) for i in bare.well.images] == [("0", None)]


def test_versions_lay_out_differently():
    old, new = image_attrs("0.4"), image_attrs("0.5")
    assert old["multiscales"][0]["version"] == "0.4" and old["omero"]["version"] == "0.4"
    assert set(new) == {"ome"} and new["ome"]["version"] == "0.5"
    assert "version" not in new["ome"]["multiscales"][0] and "version" not in new["ome"]["omero"]


def test_bad_input_is_refused_before_anything_is_built():
    with pytest.raises(ValueError, match=r"0\.7"):
        build.multiscales("0.7", name="x", axes=build.axes("yx"), scales=[[1, 1]])
    with pytest.raises(ValueError, match="one entry per level"):
        build.multiscales("0.4", name="x", axes=build.axes("yx"), scales=[[1, 1]], paths=["0", "1"])
    with pytest.raises(ValueError, match="one entry per level"):
        build.multiscales("0.5", name="x", axes=build.axes("yx"), scales=[])
