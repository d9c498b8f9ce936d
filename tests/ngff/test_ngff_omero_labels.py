"""`omero` (lenient display hints) and `image-label` (colours, properties, duplicates)."""

from __future__ import annotations

import warnings

import pytest

from kit.errors import InvalidMetadata, KitWarning
from kit.ngff import Channel, Window, parse_attributes

MS = {"axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
      "datasets": [{"path": "0",
                    "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}]}
WIN = {"start": 0, "end": 100, "min": 0, "max": 255}


def image(omero=None, image_label=None):
    attrs = {"multiscales": [MS]}
    if omero is not None:
        attrs["omero"] = omero
    if image_label is not None:
        attrs["image-label"] = image_label
    return parse_attributes(attrs, zarr_format=2, where="mem://i")


def test_complete_channel() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        om = image({"channels": [{"label": "DAPI", "color": "00ff7f", "window": WIN,
                                  "active": False}], "rdefs": {"model": "color"}}).omero
    assert om.channels == (Channel("DAPI", "00FF7F", Window(0.0, 100.0, 0.0, 255.0), False),)
    assert om.rdefs == {"model": "color"}


@pytest.mark.parametrize("channel, expected, phrase", [
    ({"window": WIN}, Channel(None, None, Window(0, 100, 0, 255), True), r"color: missing"),
    ({"color": "FF0000"}, Channel(None, "FF0000", None, True), r"window: missing"),
    ({"color": "#ff0000", "window": WIN}, Channel(None, "FF0000", Window(0, 100, 0, 255), True),
     "has a '#'"),
    ({"color": "red", "window": WIN}, Channel(None, None, Window(0, 100, 0, 255), True),
     "not 6 hex digits"),
    ({"color": "FF0000", "window": {"start": 5, "end": 50}},
     Channel(None, "FF0000", Window(5, 50, None, None), True), r"missing \['min', 'max'\]"),
    ({"color": "FF0000", "window": {"min": 1, "max": 9}},
     Channel(None, "FF0000", Window(1, 9, 1, 9), True), r"missing \['start', 'end'\]"),
])
def test_incomplete_channels_warn_never_fail(channel: dict, expected: Channel, phrase: str) -> None:
    with pytest.warns(KitWarning, match=r"omero\.channels\[0\]\..*" + phrase):
        meta = image({"channels": [channel]})
    assert meta.omero.channels == (expected,)
    assert any("mem://i" in w for w in meta.warnings)


@pytest.mark.parametrize("channel, field", [
    ({"color": 255, "window": WIN}, "color"),
    ({"color": "FF0000", "window": {**WIN, "end": "100"}}, "window.end"),
    ({"color": "FF0000", "window": {**WIN, "start": True}}, "window.start"),
    ({"color": "FF0000", "window": WIN, "active": "yes"}, "active"),
])
def test_wrong_json_types_in_omero_are_errors(channel: dict, field: str) -> None:
    with pytest.raises(InvalidMetadata, match=rf"omero\.channels\[0\]\.{field}"):
        image({"channels": [channel]})


def test_omero_without_channels_warns() -> None:
    with pytest.warns(KitWarning, match="omero.channels: missing"):
        assert image({"rdefs": {}}).omero.channels == ()


def test_image_label_colors_properties_source() -> None:
    meta = image(image_label={
        "colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}, {"label-value": 2}],
        "properties": [{"label-value": 1, "class": "cell", "area": 12}],
        "source": {"image": "../../"}})
    il = meta.image_label
    assert meta.kind == "label"
    assert il.colors == {1: (255, 0, 0, 255)}  # value 2 has no rgba: not in colors
    assert il.properties == {1: {"class": "cell", "area": 12}}
    assert il.source_image == "../../" and il.source_or_default == "../../"
    assert image(image_label={}).image_label.source_image is None


def test_duplicate_label_values_keep_the_last_with_warning() -> None:
    with pytest.warns(KitWarning, match=r"colors\[1\].*label-value 3 is repeated"):
        meta = image(image_label={"colors": [{"label-value": 3, "rgba": [1, 2, 3, 4]},
                                             {"label-value": 3, "rgba": [9, 9, 9, 9]}]})
    assert meta.image_label.colors == {3: (9, 9, 9, 9)}
    with pytest.warns(KitWarning, match="repeated"):
        meta = image(image_label={"colors": [{"label-value": 3, "rgba": [1, 2, 3, 4]},
                                             {"label-value": 3}]})
    assert meta.image_label.colors == {}  # the last entry (without rgba) wins
    with pytest.warns(KitWarning, match=r"properties\[1\].*repeated"):
        meta = image(image_label={"properties": [{"label-value": 5, "a": 1},
                                                 {"label-value": 5, "a": 2}]})
    assert meta.image_label.properties == {5: {"a": 2}}


def test_identical_duplicate_entries_are_refused() -> None:
    entry = {"label-value": 1, "rgba": [0, 0, 0, 0]}
    with pytest.raises(InvalidMetadata, match=r"colors\[1\]: is an exact duplicate"):
        image(image_label={"colors": [entry, dict(entry)]})


def test_label_value_types() -> None:
    with pytest.warns(KitWarning, match="not an integer; read as 2"):
        assert image(image_label={"colors": [{"label-value": 2.0}]}).image_label is not None
    with pytest.raises(InvalidMetadata, match=r"colors\[0\]\.label-value: must be an integer"):
        image(image_label={"colors": [{"label-value": 2.5}]})
    with pytest.raises(InvalidMetadata, match=r"properties\[0\]\.label-value"):
        image(image_label={"properties": [{"label-value": 1.0}]})
    with pytest.raises(InvalidMetadata, match=r"source\.image"):
        image(image_label={"source": {"image": 3}})
