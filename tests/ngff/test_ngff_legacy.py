"""NGFF 0.1-0.3: the spec's own examples and kit.demo fixtures read through the one model.

0.1/0.2 imply 5D tczyx axes, 0.3 names them, none has coordinateTransformations: each level's
scale is level 0 shape / level shape on the space axes, and one warning line says so.
(../shared/ngff-spec/0.2 holds the 0.2 text, but its examples are 0.6.dev2 drafts: not used here.)
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image, write_plate
from kit.errors import InvalidMetadata, KitWarning, UnsupportedVersion
from kit.ngff import ImageMeta, parse_attributes

from ngff_shared import SPEC


def _examples(version: str, validity: str) -> list:
    folder = SPEC / version / "examples"
    files = sorted(folder.glob(f"*/{validity}/*.json")) if folder.is_dir() else []
    return [pytest.param(f, id=f"{version}/{f.parent.parent.name}/{f.name}") for f in files]


VALID = _examples("0.1", "valid") + _examples("0.3", "valid")
INVALID = _examples("0.1", "invalid") + _examples("0.3", "invalid")


def _parse(attrs: dict, where: str = "mem://g"):
    return parse_attributes(attrs, zarr_format=2, where=where)


@pytest.mark.skipif(not VALID, reason="the shared spec examples are absent")
@pytest.mark.parametrize("path", VALID)
def test_valid_spec_examples_are_read(path: Path) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        meta = _parse(json.loads(path.read_text()), path.name)
    assert meta.version in ("0.1", "0.2", "0.3")
    assert meta.kind in ("image", "plate", "well")
    if isinstance(meta, ImageMeta):
        ms = meta.multiscales[0]
        assert ms.scale_from_shapes
        raw_axes = json.loads(path.read_text())["multiscales"][0].get("axes")
        assert ms.axis_names == tuple(raw_axes or "tczyx")
        assert all(d.scale == (1.0,) * len(ms.axes) for d in ms.datasets)
    lines = [str(w.message) for w in record if issubclass(w.category, KitWarning)]
    assert all("\n" not in line for line in lines)
    # what was assumed is said (a well is the same in 0.1 as in 0.4: nothing to say)
    assert bool(lines) == (meta.kind != "well")


@pytest.mark.skipif(not INVALID, reason="the shared spec examples are absent")
@pytest.mark.parametrize("path", INVALID)
def test_invalid_spec_examples_are_refused_naming_the_field(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)
        with pytest.raises(InvalidMetadata, match=rf"^{path.name}: (multiscales|omero|plate)"):
            _parse(json.loads(path.read_text()), path.name)


def test_version_known_or_refused_with_the_list() -> None:
    ms = {"datasets": [{"path": "0"}], "axes": ["y", "x"]}
    with pytest.warns(KitWarning, match=r"NGFF 0\.3: assumed axes yx"):
        assert _parse({"multiscales": [{**ms, "version": "0.3"}]}).version == "0.3"
    with pytest.warns(KitWarning, match=r"no version key.*read as 0\.3"):
        assert _parse({"multiscales": [ms]}).version == "0.3"
    for bad in ("0.7", "1.0.dev0"):
        with pytest.raises(UnsupportedVersion, match=rf"'{bad}'.*known: 0\.1, 0\.2, 0\.3, 0\.4"):
            _parse({"multiscales": [{**ms, "version": bad}]})
    # a 0.3 multiscale that writes axes objects is not guessed at: its version is wrong
    with pytest.raises(UnsupportedVersion, match=r"multiscales\[0\]\.version.*axes objects"):
        _parse({"multiscales": [{**ms, "version": "0.3", "axes": [{"name": "y"}]}]})


@pytest.mark.parametrize("version, axes, shape", [
    ("0.1", "tczyx", (1, 2, 3, 48, 40)),
    ("0.2", "tczyx", (2, 1, 2, 48, 40)),
    ("0.3", "czyx", (2, 3, 48, 40)),
    ("0.3", "yx", (48, 40)),
])
def test_generated_fixtures_open_with_pixels_equal_to_zarr_python(tmp_path, version, axes, shape):
    path = write_image(tmp_path / "img.zarr", version=version, axes=axes, shape=shape, levels=3,
                       labels=("nuclei",) if "z" in axes else ())
    before = sorted((p.relative_to(path), p.stat().st_mtime_ns) for p in path.rglob("*"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        image = kit.open(path)
        levels = image.levels
    assert image.version == version
    assert image.axes == list(axes if version == "0.3" else "tczyx")
    ny, nx = shape[-2:]
    for lv in levels:
        assert lv.shape[-2:] == (-(-ny // 2**lv.index), -(-nx // 2**lv.index))
        expect = [ny / lv.shape[-2], nx / lv.shape[-1]]
        assert list(lv.scale[-2:]) == pytest.approx(expect)
        assert all(s == 1.0 for a, s in zip(image.axes, lv.scale) if a in "tc")
        np.testing.assert_array_equal(image.read(lv.index), zarr.open_array(path / lv.path)[...])
    assert levels[2].scale[-1] == pytest.approx(4.0)
    lines = [str(w.message) for w in record if f"NGFF {version}: assumed" in str(w.message)]
    assert len(lines) == 1 and "\n" not in lines[0] and "scale" in lines[0]
    if "z" in axes:
        label = image.labels["nuclei"]
        assert label.version == version
        assert label.axes == (["z", "y", "x"] if version == "0.3" else list("tczyx"))
        assert label.levels[1].scale[-2:] == pytest.approx((2.0, 2.0))
        np.testing.assert_array_equal(label.read(1),
                                      zarr.open_array(path / "labels/nuclei/1")[...])
    assert sorted((p.relative_to(path), p.stat().st_mtime_ns) for p in path.rglob("*")) == before


def test_0_1_and_0_2_fixtures_must_be_5d(tmp_path) -> None:
    with pytest.raises(ValueError, match="tczyx"):
        write_image(tmp_path / "a.zarr", version="0.2", axes="czyx", shape=(1, 2, 8, 8))
    assert not (tmp_path / "a.zarr").exists()


@pytest.mark.parametrize("version", ["0.1", "0.3"])
def test_old_plates_and_wells(tmp_path, version) -> None:
    path = write_plate(tmp_path / "plate.zarr", version=version)
    raw = json.loads((path / ".zattrs").read_text())["plate"]
    assert raw["version"] == version and all(set(w) == {"path"} for w in raw["wells"])
    with pytest.warns(KitWarning, match="no rowIndex/columnIndex"):
        plate = kit.open(path)
    assert plate.version == version
    refs = plate.meta.plate.wells
    assert [(plate.rows[w.row_index], plate.columns[w.column_index]) for w in refs] == \
        [tuple(w.path.split("/")) for w in refs]
    well = plate[refs[0].path]
    assert well.version == version
    image = well[well.meta.well.images[0].path]
    assert image.version == version and image.levels[1].scale[-1] == pytest.approx(2.0)
