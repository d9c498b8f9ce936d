"""check_level_array: ndim is a MUST (error), dimension_names sloppiness is a warning."""

from __future__ import annotations

import pytest

from kit.errors import InvalidMetadata
from kit.ngff import Multiscale, check_level_array, parse_attributes

MS = {"axes": [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"},
               {"name": "x", "type": "space"}],
      "datasets": [{"path": p, "coordinateTransformations": [{"type": "scale", "scale": [1, s, s]}]}
                   for p, s in (("s0", 1), ("s1", 2))]}


def meta(version: str):
    attrs = {"ome": {"version": "0.5", "multiscales": [MS]}} if version == "0.5" else {
        "multiscales": [MS]}
    return parse_attributes(attrs, zarr_format=None, where="mem://i")


def test_wrong_ndim_names_level_path_and_both_counts() -> None:
    ms = meta("0.5").multiscales[0]
    with pytest.raises(InvalidMetadata) as info:
        check_level_array(ms, 1, (10, 10), ("y", "x"), where="mem://i/s1")
    message = str(info.value)
    assert message.startswith("mem://i/s1: ")
    assert "'s1'" in message and "2 dimensions" in message and "3 axes" in message


@pytest.mark.parametrize("version, dims, expect", [
    ("0.5", ("c", "y", "x"), None),
    ("0.5", None, "no dimension_names"),
    ("0.5", ("c", "z", "x"), "differ from the axes"),
    ("0.5", ("c", None, "x"), "differ from the axes"),
    ("0.4", None, None),
    ("0.4", ("c", "y", "x"), None),
])
def test_dimension_names(version: str, dims, expect) -> None:
    for target in (meta(version), meta(version).multiscales[0]):
        found = check_level_array(target, 0, (3, 64, 64), dims, where="mem://i/s0")
        if expect is None:
            assert found == []
        else:
            assert len(found) == 1 and expect in found[0] and found[0].startswith("mem://i/s0")


def test_multiscale_without_version_never_demands_dimension_names() -> None:
    ms = meta("0.5").multiscales[0]
    bare = Multiscale(ms.name, ms.axes, ms.datasets)
    assert bare.version is None
    assert check_level_array(bare, 0, (3, 4, 4), None, where="w") == []


def test_bad_level_index_and_group_without_multiscales() -> None:
    with pytest.raises(IndexError):
        check_level_array(meta("0.4"), 2, (3, 4, 4), None, where="w")
    plain = parse_attributes({}, zarr_format=2, where="w")
    with pytest.raises(InvalidMetadata, match="no multiscales"):
        check_level_array(plain, 0, (3, 4, 4), None, where="w")
