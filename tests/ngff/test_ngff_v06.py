"""NGFF 0.6 (RFC-5) in every dialect: coordinate systems, transformations and mappings.

Hand-computed expectations; the RFC-5 example hierarchies (0.6.dev3) and the 0.6rc0 corpus
from ../shared; fixtures written by kit.demo in the 0.6rc0 form; parameters in real zarr arrays.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image
from kit.errors import InvalidMetadata, KitWarning, NotFound, UnsupportedVersion
from kit.ngff import ImageMeta, parse_attributes
from kit.ngff.transforms import NotAffine
from kit.ngff.version import V06_VERSIONS

from ngff_shared import SPEC

RFC5 = SPEC / "rfc5-examples-0.6.dev3"
RC0 = SPEC / "0.6rc0" / "tests" / "zarr"
YX = [{"name": "y", "type": "space", "unit": "micrometer"},
      {"name": "x", "type": "space", "unit": "micrometer"}]


def _groups(root: Path) -> list:
    out = []
    for f in sorted(root.rglob("zarr.json")) if root.is_dir() else []:
        try:
            doc = json.loads(f.read_text())
        except ValueError:
            continue
        ome = doc.get("attributes", {}).get("ome", {})
        if doc.get("node_type") == "group" and "multiscales" in ome:
            out.append(pytest.param(f.parent, id=str(f.parent.relative_to(root))))
    return out


def _ms(version: str, io: str = "object", transforms: list | None = None, **extra) -> dict:
    def ref(kind: str, value: str):
        return value if io == "string" else {kind: value}
    level = {"type": "scale", "scale": [2.0, 0.5], "input": ref("path", "0"),
             "output": ref("name", "physical")}
    ms = {"name": "m", "coordinateSystems": [{"name": "physical", "axes": YX},
                                             {"name": "world", "axes": YX}],
          "datasets": [{"path": "0", "coordinateTransformations": [level]}], **extra}
    if transforms is not None:
        ms["coordinateTransformations"] = transforms
    return {"ome": {"version": version, "multiscales": [ms]}}


def _parse(attrs: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)
        return parse_attributes(attrs, zarr_format=3, where="mem://g")


@pytest.mark.parametrize("version", V06_VERSIONS)
def test_every_dialect_is_read_and_says_what_it_normalised(version: str) -> None:
    dev_strings = version in ("0.6.dev1", "0.6.dev2", "0.6.dev3")
    meta = _parse(_ms(version, "string" if dev_strings else "object"))
    assert isinstance(meta, ImageMeta) and meta.version == version
    assert meta.version.dialect.startswith(version) and meta.version.normalised == ()
    ms = meta.multiscales[0]
    assert ms.axis_names == ("y", "x") and ms.datasets[0].scale == (2.0, 0.5)
    assert [cs.name for cs in ms.coordinate_systems] == ["physical", "world"]
    # the other input/output form is read too, and recorded as normalised
    other = _parse(_ms(version, "object" if dev_strings else "string"))
    assert other.multiscales[0].datasets[0].scale == (2.0, 0.5)
    assert bool(other.version.normalised) == (not dev_strings)


@pytest.mark.parametrize("bad", ["0.7", "1.0.dev0", "0.6rc9"])
def test_unknown_versions_name_the_versions_known(bad: str) -> None:
    with pytest.raises(UnsupportedVersion, match=rf"'{bad}'.*known: 0\.1,.*0\.6\.dev2.*0\.6rc0"):
        _parse(_ms(bad))


@pytest.mark.parametrize("transform, expect", [
    ({"type": "identity"}, [[2.0, 1.0]]),
    ({"type": "translation", "translation": [1.0, -1.0]}, [[3.0, 0.0]]),
    ({"type": "affine", "affine": [[0, 1, 10], [1, 0, 20]]}, [[11.0, 22.0]]),
    ({"type": "affine", "affine": [[0, 1, 10], [1, 0, 20], [0, 0, 1]]}, [[11.0, 22.0]]),
    ({"type": "rotation", "rotation": [[0, -1], [1, 0]]}, [[-1.0, 2.0]]),
    ({"type": "mapAxis", "mapAxis": [1, 0]}, [[1.0, 2.0]]),
    ({"type": "sequence", "transformations": [{"type": "scale", "scale": [3, 3]},
                                              {"type": "translation", "translation": [1, 1]}]},
     [[7.0, 4.0]]),
    ({"type": "byDimension", "transformations": [
        {"transformation": {"type": "scale", "scale": [10]}, "inputAxes": [1], "outputAxes": [1]},
        {"transformation": {"type": "translation", "translation": [-5]}, "inputAxes": [0],
         "outputAxes": [0]}]}, [[-3.0, 10.0]]),
    ({"type": "bijection", "forward": {"type": "translation", "translation": [1, 1]},
      "inverse": {"type": "translation", "translation": [-1, -1]}}, [[3.0, 2.0]]),
])
def test_transforms_map_index_points_like_the_hand_computation(transform, expect) -> None:
    # level 0 scale (2, 0.5): index (1, 2) -> physical (2, 1); then `transform` -> world
    t = {**transform, "input": {"name": "physical"}, "output": {"name": "world"}}
    ms = _parse(_ms("0.6rc0", transforms=[t])).multiscales[0]
    from kit.ngff.coordinate_systems import level_chain
    from kit.ngff.transforms import Mapping
    chain, target = level_chain(ms, 0, ms.datasets[0].scale, ms.datasets[0].translation,
                                "world", where="mem://g")
    mapping = Mapping("0", target, chain, 2)
    np.testing.assert_allclose(mapping.apply([[1, 2]]), expect)
    m = mapping.affine
    assert m.shape == (3, 3) and m[-1].tolist() == [0, 0, 1]
    assert (m @ [1, 2, 1])[:2].tolist() == pytest.approx(expect[0])


def test_bijection_is_walked_backwards_through_its_inverse() -> None:
    t = {"type": "bijection", "input": {"name": "world"}, "output": {"name": "physical"},
         "forward": {"type": "translation", "translation": [1, 1]},
         "inverse": {"type": "translation", "translation": [-1, -1]}}
    ms = _parse(_ms("0.6rc0", transforms=[t])).multiscales[0]
    from kit.ngff.coordinate_systems import level_chain
    from kit.ngff.transforms import Mapping
    chain, _ = level_chain(ms, 0, (2.0, 0.5), (0.0, 0.0), "world", where="mem://g")
    assert Mapping("0", "world", chain, 2).apply([[1, 2]]).tolist() == [[1.0, 0.0]]
    with pytest.raises(NotFound, match=r"'nowhere'.*known: physical, world"):
        level_chain(ms, 0, (2.0, 0.5), (0.0, 0.0), "nowhere", where="mem://g")


@pytest.mark.parametrize("transforms, level, field", [
    ([{"type": "affine", "affine": [[1, 0], [0, "x"]], "input": {"name": "physical"},
       "output": {"name": "world"}}], None, "multiscales[0].coordinateTransformations[0].affine"),
    ([{"type": "rotation", "rotation": [[1, 0, 0], [0, 1, 0]], "input": {"name": "physical"},
       "output": {"name": "world"}}], None,
     "multiscales[0].coordinateTransformations[0].rotation"),
    ([{"type": "byDimension", "input": {"name": "physical"}, "output": {"name": "world"},
       "transformations": [{"transformation": {"type": "scale", "scale": [1]},
                            "inputAxes": [0]}]}], None,
     "multiscales[0].coordinateTransformations[0].transformations[0].outputAxes"),
    (None, {"type": "affine", "affine": [[1, 0, 0], [0, 1, 0]]},
     "multiscales[0].datasets[1].coordinateTransformations[0].type"),
    (None, {"type": "scale", "scale": [1, -1]},
     "multiscales[0].datasets[1].coordinateTransformations[0].scale"),
    (None, {"type": "scale", "path": "params"},
     "multiscales[0].datasets[1].coordinateTransformations[0].path"),
])
def test_malformed_transforms_name_their_field_path(transforms, level, field) -> None:
    attrs = _ms("0.6rc0", transforms=transforms)
    ms = attrs["ome"]["multiscales"][0]
    second = {"type": "scale", "scale": [4.0, 1.0]} if level is None else level
    ms["datasets"].append({"path": "1", "coordinateTransformations": [
        {**second, "input": {"path": "1"}, "output": {"name": "physical"}}]})
    with pytest.raises(InvalidMetadata, match="^" + re.escape(f"mem://g: ome.{field}: ")):
        _parse(attrs)


RFC5_GROUPS = _groups(RFC5)


@pytest.mark.skipif(not RFC5_GROUPS, reason="the RFC-5 examples are absent")
@pytest.mark.parametrize("path", RFC5_GROUPS)
def test_rfc5_examples_open_and_map_to_every_system(path: Path) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        image = kit.open(path)
        assert image.version.startswith("0.6.dev")
        names = [cs.name for cs in image.coordinate_systems]
        for name in names:
            try:
                mapping = image.transform(0, to=name)
            except NotFound:
                continue  # not every system is reachable from the levels (scene systems)
            assert mapping.target == name
            if mapping.is_affine:
                try:
                    out = mapping.apply([[0] * mapping.ndim, [1] * mapping.ndim])
                except NotAffine as e:  # byDimension by axis names (early dev form)
                    assert "by name" in str(e)
                    continue
                assert np.isfinite(out).all()
            else:
                with pytest.raises(NotAffine, match="not rendered"):
                    _ = mapping.affine
    nonlinear = [w for w in record if "not rendered" in str(w.message)]
    assert all(issubclass(w.category, KitWarning) for w in nonlinear)


def test_rfc5_affine_and_rotation_examples_by_hand() -> None:
    if not RFC5.is_dir():
        pytest.skip("the RFC-5 examples are absent")
    for name in ("affine", "rotation"):
        path = RFC5 / "2d" / "simple" / f"{name}.zarr"
        ms = json.loads((path / "zarr.json").read_text())["attributes"]["ome"]["multiscales"][0]
        level = ms["datasets"][0]["coordinateTransformations"][0]
        s = np.diag(level["scale"] + [1])
        t = ms["coordinateTransformations"][0]
        a = np.asarray(t[name], float)
        m = np.eye(3)
        if name == "affine":
            m[:2, :] = a[:2] if a.shape[0] == 3 else a
        else:
            m[:2, :2] = a
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KitWarning)
            mapping = kit.open(path).transform(0, to=t["output"])
        np.testing.assert_allclose(mapping.affine, m @ s)
        np.testing.assert_allclose(mapping.apply([[3, 5]])[0], (m @ s @ [3, 5, 1])[:2])


def test_parameters_stored_in_a_zarr_array_are_read_through_the_store(tmp_path) -> None:
    path = write_image(tmp_path / "img.zarr", version="0.6rc0", axes="yx", shape=(32, 32),
                       levels=2, labels=(), omero=False, scale={"y": 1.0, "x": 1.0})
    group = zarr.open_group(path, mode="r+")
    matrix = np.array([[0.0, 2.0, 5.0], [3.0, 0.0, -1.0]])
    group.create_array("params", data=matrix)
    attrs = dict(group.attrs)
    attrs["ome"]["multiscales"][0]["coordinateSystems"].append({"name": "world", "axes": YX})
    attrs["ome"]["multiscales"][0]["coordinateTransformations"] = [
        {"type": "affine", "path": "params", "input": {"name": "physical"},
         "output": {"name": "world"}}]
    group.attrs.put(attrs)
    image = kit.open(path)
    assert [cs.name for cs in image.coordinate_systems] == ["physical", "world"]
    mapping = image.transform(1, to="world")  # level 1: scale 2 on y and x
    np.testing.assert_allclose(mapping.apply([[1, 1]]), [[0 * 2 + 2 * 2 + 5, 3 * 2 - 1]])
    np.testing.assert_allclose(mapping.affine[:2], matrix @ np.diag([2.0, 2.0, 1.0]))
    assert image.transform(0).target == "physical"


def test_0_4_images_have_one_implied_physical_system(tmp_path) -> None:
    path = write_image(tmp_path / "img.zarr", version="0.4", axes="cyx", shape=(2, 32, 32),
                       levels=2, labels=(), translation={"y": 3.0})
    image = kit.open(path)
    assert [cs.name for cs in image.coordinate_systems] == ["physical"]
    lv = image.levels[1]
    m = image.transform(1).affine
    np.testing.assert_allclose(np.diag(m)[:-1], lv.scale)
    np.testing.assert_allclose(m[:-1, -1], lv.translation)


def test_displacements_are_parsed_and_exposed_but_not_rendered() -> None:
    t = {"type": "displacements", "path": "field", "input": {"name": "physical"},
         "output": {"name": "world"}, "interpolation": "linear"}
    ms = _parse(_ms("0.6rc0", transforms=[t])).multiscales[0]
    assert ms.transforms[0].type == "displacements" and ms.transforms[0].path == "field"
    assert ms.transforms[0].is_nonlinear


RC0_VALID_IMAGES = [p for p in _groups(RC0) if "/valid/image" in str(p.values[0])]


@pytest.mark.skipif(not RC0_VALID_IMAGES, reason="the 0.6rc0 corpus is absent")
@pytest.mark.parametrize("path", RC0_VALID_IMAGES)
def test_rc0_corpus_images_in_the_dev_string_form_are_read_with_a_note(path: Path) -> None:
    attrs = json.loads((path / "zarr.json").read_text())["attributes"]
    meta = _parse(attrs)
    assert meta.version == "0.6rc0"
    assert any("written as a string" in n for n in meta.version.normalised)
