"""The plate overview's CPU paths (issue 16.2), counted rather than timed.

Whole zarr v2 chunks are read with one store get and decoded inline (no zarr indexer, no
thread hop), a group document repeated across wells is parsed once, thumbnails shrink by
shifted adds that equal block means, and the store's limit hands slots out in order.
"""

from __future__ import annotations

import asyncio
import json
import warnings

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.core.array as zarr_array
from zarr.core.array import AsyncArray

import kit
import kit.nodes.base as nodes_base
from kit.demo.generate import write_plate
from kit.io import boxes
from kit.io.boxes import Box, read_boxes
from kit.io.kitstore import KitStore, Limit
from kit.io.location import GroupDoc, Location
from kit.io.loop import run_sync
from kit.nodes.base import group_meta, load_node
from kit.render.resample import resize

ROWS, COLUMNS = "ABC", ("01", "02", "03", "04")
WELLS = len(ROWS) * len(COLUMNS)


@pytest.fixture(scope="module")
def plate_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cpu") / "plate.zarr"
    write_plate(path, rows=ROWS, columns=COLUMNS, fields=2,
                image_kwargs={"shape": (2, 1, 64, 64), "chunks": (2, 1, 64, 64), "levels": 2,
                              "labels": ()})
    return path


@pytest.fixture
def counted(monkeypatch):
    """Calls of zarr's orthogonal reads, of asyncio.to_thread and of parse_attributes."""
    calls = {"zarr": 0, "thread": 0, "parse": 0, "pipeline": 0}
    read, to_thread, parse = (AsyncArray.get_orthogonal_selection, asyncio.to_thread,
                              nodes_base.parse_attributes)
    pipeline = zarr_array.create_codec_pipeline

    def counting_pipeline(*args, **kwargs):
        calls["pipeline"] += 1
        return pipeline(*args, **kwargs)

    monkeypatch.setattr(zarr_array, "create_codec_pipeline", counting_pipeline)

    async def counting_read(self, *args, **kwargs):
        calls["zarr"] += 1
        return await read(self, *args, **kwargs)

    async def counting_thread(*args, **kwargs):
        calls["thread"] += 1
        return await to_thread(*args, **kwargs)

    def counting_parse(*args, **kwargs):
        calls["parse"] += 1
        return parse(*args, **kwargs)

    monkeypatch.setattr(AsyncArray, "get_orthogonal_selection", counting_read)
    monkeypatch.setattr(asyncio, "to_thread", counting_thread)
    monkeypatch.setattr(nodes_base, "parse_attributes", counting_parse)
    monkeypatch.setattr(nodes_base, "_METAS", {})
    return calls


def test_overview_reads_chunks_without_zarr_or_threads_and_parses_each_document_once(
        serve, plate_dir, counted, monkeypatch):
    server = serve(plate_dir.parent, auth="basic", password="pw")
    url = server.url + plate_dir.name
    mosaic = kit.plate_overview(kit.open(url, auth=server.credential), progress=False)
    # every chunk was one store get decoded on the loop: zarr's reads and threads unused
    assert counted["zarr"] == 0
    assert counted["thread"] == 0
    # the plate, one parse for all the (equal) well documents, one per shown field (their
    # omero windows differ): was 1 + 2 * WELLS
    assert counted["parse"] == 1 + 1 + WELLS
    # the fields share their levels' parsed metadata, and so zarr's codec pipelines: one per
    # level the probe field read (was one per field and level)
    assert counted["pipeline"] == 2
    # the same picture as zarr's own reads make
    monkeypatch.setattr(boxes._Direct, "of", classmethod(lambda cls, array: None))
    by_zarr = kit.plate_overview(kit.open(url, auth=server.credential), progress=False)
    assert counted["zarr"] > 0
    assert np.array_equal(np.asarray(mosaic), np.asarray(by_zarr))


def test_a_large_chunk_is_decoded_on_a_thread(serve, plate_dir, counted, monkeypatch):
    monkeypatch.setattr(boxes, "INLINE_DECODE_BYTES", 0)
    server = serve(plate_dir.parent)
    kit.plate_overview(kit.open(server.url + plate_dir.name), progress=False)
    assert counted["zarr"] == 0
    assert counted["thread"] == WELLS  # one chunk per shown field, each on a thread


@pytest.mark.parametrize("compressor, filters, order", [
    (numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE), None, "C"),
    (numcodecs.Zlib(1), [numcodecs.Delta(dtype="<i4")], "C"),
    (None, None, "F"),
])
def test_direct_reads_equal_zarrs_on_edges_missing_chunks_and_codecs(
        tmp_path, compressor, filters, order, monkeypatch):
    """Edge chunks (past the array's end), a missing chunk (the fill value), ints that drop an
    axis, filters and Fortran order: the direct path gives zarr's answer."""
    data = np.arange(5 * 37 * 23, dtype="<i4").reshape(5, 37, 23) - 1000
    array = zarr.create_array(tmp_path / "a.zarr", shape=data.shape, chunks=(2, 10, 8),
                              dtype="<i4", zarr_format=2, compressors=compressor,
                              filters=filters, order=order, fill_value=-7)
    array[...] = data
    (tmp_path / "a.zarr" / "1.1.1").unlink()  # chunk (1, 1, 1): the fill value
    expected = data.copy()
    expected[2:4, 10:20, 8:16] = -7
    store = KitStore(zarr.storage.LocalStore(tmp_path / "a.zarr", read_only=True),
                     display="a.zarr")
    arr = Location(store).array_from(_metadata(store))
    selections = [(slice(None), slice(None), slice(None)), (3, slice(5, 37), slice(0, 23)),
                  (slice(1, 5), 12, slice(7, 9)), ((0, 1, 2, 3, 4), slice(0, 37), 22)]
    direct = read_boxes([Box.of(arr, s, "a") for s in selections])
    monkeypatch.setattr(boxes._Direct, "of", classmethod(lambda cls, array: None))
    by_zarr = read_boxes([Box.of(arr, s, "a") for s in selections])
    for s, d, z in zip(selections, direct, by_zarr):
        assert np.array_equal(d, z), s
        assert np.array_equal(d, expected[tuple(list(c) if isinstance(c, tuple) else c
                                                for c in s)]), s


def _metadata(store: KitStore):
    return run_sync(Location(store).array_metadata())


def test_a_corrupt_chunk_is_a_typed_error_naming_the_array(tmp_path):
    array = zarr.create_array(tmp_path / "a.zarr", shape=(8, 8), chunks=(8, 8), dtype="<u2",
                              zarr_format=2, compressors=numcodecs.Blosc())
    array[...] = 1
    (tmp_path / "a.zarr" / "0.0").write_bytes(b"not blosc at all")
    store = KitStore(zarr.storage.LocalStore(tmp_path / "a.zarr", read_only=True),
                     display="a.zarr")
    arr = Location(store).array_from(_metadata(store))
    with pytest.raises(kit.errors.InvalidData, match="a chunk is truncated or corrupt"):
        read_boxes([Box.of(arr, (slice(0, 8), slice(0, 8)), "a.zarr/level")])


def test_equal_documents_share_a_parse_but_not_their_raw_attributes(plate_dir, monkeypatch):
    monkeypatch.setattr(nodes_base, "_METAS", {})
    plate = kit.open(plate_dir)
    a, b = (run_sync(load_node(plate.location.child(p))) for p in ("A/01", "B/02"))
    assert a.meta.well == b.meta.well and len(nodes_base._METAS) >= 1
    a.attrs["well"]["images"].append({"path": "x"})
    assert b.attrs["well"]["images"][-1]["path"] != "x"


def test_a_document_read_with_warnings_warns_at_each_place(plate_dir, monkeypatch):
    """A parse that warned is not reused: each group with the document says so itself."""
    monkeypatch.setattr(nodes_base, "_METAS", {})
    attrs = json.loads((plate_dir / "A" / "01" / "0" / ".zattrs").read_text())
    attrs["omero"]["rdefs"] = 3  # read with a warning: "must be an object"
    raw = json.dumps(attrs).encode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metas = [group_meta(GroupDoc(json.loads(raw), 2, raw), where)
                 for where in ("here/one", "here/two")]
    said = [str(w.message) for w in caught]
    assert any("here/one" in s and "rdefs" in s for s in said)
    assert any("here/two" in s and "rdefs" in s for s in said)
    assert "here/two" in metas[1].warnings[0] and not nodes_base._METAS


@pytest.mark.parametrize("n_in, n_out", [(64, 40), (110, 107), (15, 11), (300, 37), (97, 3),
                                         (1000, 7)])
def test_resize_is_the_block_mean_of_each_bin(n_in, n_out):
    """Every output pixel is the mean of its bin, the last one too (the float edge of
    107 * (110 / 107) fell short of 110, and the last bin's mean was a sum)."""
    rng = np.random.default_rng(n_in)
    a = rng.random((n_in, 5, 3)).astype(np.float32)
    out = resize(a, n_out, 5)
    edges = [i * n_in // n_out for i in range(n_out + 1)]
    means = np.stack([a[edges[i]:edges[i + 1]].astype(np.float64).mean(axis=0)
                      for i in range(n_out)]).astype(np.float32)
    assert out.dtype == np.float32
    assert np.allclose(out, means, rtol=1e-6, atol=1e-7)


def test_limit_hands_slots_out_first_come_first_served_and_passes_on_a_cancelled_one():
    async def scenario() -> list[str]:
        limit, order = Limit(1), []
        await limit.acquire()  # held

        async def user(name: str) -> None:
            await limit.acquire()
            order.append(name)
            limit.release()

        first = asyncio.ensure_future(user("first"))
        doomed = asyncio.ensure_future(user("doomed"))
        last = asyncio.ensure_future(user("last"))
        await asyncio.sleep(0)
        doomed.cancel()  # waiting: its place is skipped
        await asyncio.sleep(0)
        limit.release()
        await asyncio.gather(first, last)
        assert limit.free == 1
        return order

    assert asyncio.run(scenario()) == ["first", "last"]


def test_the_collector_pauses_while_a_plate_is_fetched_and_is_left_as_found(
        plate_dir, monkeypatch):
    import gc

    from kit.render import overview

    seen: list[bool] = []
    fetch = overview.fetch_plate

    async def watching(*args, **kwargs):
        seen.append(gc.isenabled())
        return await fetch(*args, **kwargs)

    monkeypatch.setattr(overview, "fetch_plate", watching)
    assert gc.isenabled()
    kit.plate_overview(kit.open(plate_dir), progress=False)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        kit.plate_overview(kit.open(plate_dir), progress=False)
        assert not gc.isenabled()  # off as it was: not switched on behind the caller's back
    finally:
        gc.enable()
