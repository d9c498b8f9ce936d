"""Version detection, zarr-format mismatches and node-kind dispatch."""

from __future__ import annotations

import dataclasses
import pickle
import warnings

import pytest

from kit.errors import InvalidMetadata, KitWarning, UnsupportedVersion
from kit.ngff import NodeMeta, parse_attributes

AXES = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
MS = {"axes": AXES, "datasets": [{"path": "0", "coordinateTransformations": [
    {"type": "scale", "scale": [1, 1]}]}]}
PLATE = {"rows": [{"name": "A"}], "columns": [{"name": "1"}],
         "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}]}
WELL = {"images": [{"path": "0"}]}


def parse(attrs, zarr_format=None, **kw) -> NodeMeta:
    return parse_attributes(attrs, zarr_format=zarr_format, where="mem://g", **kw)


@pytest.mark.parametrize("attrs", [
    {"ome": {"version": "0.7", "multiscales": [MS]}},
    {"ome": {"version": "1.0.dev0"}},
    {"ome": {"version": "abc123", "multiscales": [MS]}},
    {"ome": {"version": 0.5, "multiscales": [MS]}},
    {"multiscales": [{**MS, "version": "0.7"}]},
    {"multiscales": [{**MS, "version": "1.0.dev0"}]},
    {"plate": {**PLATE, "version": "abc123"}},
    {"ome": {"version": "0.5", "plate": {**PLATE, "version": "0.7"}}},
])
def test_unsupported_versions(attrs: dict) -> None:
    with pytest.raises(UnsupportedVersion, match=r"^mem://g: .*version.*not supported"):
        parse(attrs)


def test_0_4_without_any_version_is_0_4() -> None:
    meta = parse({"multiscales": [MS]}, zarr_format=2)
    assert (meta.version, meta.kind, meta.warnings) == ("0.4", "image", ())


def test_0_5_requires_ome_version_except_on_labels_groups() -> None:
    with pytest.raises(InvalidMetadata, match=r"ome\.version: missing"):
        parse({"ome": {"multiscales": [MS]}}, zarr_format=3)
    with pytest.warns(KitWarning, match="labels group"):
        meta = parse({"ome": {"labels": ["cells"]}}, zarr_format=3)
    assert (meta.version, meta.kind, meta.labels) == ("0.5", "labels", ("cells",))


def test_0_5_inner_version_keys_are_accepted() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta = parse({"ome": {"version": "0.5", "plate": {**PLATE, "version": "0.5"},
                              "bioformats2raw.layout": 3}}, zarr_format=3)
    assert meta.kind == "plate" and meta.version == "0.5"
    with pytest.warns(KitWarning, match=r"ome\.well\.version: says '0\.4'"):
        assert parse({"ome": {"version": "0.5", "well": {**WELL, "version": "0.4"}}}).kind == "well"


def test_0_5_plate_with_only_inner_version_is_read_with_warning() -> None:
    with pytest.warns(KitWarning, match="read as 0.5 from the inner version"):
        meta = parse({"ome": {"plate": {**PLATE, "version": "0.5"}}}, zarr_format=3)
    assert meta.version == "0.5"


def test_format_mismatch_warns_but_reads() -> None:
    with pytest.warns(KitWarning, match="zarr v2"):
        meta = parse({"ome": {"version": "0.5", "multiscales": [MS]}}, zarr_format=2)
        assert meta.version == "0.5"
    with pytest.warns(KitWarning, match="zarr v3"):
        assert parse({"multiscales": [MS]}, zarr_format=3).version == "0.4"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unknown format: nothing to complain about
        assert parse({"multiscales": [MS]}, zarr_format=None).version == "0.4"


def test_ome_block_is_preferred_over_0_4_keys() -> None:
    attrs = {"multiscales": [{**MS, "version": "0.4", "name": "old"}],
             "ome": {"version": "0.5", "multiscales": [{**MS, "name": "new"}]}}
    meta = parse(attrs, zarr_format=3)
    assert meta.version == "0.5" and meta.multiscales[0].name == "new"
    assert meta.raw == attrs["ome"]


def test_inconsistent_0_4_versions_and_bad_ome_block() -> None:
    with pytest.raises(InvalidMetadata, match="inconsistent versions"):
        parse({"multiscales": [{**MS, "version": "0.4"}], "image-label": {"version": "0.5"}})
    with pytest.raises(InvalidMetadata, match="ome: must be an object"):
        parse({"ome": "0.5"})
    with pytest.raises(InvalidMetadata, match="attributes: must be an object"):
        parse([1, 2])
    with pytest.raises(InvalidMetadata, match=r"exists only from 0\.5"):
        parse({"ome": {"version": "0.4", "multiscales": [MS]}})


def test_plain_group_is_not_an_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta = parse({"neurodata_type": "NWBFile", "description": "x"}, zarr_format=2)
        empty = parse({}, zarr_format=3)
    # one model per kind: a plain group's model has no multiscales at all
    assert (meta.version, meta.kind, getattr(meta, "multiscales", ())) == (None, "group", ())
    assert meta.raw == {"neurodata_type": "NWBFile", "description": "x"}
    assert (empty.version, empty.kind) == (None, "group")
    only_version = parse({"ome": {"version": "0.5"}})
    assert (only_version.version, only_version.kind) == ("0.5", "group")


@pytest.mark.parametrize("attrs, kind", [
    ({"plate": PLATE, "well": WELL, "multiscales": [MS], "bioformats2raw.layout": 3}, "plate"),
    ({"well": WELL, "multiscales": [MS]}, "well"),
    ({"multiscales": [MS], "image-label": {}, "labels": ["a"]}, "label"),
    ({"multiscales": [MS], "labels": ["a"]}, "image"),
    ({"labels": ["a", "b"]}, "labels"),
    ({"bioformats2raw.layout": 3, "series": ["0"]}, "bioformats2raw"),
    ({"series": ["0", "1"]}, "series"),
    ({"omero": {"channels": []}}, "group"),
])
def test_dispatch_order(attrs: dict, kind: str) -> None:
    meta = parse(attrs)
    assert meta.kind == kind
    assert parse({"ome": {"version": "0.5", **attrs}}).kind == kind


def test_every_present_block_is_validated_even_if_it_does_not_win() -> None:
    with pytest.raises(InvalidMetadata, match=r"bioformats2raw\.layout: must be 3"):
        parse({"plate": PLATE, "bioformats2raw.layout": 2})
    with pytest.raises(InvalidMetadata, match=r"multiscales: must not be empty"):
        parse({"well": WELL, "multiscales": []})


def test_series_and_labels_lists() -> None:
    meta = parse({"ome": {"version": "0.5", "series": []}})
    assert (meta.kind, meta.series) == ("series", ())
    with pytest.raises(InvalidMetadata, match=r"series\[1\]"):
        parse({"series": ["0", 1]})
    with pytest.raises(InvalidMetadata, match=r"labels\[0\]"):
        parse({"labels": ["../escape"]})
    with pytest.warns(KitWarning, match="listed twice"):
        assert parse({"labels": ["a", "a", "b"]}).labels == ("a", "b")


def test_warnings_are_emitted_recorded_and_point_at_the_caller() -> None:
    with pytest.warns(KitWarning) as record:
        meta = parse({"ome": {"version": "0.5", "multiscales": [MS]}}, zarr_format=2)
    assert [str(w.message) for w in record] == list(meta.warnings)
    assert meta.warnings[0].startswith("mem://g: ome.version: ")
    assert record[0].filename == __file__


def test_models_are_frozen_picklable_and_own_their_raw() -> None:
    attrs = {"ome": {"version": "0.5", "multiscales": [MS]}}
    meta = parse(attrs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.kind = "plate"  # type: ignore[misc]
    attrs["ome"]["multiscales"].clear()
    assert len(meta.raw["multiscales"]) == 1
    again = pickle.loads(pickle.dumps(meta))
    assert again == meta and again.raw == meta.raw
