"""Multiscale rules the schemas do not check, and the effective transform of each level."""

from __future__ import annotations

import warnings

import pytest

from kit.errors import InvalidMetadata, KitWarning
from kit.ngff import parse_attributes


def _axes(*spec: str) -> list[dict]:
    """'t:time', 'c:channel', 'y:space', 'angle' (untyped) ... -> axis dicts."""
    out = []
    for item in spec:
        name, _, type_ = item.partition(":")
        out.append({"name": name, **({"type": type_} if type_ else {})})
    return out


def _image(axes: list[dict], datasets: list[dict], version: str = "0.5", **extra) -> dict:
    ms = {"axes": axes, "datasets": datasets, **extra}
    if version == "0.5":
        return {"ome": {"version": "0.5", "multiscales": [ms]}}
    return {"multiscales": [ms]}


def _level(path: str, scale: list, translation: list | None = None) -> dict:
    cts = [{"type": "scale", "scale": scale}]
    if translation is not None:
        cts.append({"type": "translation", "translation": translation})
    return {"path": path, "coordinateTransformations": cts}


def _parse(attrs: dict, version: str = "0.5"):
    return parse_attributes(attrs, zarr_format=3 if version == "0.5" else 2, where="mem://img")


def test_effective_transform_combines_level_and_multiscale_transforms() -> None:
    attrs = _image(_axes("c:channel", "y:space", "x:space"),
                   [_level("0", [1, 0.5, 0.25], [0, 10, 20]), _level("1", [1, 1.0, 0.5])],
                   coordinateTransformations=[{"type": "scale", "scale": [1, 2, 4]},
                                              {"type": "translation", "translation": [0, -1, 3]}])
    ms = _parse(attrs).multiscales[0]
    # By hand: scale = s_ms*s_k; translation = s_ms*t_k + t_ms.
    assert ms.datasets[0].scale == (1.0, 1.0, 1.0)
    assert ms.datasets[0].translation == (0.0, 2 * 10 - 1, 4 * 20 + 3)
    assert ms.datasets[1].scale == (1.0, 2.0, 2.0)
    assert ms.datasets[1].translation == (0.0, -1.0, 3.0)  # a level without translation
    # And against the definition, for one index: x = s_ms*(s_k*i + t_k) + t_ms.
    i = 7
    ds = ms.datasets[0]
    assert ds.scale[2] * i + ds.translation[2] == 4 * (0.25 * i + 20) + 3


def test_translation_only_on_level_zero_is_not_propagated() -> None:
    ms = _parse(_image(_axes("y:space", "x:space"),
                       [_level("0", [1, 1], [5, 6]), _level("1", [2, 2])])).multiscales[0]
    assert [d.translation for d in ms.datasets] == [(5.0, 6.0), (0.0, 0.0)]


@pytest.mark.parametrize("axes, phrase", [
    (_axes("y:space", "c:channel", "x:space"), "ordered time, channel/custom, space"),
    (_axes("c:channel", "t:time", "y:space", "x:space"), "ordered time, channel/custom, space"),
    (_axes("t:time", "t2:time", "y:space", "x:space"), "at most one axis of type 'time'"),
    (_axes("c:channel", "a:custom", "y:space", "x:space"), "at most one channel/custom"),
    (_axes("angle", "c:channel", "y:space", "x:space"), "at most one channel/custom"),
    (_axes("y:space", "y:space"), "unique"),
    (_axes("x:space"), "2 to 5 axes"),
])
def test_axis_rules(axes: list[dict], phrase: str) -> None:
    attrs = _image(axes, [_level("0", [1.0] * len(axes))])
    with pytest.raises(InvalidMetadata, match=phrase) as info:
        _parse(attrs)
    assert "mem://img: ome.multiscales[0].axes" in str(info.value)


def test_five_axes_in_the_canonical_order_are_fine() -> None:
    ms = _parse(_image(_axes("t:time", "c:channel", "z:space", "y:space", "x:space"),
                       [_level("0", [1, 1, 1, 1, 1])])).multiscales[0]
    assert ms.axis_names == ("t", "c", "z", "y", "x") and ms.version == "0.5"


@pytest.mark.parametrize("cts, phrase", [
    ([{"type": "translation", "translation": [0, 0]}, {"type": "scale", "scale": [1, 1]}],
     "must come after the 'scale'"),
    ([{"type": "scale", "scale": [1, 1]}, {"type": "translation", "translation": [0, 0]},
      {"type": "translation", "translation": [0, 0]}], "at most one 'translation'"),
    ([{"type": "identity"}], "must be 'scale' or 'translation'"),
    ([{"type": "scale", "path": "scale.bin"}], "binary array"),
    ([{"type": "scale", "scale": [1, True]}], "list of numbers"),
])
def test_transform_rules(cts: list, phrase: str) -> None:
    attrs = _image(_axes("y:space", "x:space"), [{"path": "0", "coordinateTransformations": cts}])
    with pytest.raises(InvalidMetadata, match=phrase):
        _parse(attrs)


def test_vector_length_0_5_is_strict() -> None:
    attrs = _image(_axes("t:time", "y:space", "x:space"), [_level("0", [0.5, 0.5])])
    with pytest.raises(InvalidMetadata, match=r"datasets\[0\].*scale: has 2 values, must have"):
        _parse(attrs)


def test_vector_length_0_4_shorter_is_padded_with_warning() -> None:
    attrs = _image(_axes("t:time", "y:space", "x:space"),
                   [_level("0", [0.5, 0.5], [3, 4])], version="0.4")
    with pytest.warns(KitWarning, match="has 2 values for 3 axes") as record:
        meta = _parse(attrs, "0.4")
    ds = meta.multiscales[0].datasets[0]
    assert ds.scale == (1.0, 0.5, 0.5) and ds.translation == (0.0, 3.0, 4.0)
    assert len(meta.warnings) == 2 == len(record)


def test_vector_longer_than_axes_is_an_error_even_in_0_4() -> None:
    attrs = _image(_axes("y:space", "x:space"), [_level("0", [1, 1, 1])], version="0.4")
    with pytest.raises(InvalidMetadata, match="must have one per axis"):
        _parse(attrs, "0.4")


@pytest.mark.parametrize("path", ["/abs", "../up", "a//b", "", "a/./b"])
def test_dataset_paths_stay_inside_the_group(path: str) -> None:
    attrs = _image(_axes("y:space", "x:space"), [_level(path, [1, 1])])
    with pytest.raises(InvalidMetadata, match=r"datasets\[0\]\.path"):
        _parse(attrs)


def test_nested_dataset_path_is_fine_and_duplicates_are_not() -> None:
    ok = _parse(_image(_axes("y:space", "x:space"), [_level("path/to/0", [1, 1])]))
    assert ok.multiscales[0].datasets[0].path == "path/to/0"
    with pytest.raises(InvalidMetadata, match="distinct"):
        _parse(_image(_axes("y:space", "x:space"), [_level("0", [1, 1]), _level("0", [2, 2])]))


def test_levels_out_of_resolution_order_are_warned() -> None:
    attrs = _image(_axes("y:space", "x:space"), [_level("0", [2, 2]), _level("1", [1, 1])])
    with pytest.warns(KitWarning, match=r"datasets\[1\].*highest to lowest"):
        meta = _parse(attrs)
    assert meta.kind == "image"


def test_non_string_name_and_metadata_type_are_errors() -> None:
    with pytest.raises(InvalidMetadata, match=r"multiscales\[0\]\.name"):
        _parse(_image(_axes("y:space", "x:space"), [_level("0", [1, 1])], name=3))
    with pytest.raises(InvalidMetadata, match=r"multiscales\[0\]\.metadata"):
        _parse(_image(_axes("y:space", "x:space"), [_level("0", [1, 1])], metadata=[1]))


def test_strict_mode_requires_should_fields() -> None:
    attrs = _image(_axes("y:space", "x:space"), [_level("0", [1, 1])])
    assert parse_attributes(attrs, zarr_format=3, where="w").multiscales[0].name is None
    with pytest.raises(InvalidMetadata, match=r"multiscales\[0\]\.name: missing \(SHOULD\)"):
        parse_attributes(attrs, zarr_format=3, where="w", strict=True)


def test_several_multiscales_pick_by_name() -> None:
    ms = {"axes": _axes("y:space", "x:space"), "datasets": [_level("0", [1, 1])]}
    meta = _parse({"ome": {"version": "0.5", "multiscales": [
        {**ms, "name": "a"}, {**ms, "name": "b", "datasets": [_level("b0", [1, 1])]}]}})
    assert meta.get_multiscale().name == "a"
    assert meta.get_multiscale("b").datasets[0].path == "b0"
    with pytest.raises(LookupError):
        meta.get_multiscale("zzz")


def test_no_warning_for_a_clean_image() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta = _parse(_image(_axes("y:space", "x:space"), [_level("0", [1, 1])]))
    assert meta.warnings == ()
