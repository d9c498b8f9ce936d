"""Hostile numbers in metadata (issue 18): InvalidMetadata naming the field path, or for omero
display hints a KitWarning and the window ignored; never OverflowError/ValueError."""

from __future__ import annotations

import warnings

import pytest

from kit.errors import InvalidMetadata, KitWarning, UnsupportedVersion
from kit.ngff import check_level_array, check_pyramid, parse_attributes

AXES = [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"},
        {"name": "x", "type": "space"}]


def _ms(scales: list[list], ms_scale: list | None = None) -> dict:
    ms: dict = {"axes": AXES, "datasets": [
        {"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": s}]}
        for k, s in enumerate(scales)]}
    if ms_scale is not None:
        ms["coordinateTransformations"] = [{"type": "scale", "scale": ms_scale}]
    return ms


def parse(attrs: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)
        return parse_attributes(attrs, zarr_format=2, where="mem://img")


@pytest.mark.parametrize("value", [10**400, -(10**400), 10**4000])
def test_scale_beyond_float_range_names_the_field_path(value) -> None:
    attrs = {"multiscales": [_ms([[1, 1, 1], [1, value, 2]])]}
    with pytest.raises(InvalidMetadata) as info:
        parse(attrs)
    message = str(info.value)
    assert message.startswith("mem://img: multiscales[0].datasets[1]"
                              ".coordinateTransformations[0].scale: ")
    assert "float range" in message and len(message) < 300  # the 4000 digits are not echoed


def test_scales_that_overflow_when_combined_name_both_transform_lists() -> None:
    attrs = {"multiscales": [_ms([[1, 1, 1], [1, 1e308, 1e308]], ms_scale=[1, 10, 10])]}
    with pytest.raises(InvalidMetadata,
                       match=r"multiscales\[0\]\.datasets\[1\]\.coordinateTransformations: "
                             r"combined with multiscales\[0\]\.coordinateTransformations"):
        parse(attrs)


def test_a_large_but_finite_scale_still_parses() -> None:
    meta = parse({"multiscales": [_ms([[1, 1e300, 1e300]])]})
    assert meta.multiscales[0].datasets[0].scale == (1.0, 1e300, 1e300)


def test_level_extent_beyond_float_range_is_invalid_metadata() -> None:
    ms = parse({"multiscales": [_ms([[1, 1e308, 1e308]])]}).multiscales[0]
    with pytest.raises(InvalidMetadata, match=r"level 0 \(path '0'\).*beyond float range"):
        check_level_array(ms, 0, (2, 64, 64), None, where="mem://img/0")
    assert check_level_array(ms, 0, (2, 1, 1), None, where="mem://img/0") == []


def test_a_level_shape_beyond_float_range_is_invalid_metadata() -> None:
    """Found by tests/test_fuzz.py: a refs document's .zarray with shape [10**400, 16, 16]."""
    ms = parse({"multiscales": [_ms([[1, 1, 1]])]}).multiscales[0]
    with pytest.raises(InvalidMetadata, match=r"level 0 .*beyond float range") as info:
        check_level_array(ms, 0, (10**400, 16, 16), None, where="mem://img/0")
    assert len(str(info.value)) < 300


def _omero(window: dict) -> dict:
    return {"multiscales": [_ms([[1, 1, 1]])],
            "omero": {"channels": [{"label": "a", "color": "FF0000", "window": window},
                                   {"label": "b", "color": "00FF00",
                                    "window": {"start": 0, "end": 9, "min": 0, "max": 9}}]}}


@pytest.mark.parametrize("window", [
    {"start": 0, "end": 10**400, "min": 0, "max": 10**400},
    {"start": -(10**400), "end": 5, "min": 0, "max": 9},
    {"start": -1e308, "end": 1e308, "min": -1e308, "max": 1e308},  # the span overflows
])
def test_omero_window_beyond_float_range_is_warned_and_ignored(window: dict) -> None:
    with pytest.warns(KitWarning, match=r"omero\.channels\[0\]\.window.*ignored"):
        meta = parse_attributes(_omero(window), zarr_format=2, where="mem://img")
    first, second = meta.omero.channels
    assert first.window is None and first.label == "a" and first.color == "FF0000"
    assert (second.window.start, second.window.end) == (0.0, 9.0)


def test_omero_window_of_the_wrong_type_is_still_refused() -> None:
    with pytest.raises(InvalidMetadata, match=r"omero\.channels\[0\]\.window\.end"):
        parse(_omero({"start": 0, "end": "10", "min": 0, "max": 9}))


@pytest.mark.parametrize("attrs, field", [
    ({"multiscales": [{**_ms([[1, 1, 1]]), "version": 0.4}]}, "multiscales[0].version"),
    ({"ome": {"version": 0.5, "multiscales": [_ms([[1, 1, 1]])]}}, "ome.version"),
    ({"ome": {"version": "0.5", "multiscales": [{**_ms([[1, 1, 1]]), "version": 0.5}]}},
     "ome.multiscales[0].version"),
])
def test_a_version_written_as_a_number_says_it_must_be_a_string(attrs: dict, field: str) -> None:
    with pytest.raises(UnsupportedVersion) as info:
        parse(attrs)
    message = str(info.value)
    assert message.startswith(f"mem://img: {field}: ")
    assert "must be a string" in message and "only 0.4 and 0.5" not in message


def test_a_level_larger_than_the_one_above_is_invalid_metadata() -> None:
    ms = parse({"multiscales": [_ms([[1, 1, 1], [1, 2, 2], [1, 4, 4]])]}).multiscales[0]
    check_pyramid(ms, [(2, 64, 64), (2, 32, 32), (2, 16, 16)], where="mem://img")
    check_pyramid(ms, [(2, 64, 64), (2, 64, 33), (2, 64, 33)], where="mem://img")  # equal: fine
    with pytest.raises(InvalidMetadata) as info:
        check_pyramid(ms, [(2, 64, 64), (2, 2**62, 2**62), (2, 16, 16)], where="mem://img")
    message = str(info.value)
    assert message.startswith("mem://img: level 1 (path '1')")
    assert "larger than level 0" in message and f"y {2**62} > 64" in message
    with pytest.raises(InvalidMetadata, match=r"level 2 \(path '2'\).*x 17 > 16"):
        check_pyramid(ms, [(2, 64, 64), (2, 32, 16), (2, 16, 17)], where="mem://img")
