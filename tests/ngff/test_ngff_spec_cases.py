"""Every official 0.4/0.5 test case: valid ones parse, invalid ones raise for their real defect.

Deliberate departures from the upstream labels (see ../shared/ngff-spec/README.md):
- 0.4 "valid" plate cases with '<column>/<row>' paths and the 0.4 image case with a 2-value
  scale for 3 axes are read WITH a warning (ome/ngff#325);
- 0.5 plate case 30 (column before row) is refused although it passes the JSON schema;
- 0.5 well cases 02-04 lack the `ome` wrapper: they are read as 0.4-style documents in a v3
  store, and still raise, for their real defect;
- strict_* invalid cases break only SHOULD rules: lenient parsing reads them, strict=True refuses.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from kit.errors import InvalidMetadata, KitWarning, UnsupportedVersion
from kit.ngff import parse_attributes

from ngff_shared import SPEC, file_params, load_json

VALID = file_params(SPEC, "0.[45]/tests/cases/valid/*/*.json")
INVALID = [p for p in file_params(SPEC, "0.[45]/tests/cases/invalid/*/*.json")
           if p.values[0] is None or not p.values[0].parent.name.startswith("strict_")]
STRICT_INVALID = [p for p in file_params(SPEC, "0.[45]/tests/cases/invalid/strict_*/*.json")]

# Kind expected from the suite folder.
SUITE_KIND = {"image": "image", "strict_image": "image", "label": "label",
              "strict_label": "label", "plate": "plate", "strict_plate": "plate",
              "well": "well", "strict_well": "well"}

# Valid cases that must be read with a warning naming this field (ome/ngff#325 traps).
TRAPS = {
    ("0.4", "plate", "00_minimal_no_acquisitions"): "plate.wells[0].path",
    ("0.4", "plate", "01_minimal_acquisitions"): "plate.wells[0].path",
    ("0.4", "plate", "20_non_alphanumeric_row"): "plate.wells[0].path",
    ("0.4", "strict_plate", "00_strict_no_acquisitions"): "plate.wells[0].path",
    ("0.4", "strict_plate", "03_strict_acquisitions"): "plate.wells[0].path",
    ("0.4", "image", "00_mismatch_axes_units"): "datasets[0].coordinateTransformations[0].scale",
}

# Field (or phrase) each invalid case's error must name: proves it fails for its own defect.
EXPECTED = {
    "duplicate_axes": "unique", "missing_space_axes": "'space'",
    "invalid_transformation_type": "coordinateTransformations[0].translation",
    "missing_scale": "exactly one 'scale'", "too_many_axes": "2 to 5 axes",
    "invalid_channels_color": "omero.channels[0].color", "missing_axes_name": "axes[0].name",
    "invalid_axes_count": "2 to 5 axes", "one_space_axes": "'space'",
    "invalid_path": "datasets[0].path",
    "invalid_multiscales_transformations": "multiscales[0].coordinateTransformations[0].scale",
    "missing_transformations": "datasets[0].coordinateTransformations",
    "no_datasets": "datasets", "missing_datasets": "datasets", "missing_axes": "axes",
    "invalid_version": "version", "invalid_axis_type": "'space'",
    "duplicate_scale": "exactly one 'scale'", "no_axes": "axes", "too_many_space_axes": "'space'",
    "no_multiscales": "multiscales", "invalid_channels_window": "window.end",
    "empty_transformations": "coordinateTransformations", "missing_path": "datasets[0].path",
    "empty_colors": "image-label.colors", "empty_properties": "image-label.properties",
    "colors_no_label_value": "colors[0].label-value",
    "properties_no_label_value": "properties[0].label-value",
    "colors_rgba_length": "colors[0].rgba", "colors_rgba_type": "colors[0].rgba",
    "colors_duplicate": "colors[1]",
    "missing_rows": "plate.rows", "empty_rows": "plate.rows", "duplicate_rows": "plate.rows",
    "missing_columns": "plate.columns", "empty_columns": "plate.columns",
    "duplicate_columns": "plate.columns", "missing_wells": "plate.wells",
    "empty_wells": "plate.wells", "duplicate_wells": "plate.wells[",
    "missing_column_name": "columns[0].name", "missing_row_name": "rows[0].name",
    "missing_well_path": "wells[0].path", "missing_well_rowIndex": "wells[0].rowIndex",
    "missing_well_columnIndex": "wells[0].columnIndex", "well_1group": "wells[0].path",
    "well_3groups": "wells[0].path", "non_alphanumeric_column": "columns[0].name",
    "missing_acquisition_id": "acquisitions[0].id",
    "non_integer_acquisition_id": "acquisition",  # plate: acquisitions[0].id, well: images[0]
    "negative_acquisition_id": "acquisitions[0].id",
    "non_integer_acquisition_maximumfieldcount": "acquisitions[0].maximumfieldcount",
    "acquisition_zero_maximumfieldcount": "acquisitions[0].maximumfieldcount",
    "acquisition_noninteger_starttime": "acquisitions[0].starttime",
    "acquisition_negative_starttime": "acquisitions[0].starttime",
    "acquisition_noninteger_endtime": "acquisitions[0].endtime",
    "negative_endtime": "acquisitions[0].endtime", "zero_field_count": "plate.field_count",
    "well_path_has_column_before_row": "wells[0].path",
    "empty_images": "well.images", "duplicate_images": "well.images[1].path",
    # strict_* (SHOULD-level) cases
    "no_version": "image-label.version", "no_colors": "image-label.colors",
    "missing_name": "plate.name", "missing_version": "version",
    "missing_acquisition_name": "acquisitions[0].name",
    "missing_acquisition_maximumfieldcount": "acquisitions[0].maximumfieldcount",
}
# 0.4's case 10 is misnamed: it duplicates columns (and wells), not rows.
EXPECTED_BY_CASE = {("0.4", "plate", "10_duplicate_rows"): "plate.columns[1].name"}


def _case(path: Path) -> tuple[str, str, str, str]:
    """(version, suite, stem, defect name) of a case file."""
    version = path.parts[-6]
    suite, stem = path.parent.name, path.stem
    return version, suite, stem, re.sub(r"^\d+_", "", stem)


def _parse(path: Path, **kw):
    version = _case(path)[0]
    zarr_format = 2 if version == "0.4" else 3
    return parse_attributes(load_json(path), zarr_format=zarr_format, where=str(path), **kw)


@pytest.mark.parametrize("path", VALID)
def test_valid_case_parses(path: Path) -> None:
    version, suite, stem, _ = _case(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = _parse(path)
    assert meta.version == version
    assert meta.kind == SUITE_KIND[suite]
    emitted = [str(w.message) for w in caught if issubclass(w.category, KitWarning)]
    assert emitted == list(meta.warnings), "every warning is both emitted and recorded"
    trap = TRAPS.get((version, suite, stem))
    if trap is not None:
        assert any(trap in w for w in meta.warnings), meta.warnings
    elif suite in ("label", "strict_label"):
        # The suites' label documents are bare image-label blocks without multiscales.
        assert len(meta.warnings) == 1 and "without multiscales" in meta.warnings[0]
    else:
        assert meta.warnings == ()
    assert all(str(path) in w for w in meta.warnings)


@pytest.mark.parametrize("path", [p for p in VALID
                                  if p.values[0] is None or "strict_" in str(p.values[0])])
def test_valid_strict_case_passes_strict_mode(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)  # the 0.4 path traps, checked above
        meta = _parse(path, strict=True)
    assert meta.kind == SUITE_KIND[_case(path)[1]]


@pytest.mark.parametrize("path", INVALID)
def test_invalid_case_raises_for_its_defect(path: Path) -> None:
    version, suite, stem, defect = _case(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)
        with pytest.raises(InvalidMetadata) as info:
            _parse(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), "the error names where"
    assert EXPECTED_BY_CASE.get((version, suite, stem), EXPECTED[defect]) in message
    if "version" in defect:
        assert isinstance(info.value, UnsupportedVersion)
    else:
        assert not isinstance(info.value, UnsupportedVersion)


@pytest.mark.parametrize("path", STRICT_INVALID)
def test_strict_invalid_case_is_a_should_violation(path: Path) -> None:
    _version, suite, _, defect = _case(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KitWarning)
        meta = _parse(path)  # lenient: SHOULD rules only
        assert meta.kind == SUITE_KIND[suite]
        with pytest.raises(InvalidMetadata) as info:
            _parse(path, strict=True)
    assert EXPECTED[defect] in str(info.value)
    assert "strict mode" in str(info.value)


UNWRAPPED_05_WELLS = [p for p in INVALID
                      if p.values[0] is not None and p.values[0].parts[-6] == "0.5"
                      and p.values[0].parent.name == "well"]


@pytest.mark.parametrize("path", UNWRAPPED_05_WELLS)
def test_unwrapped_05_well_cases_fail_for_real_defect_also_when_wrapped(path: Path) -> None:
    """The cases lack `ome`: read as 0.4-style in v3 (warned), and wrapped they fail the same
    way."""
    doc = load_json(path)
    assert "ome" not in doc
    with pytest.warns(KitWarning, match="zarr v3"), pytest.raises(InvalidMetadata) as bare:
        parse_attributes(doc, zarr_format=3, where="bare")
    with pytest.raises(InvalidMetadata) as wrapped:
        parse_attributes({"ome": {"version": "0.5", **doc}}, zarr_format=3, where="wrapped")
    assert str(bare.value).split(": ", 1)[1] == str(wrapped.value).split(": ", 1)[1].replace(
        "ome.", "", 1)


def test_the_case_lists_are_complete() -> None:
    """Guard against a glob silently matching nothing (e.g. a renamed folder)."""
    if not SPEC.exists():
        pytest.skip("ngff-spec absent")
    assert len(VALID) == 22 + 21
    assert len(INVALID) + len(STRICT_INVALID) == 70 + 65
    assert len(UNWRAPPED_05_WELLS) == 3
