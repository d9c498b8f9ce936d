"""Refs documents (kerchunk v0/v1, LINDI .lindi.json/.lindi.tar) read by kit.open, locally and
from real DemoServers on 127.0.0.1: formats, kerchunk output, coalescing, listing, padding."""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
import zlib
from pathlib import Path

import dask.array as da
import h5py
import numpy as np
import pytest
import zarr
from helpers import served_folder
from zarr.abc.store import RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.demo.generate import write_image
from kit.demo.refs import folder_refs, write_lindi_tar
from kit.demo.server import DemoServer
from kit.errors import InvalidMetadata
from kit.io.loop import run_sync
from kit.io.refs import RefsStore, open_refs

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

PROTO = default_buffer_prototype()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("img") / "img.zarr"
    return write_image(root, version="0.4", axes="cyx", shape=(2, 64, 64), chunks=(1, 16, 16),
                       levels=2, labels=())


def level0(root: Path) -> np.ndarray:
    return zarr.open_group(str(root), mode="r")["0"][:]


def inner(node: kit.Group | kit.Image) -> RefsStore:
    store = node.location.store.inner
    assert isinstance(store, RefsStore)
    return store


def get(store: RefsStore, key: str, byte_range=None) -> bytes | None:
    buf = run_sync(store.get(key, PROTO, byte_range))
    return None if buf is None else buf.to_bytes()


# --- LINDI-style .lindi.json (refs, no version), local -----------------------------------------


def test_lindi_json_without_version_reads_ngff_image(image: Path, tmp_path: Path) -> None:
    refs, blobs = folder_refs(image, lambda name: f"./{name}.bin")
    assert "version" not in refs
    for name, data in blobs.items():
        (tmp_path / f"{name}.bin").write_bytes(data)
    (tmp_path / "img.lindi.json").write_text(json.dumps(refs))
    node = kit.open(tmp_path / "img.lindi.json")
    assert isinstance(node, kit.Image)
    assert node.axes == ["c", "y", "x"]
    np.testing.assert_array_equal(node.to_dask(0).compute(), level0(image))
    assert isinstance(node.to_dask(1), da.Array)


def test_version0_document_and_inline_values(tmp_path: Path) -> None:
    data = np.arange(12, dtype="<i2")
    (tmp_path / "raw.bin").write_bytes(b"junk" + data.tobytes())
    doc = {
        "version": 0,
        ".zgroup": '{"zarr_format": 2}',
        ".zattrs": {"title": "v0"},
        "a/.zarray": {"zarr_format": 2, "shape": [12], "chunks": [6], "dtype": "<i2",
                      "compressor": None, "filters": None, "fill_value": 0, "order": "C"},
        "a/0": [str(tmp_path / "raw.bin"), 4, 12],
        "a/1": "base64:" + base64.b64encode(data[6:].tobytes()).decode(),
    }
    node = kit.open(doc)
    assert isinstance(node, kit.Group)
    assert node.attrs == {"title": "v0"}
    np.testing.assert_array_equal(node.members["a"].compute(), data)


def test_templates_whole_file_refs_and_plain_text_value(tmp_path: Path) -> None:
    data = np.arange(8, dtype="<f4")
    (tmp_path / "c0").write_bytes(data[:4].tobytes())
    (tmp_path / "c1").write_bytes(data[4:].tobytes())
    doc = {
        "version": 1,
        "templates": {"d": str(tmp_path)},
        "refs": {
            ".zgroup": {"zarr_format": 2},
            ".zattrs": '{"note": "plain text json {not a template}"}',
            "x/.zarray": {"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<f4",
                          "compressor": None, "filters": None, "fill_value": 0, "order": "C"},
            "x/0": ["{{d}}/c0"],
            "x/1": ["{{ d }}/c1"],
        },
    }
    node = kit.open(doc)
    assert node.attrs["note"] == "plain text json {not a template}"
    np.testing.assert_array_equal(node.members["x"].compute(), data)


def test_gen_expands_dimensions_with_expressions(tmp_path: Path) -> None:
    values = np.arange(40, dtype="<u2").reshape(4, 10)
    (tmp_path / "blob.bin").write_bytes(b"\0" * 100 + values.tobytes())
    doc = {
        "version": 1,
        "templates": {"u": str(tmp_path / "blob.bin")},
        "gen": [{
            "key": "v/{{i}}.{{j}}",
            "url": "{{u}}",
            "offset": "{{100 + (i * 2 + j) * 10}}",
            "length": "10",
            "dimensions": {"i": {"stop": 4, "step": 1}, "j": [0, 1]},
        }],
        "refs": {
            ".zgroup": {"zarr_format": 2},
            "v/.zarray": {"zarr_format": 2, "shape": [4, 10], "chunks": [1, 5], "dtype": "<u2",
                          "compressor": None, "filters": None, "fill_value": 0, "order": "C"},
        },
    }
    node = kit.open(doc)
    assert sorted(k for k in run_sync(_keys(inner(node))) if k.startswith("v/") and "z" not in k) \
        == [f"v/{i}.{j}" for i in range(4) for j in range(2)]
    np.testing.assert_array_equal(node.members["v"].compute(), values)


async def _keys(store: RefsStore) -> list[str]:
    return [k async for k in store.list()]


def test_gen_with_unsupported_expression_is_a_clear_error() -> None:
    doc = {"refs": {}, "gen": [{"key": "k{{ i | string }}", "url": "u",
                                "dimensions": {"i": [1]}}]}
    with pytest.raises(InvalidMetadata, match="jinja filters"):
        kit.open(doc)


def test_listing_comes_from_the_keys(image: Path, tmp_path: Path) -> None:
    refs, blobs = folder_refs(image, lambda name: str(tmp_path / name))
    (tmp_path / "blob").write_bytes(blobs["blob"])
    node = kit.open(refs)
    store = inner(node)
    assert store.supports_listing and node.location.store.supports_listing

    async def listing() -> tuple[list[str], list[str], list[str]]:
        return ([k async for k in store.list()], sorted([k async for k in store.list_dir("")]),
                sorted([k async for k in store.list_prefix("1/")]))

    everything, top, level1 = run_sync(listing())
    assert set(everything) == set(refs["refs"])
    assert top == [".zattrs", ".zgroup", "0", "1"]
    assert level1 and all(k.startswith("1/") for k in level1)
    assert set(level1) == {k for k in refs["refs"] if k.startswith("1/")}


def test_store_pickles_and_reads_after(image: Path, tmp_path: Path) -> None:
    refs, blobs = folder_refs(image, lambda name: str(tmp_path / name))
    (tmp_path / "blob").write_bytes(blobs["blob"])
    node = kit.open(refs)
    arr = pickle.loads(pickle.dumps(node.to_dask(0)))
    np.testing.assert_array_equal(arr.compute(), level0(image))


# --- kerchunk's own output ------------------------------------------------------------------


@pytest.fixture(scope="module")
def h5file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("h5") / "data.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.attrs["session"] = "demo"
        f.create_dataset("gz", data=rng.integers(0, 1000, (37, 23), dtype="i4"),
                         chunks=(8, 8), compression="gzip")
        f.create_dataset("contig", data=rng.random(101))
        grp = f.create_group("acq")
        grp.create_dataset("u8", data=rng.integers(0, 255, (5, 6, 7), dtype="u1"), chunks=(2, 3, 7))
        grp.attrs["rate"] = 30.0
    return path


def _h5_datasets(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def _group_arrays(node: kit.Group, prefix: str = "") -> dict[str, da.Array]:
    out: dict[str, da.Array] = {}
    for name, member in node.members.items():
        if isinstance(member, kit.Group):
            out.update(_group_arrays(member, f"{prefix}{name}/"))
        else:
            out[prefix + name] = member
    return out


def _kerchunk(h5: Path, url: str) -> dict:
    from kerchunk.hdf import SingleHdf5ToZarr

    with open(h5, "rb") as f:
        return SingleHdf5ToZarr(f, url, inline_threshold=0).translate()


def test_kerchunk_hdf5_reads_like_h5py(h5file: Path, tmp_path: Path) -> None:
    refs = _kerchunk(h5file, str(h5file))
    assert any(isinstance(v, list) for v in refs["refs"].values())  # really by reference
    path = tmp_path / "data.kerchunk.json"
    path.write_text(json.dumps(refs))
    node = kit.open(path)
    assert type(node) is kit.Group
    assert node.attrs["session"] == "demo"
    arrays = _group_arrays(node)
    expected = _h5_datasets(h5file)
    assert set(arrays) == set(expected)
    for name, values in expected.items():
        assert isinstance(arrays[name], da.Array)
        np.testing.assert_array_equal(arrays[name].compute(), values, err_msg=name)


def test_kerchunk_over_http_with_chunks_on_the_same_server(h5file: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.h5").write_bytes(h5file.read_bytes())
    with DemoServer(served, auth="bearer", token="tok-k") as srv:
        (served / "data.json").write_text(json.dumps(_kerchunk(h5file, srv.url + "data.h5")))
        node = kit.open(srv.url + "data.json", auth=srv.credential)
        arrays = _group_arrays(node)
        for name, values in _h5_datasets(h5file).items():
            np.testing.assert_array_equal(arrays[name].compute(), values, err_msg=name)
        assert srv.count() > 1 and srv.count(lambda r: not r.authorization) == 0


# --- .lindi.tar, local and over HTTP -----------------------------------------------------------


def _tar(image: Path, path: Path) -> Path:
    refs, blobs = folder_refs(image, lambda name: f"./blobs/{name}",
                              lambda key: "level" + key.split("/")[0])
    return write_lindi_tar(path, refs, blobs)


def test_lindi_tar_local(image: Path, tmp_path: Path) -> None:
    node = kit.open(_tar(image, tmp_path / "img.lindi.tar"))
    assert isinstance(node, kit.Image)
    np.testing.assert_array_equal(node.to_dask(0).compute(), level0(image))


def test_lindi_tar_over_http_opens_with_three_reads(image: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    _tar(image, served / "img.lindi.tar")
    with DemoServer(served) as srv:
        node = kit.open(srv.url + "img.lindi.tar")
        assert isinstance(node, kit.Image)
        assert srv.count() == 3  # tar head + entry, index, lindi.json; metadata is inline
        assert all(r.range for r in srv.requests)
        np.testing.assert_array_equal(node.to_dask(0).compute(), level0(image))
        assert srv.count() > 3


def test_lindi_tar_ref_past_its_member_names_the_key(image: Path, tmp_path: Path) -> None:
    refs = {"refs": {".zgroup": {"zarr_format": 2}, "k": ["./blobs/b", 2, 10],
                     "m": ["./blobs/missing", 0, 1]}}
    node = kit.open(write_lindi_tar(tmp_path / "x.lindi.tar", refs, {"b": b"0123456789"}))
    store = inner(node)
    with pytest.raises(InvalidMetadata, match="past the end of its tar member") as err:
        get(store, "k")
    assert "'k'" in str(err.value) and "x.lindi.tar" in str(err.value)
    with pytest.raises(kit.NotFound, match="not in the tar"):
        get(store, "m")


# --- LINDI padding quirk -----------------------------------------------------------------------


def test_short_final_chunk_is_padded_only_without_compressor(tmp_path: Path) -> None:
    data = np.arange(10, dtype="<i4")
    raw = data.tobytes()
    # a compressed final chunk holds a whole chunk (HDF5 writes it so); it must not be padded
    packed = [zlib.compress(raw[0:16]), zlib.compress(raw[16:32]),
              zlib.compress(raw[32:40] + bytes(8))]
    blob = raw + b"".join(packed)
    (tmp_path / "blob").write_bytes(blob)
    meta = {"zarr_format": 2, "shape": [10], "chunks": [4], "dtype": "<i4", "filters": None,
            "fill_value": 0, "order": "C"}
    p = str(tmp_path / "blob")
    at = len(raw)
    refs = {".zgroup": {"zarr_format": 2},
            "raw/.zarray": {**meta, "compressor": None},
            "raw/0": [p, 0, 16], "raw/1": [p, 16, 16], "raw/2": [p, 32, 8],  # short: 2 of 4
            "z/.zarray": {**meta, "compressor": {"id": "zlib", "level": 1}},
            "z/0": [p, at, len(packed[0])],
            "z/1": [p, at + len(packed[0]), len(packed[1])],
            "z/2": [p, at + len(packed[0]) + len(packed[1]), len(packed[2])]}
    node = kit.open({"refs": refs})
    store = inner(node)
    assert len(get(store, "raw/2")) == 16 and get(store, "raw/2")[8:] == bytes(8)
    assert get(store, "z/2") == packed[2]  # compressed: never padded
    assert len(get(store, "raw/2", RangeByteRequest(0, 4))) == 4  # partial reads are not padded
    np.testing.assert_array_equal(node.members["raw"].compute(), data)
    np.testing.assert_array_equal(node.members["z"].compute(), data)


# --- coalescing of ranges of one file ---------------------------------------------------------


def _range_doc(url: str, n: int, size: int, gap: int = 0) -> dict:
    refs = {f"k{i}": [url, i * (size + gap), size] for i in range(n)}
    return {"refs": {".zgroup": {"zarr_format": 2}, **refs}}


@pytest.fixture
def blob_server(tmp_path: Path, serve) -> DemoServer:
    return serve(served_folder(tmp_path, {"blob.bin": bytes(range(256)) * 4096}))  # 1 MiB


def test_partial_values_of_adjacent_ranges_are_one_request(blob_server: DemoServer) -> None:
    url = blob_server.url + "blob.bin"
    store = inner(kit.open(_range_doc(url, 20, 1000)))
    blob_server.reset_log()
    out = run_sync(store.get_partial_values(PROTO, [(f"k{i}", None) for i in range(20)]))
    assert [b.to_bytes() for b in out] == [(bytes(range(256)) * 4096)[i * 1000:(i + 1) * 1000]
                                          for i in range(20)]
    assert blob_server.count() == 1
    assert blob_server.requests[0].range == "bytes=0-19999"


def test_concurrent_gets_are_merged_and_far_ranges_are_not(blob_server: DemoServer) -> None:
    url = blob_server.url + "blob.bin"
    near = inner(kit.open(_range_doc(url, 16, 512, gap=100)))
    far = inner(kit.open(_range_doc(url, 4, 512, gap=200_000)))

    async def all_of(store: RefsStore, n: int) -> list[bytes]:
        got = await asyncio.gather(*(store.get(f"k{i}", PROTO) for i in range(n)))
        return [g.to_bytes() for g in got]

    blob = bytes(range(256)) * 4096
    blob_server.reset_log()
    got = run_sync(all_of(near, 16))
    assert got == [blob[i * 612:i * 612 + 512] for i in range(16)]
    assert blob_server.count() == 1
    blob_server.reset_log()
    got = run_sync(all_of(far, 4))
    assert got == [blob[i * 200_512:i * 200_512 + 512] for i in range(4)]
    assert blob_server.count() == 4


def test_ranges_within_a_ref_are_relative_to_it(blob_server: DemoServer) -> None:
    store = inner(kit.open(_range_doc(blob_server.url + "blob.bin", 3, 1000)))
    blob = bytes(range(256)) * 4096
    assert get(store, "k1", RangeByteRequest(10, 20)) == blob[1010:1020]
    assert get(store, "k2", SuffixByteRequest(5)) == blob[2995:3000]
    assert get(store, "nope") is None


# --- NGFF over HTTP with auth ------------------------------------------------------------------


def test_ngff_refs_over_http_with_bearer_auth(image: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    with DemoServer(served, auth="bearer", token="tok-ngff") as srv:
        refs, blobs = folder_refs(image, lambda name: srv.url + name)
        (served / "blob").write_bytes(blobs["blob"])
        (served / "img.lindi.json").write_text(json.dumps(refs))
        node = kit.open(srv.url + "img.lindi.json", auth=srv.credential)
        assert isinstance(node, kit.Image)
        srv.reset_log()
        np.testing.assert_array_equal(node.to_dask(0).compute(), level0(image))
        chunks = sum(1 for k in refs["refs"] if k.startswith("0/") and not k.endswith(".zarray"))
        assert 1 <= srv.count() <= chunks
        assert srv.count(lambda r: r.status != 206) == 0


def test_open_refs_direct_call(image: Path, tmp_path: Path) -> None:
    refs, blobs = folder_refs(image, lambda name: str(tmp_path / name))
    (tmp_path / "blob").write_bytes(blobs["blob"])
    loc = open_refs(refs)
    assert isinstance(loc.store.inner, RefsStore)
    assert run_sync(loc.store.get_json(".zattrs"))["multiscales"]


def test_lindi_json_over_http_resolves_dot_refs_against_its_url(image: Path,
                                                                tmp_path: Path) -> None:
    served = tmp_path / "served" / "sub"
    served.mkdir(parents=True)
    refs, blobs = folder_refs(image, lambda name: f"./{name}.bin")
    (served / "blob.bin").write_bytes(blobs["blob"])
    (served / "img.lindi.json").write_text(json.dumps(refs))
    with DemoServer(served.parent) as srv:
        node = kit.open(srv.url + "sub/img.lindi.json?v=1")
        assert isinstance(node, kit.Image)
        np.testing.assert_array_equal(node.to_dask(0).compute(), level0(image))
        assert {r.path for r in srv.requests} == {"/sub/img.lindi.json", "/sub/blob.bin"}
