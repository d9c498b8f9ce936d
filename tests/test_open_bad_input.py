"""Bad input gives a clear kit error naming the path, never a raw KeyError or JSONDecodeError,
and nothing on disk changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import kit
from kit.demo.generate import write_image


def _snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture
def image_v04(tmp_path):
    return write_image(tmp_path / "img.zarr", version="0.4", axes="cyx", shape=(2, 32, 32),
                       levels=2, labels=())


@pytest.fixture
def image_v05(tmp_path):
    return write_image(tmp_path / "img.zarr", version="0.5", axes="cyx", shape=(2, 32, 32),
                       levels=2, labels=())


def test_missing_path(tmp_path):
    with pytest.raises(kit.NotFound, match=r"nope\.zarr"):
        kit.open(tmp_path / "nope.zarr")


def test_empty_directory(tmp_path):
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(kit.NotFound, match=r"empty\.zarr"):
        kit.open(tmp_path / "empty.zarr")


def test_file_instead_of_directory(tmp_path):
    f = tmp_path / "image.zarr"
    f.write_text("hello")
    with pytest.raises(kit.NotFound, match="is a file"):
        kit.open(f)


def test_malformed_zattrs(image_v04):
    (image_v04 / ".zattrs").write_text("{not json")
    before = _snapshot(image_v04)
    with pytest.raises(kit.InvalidMetadata, match=r"\.zattrs.*not valid JSON"):
        kit.open(image_v04)
    assert _snapshot(image_v04) == before


def test_malformed_zarr_json(image_v05):
    (image_v05 / "zarr.json").write_text('{"zarr_format": 3, "node_type": ')
    with pytest.raises(kit.InvalidMetadata, match=r"zarr\.json"):
        kit.open(image_v05)


def test_zattrs_not_an_object(image_v04):
    (image_v04 / ".zattrs").write_text("[1, 2]")
    with pytest.raises(kit.InvalidMetadata, match="JSON object"):
        kit.open(image_v04)


def test_missing_zattrs_is_a_plain_group(image_v04):
    os.remove(image_v04 / ".zattrs")
    group = kit.open(image_v04)
    assert isinstance(group, kit.Group) and group.version is None


def test_multiscales_path_that_does_not_exist(image_v04):
    attrs = json.loads((image_v04 / ".zattrs").read_text())
    attrs["multiscales"][0]["datasets"][1]["path"] = "missing-level"
    (image_v04 / ".zattrs").write_text(json.dumps(attrs))
    image = kit.open(image_v04)
    with pytest.raises(kit.NotFound, match="missing-level"):
        image.levels


def test_rank_mismatch(image_v05):
    doc = json.loads((image_v05 / "zarr.json").read_text())
    ms = doc["attributes"]["ome"]["multiscales"][0]
    ms["axes"] = ms["axes"][1:]  # drop "c": 2 axes for 3-d arrays
    for ds in ms["datasets"]:
        for t in ds["coordinateTransformations"]:
            t[t["type"]] = t[t["type"]][1:]
    (image_v05 / "zarr.json").write_text(json.dumps(doc))
    image = kit.open(image_v05)
    with pytest.raises(kit.InvalidMetadata, match=r"(?s)img.zarr.*(3.*2|2.*3)"):
        image.levels


@pytest.mark.parametrize("version", ["0.7", "1.0.dev0", "abc123"])
def test_unknown_version(image_v05, version):
    doc = json.loads((image_v05 / "zarr.json").read_text())
    doc["attributes"]["ome"]["version"] = version
    (image_v05 / "zarr.json").write_text(json.dumps(doc))
    with pytest.raises(kit.UnsupportedVersion, match=r"img\.zarr"):
        kit.open(image_v05)


def test_unknown_zarr_format(image_v05):
    doc = json.loads((image_v05 / "zarr.json").read_text())
    doc["zarr_format"] = 4
    (image_v05 / "zarr.json").write_text(json.dumps(doc))
    with pytest.raises(kit.UnsupportedVersion, match="zarr_format"):
        kit.open(image_v05)


def test_truncated_chunk(image_v04):
    chunk = next(p for p in sorted((image_v04 / "0").rglob("*"))
                 if p.is_file() and not p.name.startswith("."))
    chunk.write_bytes(chunk.read_bytes()[:7])
    image = kit.open(image_v04)
    with pytest.raises(kit.errors.InvalidData, match=r"img.zarr/0.*truncated or corrupt"):
        image.to_dask(0).compute()
