"""Plate and well rules: names, well paths against indices, acquisitions, field paths."""

from __future__ import annotations

import warnings

import pytest

from kit.errors import InvalidMetadata, KitWarning
from kit.ngff import Acquisition, WellImage, WellRef, parse_attributes


def plate(version: str = "0.5", **fields):
    body = {"rows": [{"name": "A"}, {"name": "B"}],
            "columns": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
            "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0},
                      {"path": "B/3", "rowIndex": 1, "columnIndex": 2}], **fields}
    attrs = {"ome": {"version": "0.5", "plate": body}} if version == "0.5" else {"plate": body}
    return parse_attributes(attrs, zarr_format=None, where="mem://p")


def test_plate_model() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta = plate(name="P1", field_count=2,
                     acquisitions=[{"id": 0, "name": "a", "maximumfieldcount": 2},
                                   {"id": 7, "starttime": 1, "endtime": 2}])
    p = meta.plate
    assert (p.name, p.rows, p.columns, p.field_count) == ("P1", ("A", "B"), ("1", "2", "3"), 2)
    assert p.wells == (WellRef("A/1", 0, 0), WellRef("B/3", 1, 2))
    assert (p.wells[1].row, p.wells[1].column) == ("B", "3")
    assert p.acquisitions == (Acquisition(0, "a", 2), Acquisition(7, None, None))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_indices_disagreeing_with_a_valid_path_are_taken_from_the_path(version: str) -> None:
    wells = [{"path": "A/2", "rowIndex": 1, "columnIndex": 0}]
    with pytest.warns(KitWarning, match=r"plate\.wells\[0\].*disagree with path 'A/2'"):
        meta = plate(version, wells=wells)
    assert meta.plate.wells == (WellRef("A/2", 0, 1),)


def test_column_before_row_0_4_warns_0_5_refuses() -> None:
    wells = [{"path": "2/B", "rowIndex": 1, "columnIndex": 1}]
    with pytest.warns(KitWarning, match=r"'2/B' is written '<column>/<row>'.*'B/2'"):
        assert plate("0.4", wells=wells).plate.wells[0].path == "2/B"
    with pytest.raises(InvalidMetadata, match=r"ome\.plate\.wells\[0\]\.path: '2/B' is written"):
        plate("0.5", wells=wells)


@pytest.mark.parametrize("fields, phrase", [
    ({"wells": [{"path": "C/1", "rowIndex": 0, "columnIndex": 0}]}, "does not name a row"),
    ({"wells": [{"path": "A/1", "rowIndex": 2, "columnIndex": 0}]}, r"rowIndex: 2 is out of range"),
    ({"wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": True}]}, r"columnIndex"),
    ({"wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}] * 2}, "listed twice"),
    ({"wells": [{"path": "A_/1", "rowIndex": 0, "columnIndex": 0}]}, "two alphanumeric names"),
    ({"rows": [{"name": "A"}, {"name": "A B"}]}, r"rows\[1\]\.name: 'A B' must be alphanumeric"),
    ({"acquisitions": [{"id": 1}, {"id": 1}]}, r"acquisitions\[1\]\.id: 1 is used twice"),
    ({"acquisitions": [{"id": 0, "name": 5}]}, r"acquisitions\[0\]\.name"),
    ({"field_count": 1.5}, "field_count"),
    ({"name": ["x"]}, r"plate\.name"),
])
def test_plate_errors(fields: dict, phrase: str) -> None:
    with pytest.raises(InvalidMetadata, match=phrase):
        plate(**fields)


def test_row_names_are_case_sensitive() -> None:
    meta = plate(rows=[{"name": "A"}, {"name": "a"}],
                 wells=[{"path": "a/1", "rowIndex": 1, "columnIndex": 0}])
    assert meta.plate.rows == ("A", "a") and meta.plate.wells[0].row_index == 1


def test_strict_plate() -> None:
    with pytest.raises(InvalidMetadata, match=r"plate\.name: missing \(SHOULD\)"):
        parse_attributes({"ome": {"version": "0.5", "plate": {
            "rows": [{"name": "A"}], "columns": [{"name": "1"}],
            "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}]}}},
            zarr_format=3, where="w", strict=True)


def well(images, version: str = "0.5"):
    body = {"images": images}
    attrs = {"ome": {"version": "0.5", "well": body}} if version == "0.5" else {"well": body}
    return parse_attributes(attrs, zarr_format=None, where="mem://w")


def test_well_model() -> None:
    meta = well([{"path": "0", "acquisition": 1}, {"path": "1"}])
    assert meta.well.images == (WellImage("0", 1), WellImage("1", None))


@pytest.mark.parametrize("images, phrase", [
    ([], r"well\.images: must not be empty"),
    ([{"path": "0"}, {"path": "0"}], r"images\[1\]\.path: '0' is listed twice"),
    ([{"path": "0/1"}], "alphanumeric"),
    ([{"path": 0}], r"images\[0\]\.path"),
    ([{"path": "0", "acquisition": 1.0}], r"images\[0\]\.acquisition"),
    ({"path": "0"}, r"well\.images: must be a list"),
])
def test_well_errors(images, phrase: str) -> None:
    with pytest.raises(InvalidMetadata, match=phrase):
        well(images)
