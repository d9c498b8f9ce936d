"""``kit.consolidate``: the one place the kit writes, and it writes only what it means to.

The temporary file is fresh (created exclusively, never through a link, under a random name)
and renamed over the target; a target that is itself a link out of the dataset is refused.
Symlinks planted where the old code put its temporary file must leave their targets untouched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import kit
from kit.demo.generate import write_plate
from kit.errors import KitError

TMP_NAMES = {"0.4": ".zmetadata.tmp", "0.5": "zarr.json.tmp"}
TARGETS = {"0.4": ".zmetadata", "0.5": "zarr.json"}


@pytest.fixture(params=["0.4", "0.5"])
def dataset(request, tmp_path: Path) -> tuple[str, Path, Path]:
    """(version, plate, a file outside the plate that nothing may change)."""
    plate = write_plate(tmp_path / "p.zarr", version=request.param, rows="B", columns=("03",))
    outside = tmp_path / "victim.txt"
    outside.write_text("precious")
    return request.param, plate, outside


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def test_writes_and_leaves_no_temporary_file(dataset) -> None:
    version, plate, _ = dataset
    written = kit.consolidate(plate)
    assert written == plate / TARGETS[version]
    doc = json.loads(written.read_text())
    assert ("metadata" in doc) if version == "0.4" else ("consolidated_metadata" in doc)
    assert not [p for p in plate.iterdir() if p.name.endswith(".tmp")]


def test_symlink_at_old_temporary_name_is_not_followed(dataset) -> None:
    version, plate, outside = dataset
    link = plate / TMP_NAMES[version]
    link.symlink_to(outside)
    before = outside.read_bytes()
    written = kit.consolidate(plate)
    assert outside.read_text() == "precious" and before == b"precious"
    assert not written.is_symlink() and json.loads(written.read_text())
    assert link.is_symlink() and os.readlink(link) == str(outside)  # left as it was


def test_symlink_at_old_temporary_name_to_missing_file_creates_nothing(dataset, tmp_path) -> None:
    version, plate, _ = dataset
    target = tmp_path / "would-be-created.json"
    (plate / TMP_NAMES[version]).symlink_to(target)
    kit.consolidate(plate)
    assert not target.exists()


def test_target_linking_out_of_the_dataset_is_refused(dataset, tmp_path) -> None:
    version, plate, outside = dataset
    target = plate / TARGETS[version]
    if version == "0.5":  # the root document itself: keep a copy outside and link to it
        outside.write_text(target.read_text())
        target.unlink()
    target.symlink_to(outside)
    before = outside.read_bytes()
    inside = snapshot(plate)
    with pytest.raises(KitError, match="link") as info:
        kit.consolidate(plate)
    assert str(outside) in str(info.value) or TARGETS[version] in str(info.value)
    assert outside.read_bytes() == before
    assert target.is_symlink()
    assert snapshot(plate) == inside
    assert not [p for p in plate.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".tmp")]


def test_target_linking_inside_the_dataset_is_replaced_not_followed(tmp_path) -> None:
    plate = write_plate(tmp_path / "p.zarr", version="0.4", rows="B", columns=("03",))
    other = plate / "B" / "keep.json"
    other.write_text("{}")
    (plate / ".zmetadata").symlink_to(other)
    kit.consolidate(plate)
    assert other.read_text() == "{}"
    assert not (plate / ".zmetadata").is_symlink()
    assert json.loads((plate / ".zmetadata").read_text())["zarr_consolidated_format"] == 1
