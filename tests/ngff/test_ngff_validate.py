"""`kit.validate`, `ngff-kit validate` and the spec's own conformance runner (0.6rc0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kit
from kit.cli.app import main
from kit.demo.generate import write_image
from kit.ngff.validate import validate_attributes

from ngff_shared import SPEC

RUNNER = SPEC / "0.6rc0" / "conformance" / "ome_zarr_conformance.py"
DINGUS = [sys.executable, "-m", "kit.cli", "validate", "--json"]


def test_validate_reports_valid_and_field_paths(tmp_path) -> None:
    path = write_image(tmp_path / "img.zarr", version="0.6rc0", axes="yx", shape=(16, 16),
                       levels=2, labels=())
    report = kit.validate(path)
    assert report.valid and report.errors == () and report.version == "0.6rc0"
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"]["multiscales"][0]["datasets"][1]["coordinateTransformations"][0][
        "scale"] = [1, "x"]
    (path / "zarr.json").write_text(json.dumps(doc))
    bad = kit.validate(path)
    assert not bad.valid
    field = "ome.multiscales[0].datasets[1].coordinateTransformations[0].scale"
    assert bad.errors[0].field == field


def test_cli_json_is_one_line_and_exit_0(tmp_path, capsys) -> None:
    doc = tmp_path / "attrs.json"
    doc.write_text(json.dumps({"ome": {"version": "0.7", "multiscales": []}}))
    assert main(["validate", "--attributes", "--json", str(doc)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["valid"] is False and "0.7" in out["message"] and "known" in out["message"]
    assert main(["validate", "--attributes", str(doc)]) == 5


def _run(mode: str, *extra: str) -> str:
    cmd = [sys.executable, str(RUNNER), mode, *extra, "--", *DINGUS]
    if mode == "attributes":
        cmd.append("--attributes")
    if "^strict/" in extra:
        cmd.append("--strict")
    env = {**os.environ, "PYTHONPATH": str(Path(kit.__file__).parents[1])}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env, check=False)
    return out.stdout


ATTRIBUTE_CASES = sorted((SPEC / "0.6rc0" / "tests" / "attributes").rglob("*.json"))


@pytest.mark.skipif(not ATTRIBUTE_CASES, reason="the 0.6rc0 corpus is absent")
def test_every_06rc0_attributes_case_in_process() -> None:
    """The runner's attributes verdicts without a process per case (fast): every case."""
    root = SPEC / "0.6rc0" / "tests" / "attributes"
    wrong = []
    for path in ATTRIBUTE_CASES:
        strictness, validity, *_ = path.relative_to(root).parts
        report = validate_attributes(json.loads(path.read_text()), strict=strictness == "strict",
                                     where=str(path))
        if report.valid != (validity == "valid"):
            wrong.append((str(path.relative_to(root)), report.message))
    assert wrong == []
    assert len(ATTRIBUTE_CASES) > 140


@pytest.mark.parametrize("transform, said", [
    ({"createdOutputs": [5]}, "createdOutputs [5]: the output has 4 axes"),
    ({"createdOutputs": [0, 1, 2]}, "2 input axes - 0 dropped + 3 created != the output's 4"),
    ({"droppedInputs": [0, 1, 2]}, "droppedInputs [0, 1, 2]: the input has 2 axes"),
    ({"createdOutputs": [0], "droppedInputs": [0]}, "2 input axes - 1 dropped + 1 created"),
    ({}, "needs droppedInputs or createdOutputs"),
])
def test_project_axis_must_fit_its_systems(transform: dict, said: str) -> None:
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    doc = {"ome": {"version": "0.6rc0", "multiscales": [{
        "name": "m", "coordinateSystems": [
            {"name": "world", "axes": [{"name": "c", "type": "channel"}] + axes},
            {"name": "physical", "axes": axes[1:]}],
        "datasets": [{"path": "s0", "coordinateTransformations": [{
            "type": "scale", "scale": [1, 1], "input": {"path": "s0"},
            "output": {"name": "physical"}}]}],
        "coordinateTransformations": [{"type": "projectAxis", "input": {"name": "physical"},
                                       "output": {"name": "world"}, **transform}]}]}}
    report = validate_attributes(doc)
    assert not report.valid
    assert report.errors[0].field == "ome.multiscales[0].coordinateTransformations[0]"
    assert said in report.message


@pytest.mark.parametrize("path, valid", [
    ("0", True), ("field_1.a-b", True), ("__something", False), ("..", False), ("...", False),
    ("a/b", False),
])
def test_06_well_field_paths(path: str, valid: bool) -> None:
    doc = {"ome": {"version": "0.6rc0", "well": {"images": [{"path": path}]}}}
    report = validate_attributes(doc)
    assert report.valid is valid, report.message
    if not valid:
        assert report.errors[0].field == "ome.well.images[0].path"


@pytest.mark.parametrize("scene, field", [
    ({"coordinateSystems": []}, "ome.scene.coordinateTransformations"),
    ({"coordinateTransformations": [{"type": "identity", "input": {"path": "a"},
                                     "output": {"name": "w"}}]},
     "ome.scene.coordinateTransformations[0].input.name"),
    ({"coordinateTransformations": [{"type": "identity", "output": {"name": "w"}}]},
     "ome.scene.coordinateTransformations[0].input"),
])
def test_scene_rules_name_their_field(scene: dict, field: str) -> None:
    report = validate_attributes({"ome": {"version": "0.6rc0", "scene": scene}})
    assert not report.valid and report.errors[0].field == field, report.message


def test_a_versioned_document_of_no_kind_is_invalid() -> None:
    report = validate_attributes({"ome": {"version": "0.6rc0", "coordinateSystems": []}})
    assert not report.valid and "no OME-Zarr node" in report.message and "scene" in report.message


@pytest.mark.slow
@pytest.mark.timeout(3600)  # one process per case: minutes on a loaded machine
@pytest.mark.skipif(not RUNNER.is_file(), reason="the 0.6rc0 conformance runner is absent")
@pytest.mark.parametrize("mode", ["attributes", "zarr"])
@pytest.mark.parametrize("which", [("-S",), ("-p", "^strict/")])
def test_official_conformance_runner_passes_every_case(mode: str, which: tuple) -> None:
    stdout = _run(mode, *which)
    results = [line.rsplit("\t", 1) for line in stdout.splitlines() if "\t" in line]
    assert results, stdout
    failed = {name for name, status in results if status != "pass"}
    assert failed == set(), stdout
    assert len(results) > 10


@pytest.mark.parametrize("text, said", [
    ("[" * 5000 + "]" * 5000, "nest"),  # deeper than the JSON depth limit
    ('{"ome": ', "not valid JSON"),
])
def test_cli_attributes_of_hostile_json_is_a_verdict_not_a_traceback(tmp_path, capsys, text,
                                                                      said) -> None:
    doc = tmp_path / "zarr.json"
    doc.write_text(text)
    assert main(["validate", "--attributes", "--json", str(doc)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is False and said in out["message"] and str(doc) in out["message"]
