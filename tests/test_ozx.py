"""RFC-9 zipped OME-Zarr (``.ozx``): local files and loopback HTTP with real Basic auth.

Pixels are compared with zarr-python reading the unzipped folder; the DemoServer's request
log pins the cost: one suffix request for the directory, one range request per member.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image, write_plate
from kit.errors import AuthenticationError, InvalidData, InvalidMetadata, NotFound
from kit.io import zipstore

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

PASSWORD = "pw-ozx-9Qz-not-in-messages"
COMMENT = b'{"ome": {"version": "0.5"}}\0'


def zip_folder(folder: Path, target: Path, *, compression: int = zipfile.ZIP_STORED,
               comment: bytes = COMMENT, force_zip64: bool = False, prefix: str = "") -> Path:
    """``folder``'s files zipped as RFC-9 recommends: zarr.json files first, breadth-first."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    files.sort(key=lambda p: (p.name != "zarr.json", len(p.relative_to(folder).parts), str(p)))
    with zipfile.ZipFile(target, "w", compression) as zf:
        for f in files:
            info = zipfile.ZipInfo(prefix + f.relative_to(folder).as_posix())
            info.compress_type = compression
            with zf.open(info, "w", force_zip64=force_zip64) as out:
                out.write(f.read_bytes())
        zf.comment = comment
    return target


def zip64_end(data: bytes) -> bytes:
    """The same zip with zip64 end records (what writers emit past 4 GiB or 65535 entries)."""
    pos = data.rfind(b"PK\x05\x06")
    _, _, _, _, count, cd_size, cd_offset, n = struct.unpack_from("<4s4H2IH", data, pos)
    comment = data[pos + 22 : pos + 22 + n]
    record = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                         cd_size, cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, pos, 1)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                      len(comment))
    return data[:pos] + record + locator + end + comment


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ozx-image")
    return write_image(base / "img.zarr", version="0.5", shape=(2, 3, 64, 64), levels=3,
                       channels=["DAPI", "GFP"], sharded=True)


@pytest.fixture(scope="module")
def plate_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ozx-plate")
    return write_plate(base / "plate.zarr", version="0.5", rows="B", columns=("03", "05"))


def expected(folder: Path, level: str) -> np.ndarray:
    return np.asarray(zarr.open_array(str(folder / level), mode="r")[:])


# --- local


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_local_image_matches_zarr_python(image_folder: Path, tmp_path: Path,
                                         compression: int) -> None:
    ozx = zip_folder(image_folder, tmp_path / "img.ozx", compression=compression)
    before = ozx.read_bytes()
    image = kit.open(ozx)
    assert isinstance(image, kit.Image) and image.version == "0.5"
    for level in image.levels:
        assert np.array_equal(image.read(level.index), expected(image_folder, level.path))
    assert np.array_equal(image.to_dask(1).compute(), expected(image_folder, "1"))
    label = image.labels["nuclei"]
    assert np.array_equal(label.read(0), expected(image_folder, "labels/nuclei/0"))
    assert image.location.store.inner.comment == {"ome": {"version": "0.5"}}
    assert ozx.read_bytes() == before  # nothing on disk changes


def test_local_plate_and_zip64(plate_folder: Path, tmp_path: Path) -> None:
    ozx = zip_folder(plate_folder, tmp_path / "plate.ozx", force_zip64=True)
    ozx.write_bytes(zip64_end(ozx.read_bytes()))
    with zipfile.ZipFile(ozx) as zf:  # the rewritten end records are a valid zip64
        assert zf.testzip() is None
    plate = kit.open(f"file://{ozx}")
    assert isinstance(plate, kit.Plate)
    for name in ("B/03", "B/05"):
        image = plate.wells[name].images["0"]
        assert np.array_equal(image.read(0), expected(plate_folder, f"{name}/0/0"))


def test_zipped_folder_and_not_its_contents_is_refused(image_folder: Path,
                                                       tmp_path: Path) -> None:
    ozx = zip_folder(image_folder, tmp_path / "nested.ozx", prefix="img.zarr/")
    with pytest.raises(InvalidMetadata) as info:
        kit.open(ozx)
    text = str(info.value)
    assert str(ozx) in text and "root of the zip" in text and "'img.zarr'" in text


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        kit.open(tmp_path / "absent.ozx")
    (tmp_path / "dir.ozx").mkdir()
    with pytest.raises(NotFound, match="is a folder"):
        kit.open(tmp_path / "dir.ozx")


def damaged(ozx: Path, how: str) -> Path:
    data = ozx.read_bytes()
    bad = ozx.with_name(f"{how}.ozx")
    if how == "truncated":  # the end records are cut off
        bad.write_bytes(data[: len(data) - 40])
    elif how == "cut-middle":  # bytes lost inside: offsets no longer fit
        bad.write_bytes(data[:100] + data[400:])
    elif how == "bad-record":  # the last directory record claims a 64 KiB extra field
        at = data.rfind(b"PK\x01\x02")
        bad.write_bytes(data[: at + 30] + b"\xff\xff" + data[at + 32 :])
    elif how == "not-a-zip":
        bad.write_bytes(b"this is not a zip file\n" * 20)
    elif how == "empty":
        bad.write_bytes(b"")
    return bad


@pytest.mark.parametrize("how", ["truncated", "cut-middle", "bad-record", "not-a-zip", "empty"])
def test_corrupt_zip_is_invalid_data_naming_the_file(image_folder: Path, tmp_path: Path,
                                                     how: str) -> None:
    bad = damaged(zip_folder(image_folder, tmp_path / "img.ozx"), how)
    with pytest.raises(InvalidData) as info:
        kit.open(bad)
    assert str(bad) in str(info.value)


def test_corrupt_member_is_invalid_data_naming_it(image_folder: Path, tmp_path: Path) -> None:
    ozx = zip_folder(image_folder, tmp_path / "img.ozx")
    with zipfile.ZipFile(ozx) as zf:
        info = zf.getinfo("0/c/0/0/0/0")
    data = bytearray(ozx.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + 5] ^= 0xFF  # one byte of the shard
    ozx.write_bytes(bytes(data))
    image = kit.open(ozx)  # the metadata is intact
    with pytest.raises(InvalidData) as err:
        image.read(0)
    assert f"{ozx}/0/c/0/0/0/0" in str(err.value)


def test_unsupported_compression_is_named(image_folder: Path, tmp_path: Path) -> None:
    ozx = zip_folder(image_folder, tmp_path / "img.ozx", compression=zipfile.ZIP_LZMA)
    with pytest.raises(InvalidData, match="lzma") as info:
        kit.open(ozx)
    assert str(ozx) in str(info.value)


def test_store_pickles_with_its_directory(image_folder: Path, tmp_path: Path) -> None:
    image = kit.open(zip_folder(image_folder, tmp_path / "img.ozx"))
    zstore = image.location.store.inner
    clone = pickle.loads(pickle.dumps(zstore))
    assert clone == zstore and clone._directory is not None
    restored = pickle.loads(pickle.dumps(image.to_dask(2)))
    assert np.array_equal(restored.compute(), expected(image_folder, "2"))


# --- HTTP


@pytest.fixture
def served_zip(image_folder: Path, tmp_path: Path, serve):
    (tmp_path / "site" / "data").mkdir(parents=True)
    ozx = zip_folder(image_folder, tmp_path / "site" / "data" / "img.ozx")
    srv = serve(tmp_path / "site", auth="basic", username="alice", password=PASSWORD)
    return srv, f"{srv.url}data/img.ozx", ozx


def test_http_one_suffix_request_for_the_directory(served_zip, image_folder: Path) -> None:
    srv, url, ozx = served_zip
    image = kit.open(url, auth=kit.BasicAuth("alice", PASSWORD))
    first = srv.requests[0]
    assert first.path == "/data/img.ozx" and first.range == f"bytes=-{zipstore.TAIL}"
    assert [r.range for r in srv.requests].count(f"bytes=-{zipstore.TAIL}") == 1
    # every other request is one member: a range inside the file, never the whole file
    assert all(r.range and r.range.startswith("bytes=") for r in srv.requests)
    assert all(r.authorization and r.status in (200, 206) for r in srv.requests)
    opened = srv.count()
    # the root zarr.json; .zattrs/.zgroup/.zmetadata are absent from the directory: no request
    assert opened == 2
    srv.reset_log()
    level = image.level(2)  # one member: that level's zarr.json
    assert srv.count() == 1
    srv.reset_log()
    data = image.read(2)
    assert np.array_equal(data, expected(image_folder, level.path))
    with zipfile.ZipFile(ozx) as zf:
        shards = [n for n in zf.namelist() if n.startswith(f"{level.path}/c/")]
    assert srv.count() == len(shards)  # one range request per member read


def test_http_big_directory_costs_one_more_range(served_zip, monkeypatch) -> None:
    srv, url, _ = served_zip
    monkeypatch.setattr(zipstore, "TAIL", 512)  # smaller than this zip's directory
    kit.open(url, auth=kit.BasicAuth("alice", PASSWORD))
    ranges = [r.range for r in srv.requests]
    assert ranges[0] == "bytes=-512"
    assert ranges.count("bytes=-512") == 1 and len(ranges) == 3  # tail, directory, zarr.json


def test_http_credentials_are_checked_and_never_shown(served_zip) -> None:
    _, url, _ = served_zip
    with pytest.raises(AuthenticationError) as info:
        kit.open(url)
    assert "none were given" in str(info.value)
    with pytest.raises(AuthenticationError) as info:
        kit.open(url, auth=kit.BasicAuth("alice", "wrong"))
    assert "refused" in str(info.value)
    image = kit.open(url.replace("http://", f"http://alice:{PASSWORD}@"))
    assert image.levels[0].shape == (2, 3, 64, 64)
    for text in (repr(image), repr(image.location.store), image.url, str(image.location.where())):
        assert PASSWORD not in text


def test_http_missing_zip_is_not_found(served_zip) -> None:
    _, url, _ = served_zip
    with pytest.raises(NotFound) as info:
        kit.open(url.replace("img.ozx", "other.ozx"), auth=kit.BasicAuth("alice", PASSWORD))
    assert "other.ozx" in str(info.value)


def test_other_protocols_keep_their_meaning(tmp_path: Path) -> None:
    """fsspec's own zip:// (and chained URLs ending in .zip) are not taken for RFC-9 zips."""
    with pytest.raises(kit.KitError) as info:
        kit.open(f"zip://img.zarr::file://{tmp_path}/absent.zip")
    assert "zipped" not in str(info.value) and "zip file" not in str(info.value)


def test_http_plate_deflated(plate_folder: Path, tmp_path: Path, serve) -> None:
    site = tmp_path / "site"
    site.mkdir()
    zip_folder(plate_folder, site / "plate.ozx", compression=zipfile.ZIP_DEFLATED)
    srv = serve(site, auth="basic", username="alice", password=PASSWORD)
    plate = kit.open(f"{srv.url}plate.ozx", auth=kit.BasicAuth("alice", PASSWORD))
    assert isinstance(plate, kit.Plate) and sorted(plate.wells) == ["B/03", "B/05"]
    for name in ("B/03", "B/05"):
        image = plate.wells[name].images["0"]
        assert np.array_equal(image.read(0), expected(plate_folder, f"{name}/0/0"))
    assert [r.range for r in srv.requests].count(f"bytes=-{zipstore.TAIL}") == 1


def test_http_server_ignoring_ranges_still_reads_right(served_zip, image_folder: Path) -> None:
    srv, url, _ = served_zip
    srv.ignore_range = True  # 200 with the whole file: the HttpStore slices what was asked
    image = kit.open(url, auth=kit.BasicAuth("alice", PASSWORD))
    assert np.array_equal(image.read(1), expected(image_folder, "1"))


def test_http_credential_stays_with_its_origin(served_zip, serve, tmp_path: Path,
                                               image_folder: Path) -> None:
    srv, url, _ = served_zip
    other = serve(tmp_path / "site")  # another origin (port) serving the same files, no auth
    srv.redirect_to(other.url.rstrip("/"))
    image = kit.open(url, auth=kit.BasicAuth("alice", PASSWORD))
    assert np.array_equal(image.read(2), expected(image_folder, "2"))
    assert other.count() > 0 and not any(r.authorization for r in other.requests)
    assert all(r.authorization for r in srv.requests)


def test_http_part_of_a_shard_is_one_request(served_zip, image_folder: Path) -> None:
    """The shard index and the inner chunks after it come from one read of the member."""
    srv, url, _ = served_zip
    image = kit.open(url, auth=kit.BasicAuth("alice", PASSWORD))
    assert len(image.levels) == 3  # level metadata fetched before counting
    srv.reset_log()
    part = image.read(0, [1, 2, slice(0, 16), slice(8, 40)])
    assert np.array_equal(part, expected(image_folder, "0")[1, 2, :16, 8:40])
    assert srv.count() == 1  # level 0 is one shard
    srv.reset_log()
    assert np.array_equal(image.read(0, [0, 0, slice(0, 8), slice(0, 8)]),
                          expected(image_folder, "0")[0, 0, :8, :8])
    assert srv.count() == 0  # the same shard, kept
