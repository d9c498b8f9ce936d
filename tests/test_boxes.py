"""kit.io.boxes: boxes of zarr arrays read chunk by chunk, all at once, on the kit loop.

The oracle is zarr-python reading the whole array and numpy indexing it; the store log says
which chunks were read (each touched chunk exactly once, nothing else).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image
from kit.io.boxes import Box, read_boxes
from kit.io.kitstore import KitStore, is_metadata_key

SHAPE = (4, 3, 37, 50)  # c z y x
CHUNKS = (2, 1, 10, 16)


@pytest.fixture(params=["0.4", "0.5", "0.5-sharded"], scope="module")
def image_path(request, tmp_path_factory):
    version, _, sharded = request.param.partition("-")
    return write_image(tmp_path_factory.mktemp("boxes") / "img.zarr", version=version,
                       shape=SHAPE, chunks=CHUNKS, levels=2, labels=(), sharded=bool(sharded),
                       seed=3)


@pytest.fixture
def chunk_reads(monkeypatch):
    """Keys of chunk reads that reached the store, in order."""
    log: list[str] = []
    original = KitStore._limited_get

    async def recording(self, key, *args, **kwargs):
        if not is_metadata_key(key):
            log.append(key)
        return await original(self, key, *args, **kwargs)

    monkeypatch.setattr(KitStore, "_limited_get", recording)
    return log


def expected(full: np.ndarray, selection) -> np.ndarray:
    """numpy's answer: ints drop an axis, slices keep a range, tuples pick (outer indexing)."""
    out, axis = full, 0
    for index in selection:
        if isinstance(index, tuple):
            out = np.take(out, list(index), axis=axis)
            axis += 1
        elif isinstance(index, slice):
            out = out[(slice(None),) * axis + (index,)]
            axis += 1
        else:
            out = np.take(out, index, axis=axis)
    return out


SELECTIONS = [
    (0, 0, slice(None), slice(None)),
    ((0, 2, 3), 1, slice(5, 33), slice(3, 49)),
    ((3, 0), -1, slice(None), 7),                       # picks out of order, a negative int
    ((1, 1), 0, slice(9, 11), slice(0, 50)),            # the same channel twice
    ((0, 3), (2, 0), slice(0, 5), slice(15, 17)),       # two picked axes: outer, not paired
    (slice(1, 3), 2, slice(-12, None), slice(None, -40)),
    (0, 0, slice(5, 5), slice(None)),                   # empty
]


@pytest.mark.parametrize("selection", SELECTIONS, ids=range(len(SELECTIONS)))
def test_a_box_equals_numpy_indexing_of_the_zarr_array(image_path, selection):
    image = kit.open(image_path)
    full = zarr.open_array(image_path / "0", mode="r")[...]
    (data,) = read_boxes([image.box(0, selection)])
    want = expected(full, selection)
    assert data.shape == want.shape and data.dtype == want.dtype
    np.testing.assert_array_equal(data, want)


def test_every_touched_chunk_is_read_once_and_no_other(image_path, chunk_reads):
    image = kit.open(image_path)
    lv = image.levels[1]
    # channels 0 and 1 share a c-chunk, 3 is in the other; y 5:33 touches chunks 0-3, x 3:40 0-2
    box = image.box(0, ((0, 1, 3), 2, slice(5, 33), slice(3, 40)))
    read_boxes([box, image.box(1, (0, 0, slice(None), slice(None)))])
    level0 = [k for k in chunk_reads if k.startswith("0/")]
    level1 = [k for k in chunk_reads if k.startswith("1/")]
    assert len(level0) + len(level1) == len(chunk_reads)
    inner0 = 2 * 4 * 3  # c-chunks x y-chunks x x-chunks
    inner1 = -(-lv.shape[2] // lv.chunks[2]) * -(-lv.shape[3] // lv.chunks[3])
    if image.level_array(0).shards is None:
        assert max(Counter(chunk_reads).values()) == 1
        assert (len(level0), len(level1)) == (inner0, inner1)
    else:  # each touched shard: its index once, then each needed inner chunk once
        assert len(level0) == len(set(level0)) + inner0
        assert len(level1) == len(set(level1)) + inner1


def test_many_boxes_of_many_arrays_in_one_call(tmp_path):
    arrays = []
    for k in range(5):
        z = zarr.create_array(tmp_path / f"a{k}.zarr", shape=(30, 40), chunks=(7, 9), dtype="int32")
        z[...] = np.arange(1200, dtype="int32").reshape(30, 40) * (k + 1)
        arrays.append(z)
    boxes = [Box.of(z.async_array, (slice(k, 20 + k), slice(None)), f"a{k}")
             for k, z in enumerate(arrays)]
    results = read_boxes(boxes)
    for k, (z, got) in enumerate(zip(arrays, results)):
        np.testing.assert_array_equal(got, z[k:20 + k, :])


def test_progress_is_reported_in_the_callers_thread_and_ends_complete(image_path):
    image = kit.open(image_path)
    image.levels
    box = image.box(0, ((0, 1, 2, 3), 1, slice(None), slice(None)))
    calls: list[tuple[int, int, int]] = []
    read_boxes([box], progress=lambda done, total: calls.append(
        (done, total, threading.get_ident())))
    assert calls, "progress was never called"
    done, total, _ = calls[-1]
    assert done == total == len(box.pieces()) > 1
    assert {t for _, _, t in calls} == {threading.get_ident()}
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))  # never goes back


@pytest.mark.parametrize("selection, match", [
    ((0, 0, slice(None)), "3 indices for an array of rank 4"),
    ((4, 0, slice(None), slice(None)), "index 4 out of range"),
    (((0, -5), 0, slice(None), slice(None)), "index -5 out of range"),
    ((0, 0, slice(None, None, 2), slice(None)), "contiguous ranges, not step 2"),
])
def test_bad_selections_name_the_array(image_path, selection, match):
    image = kit.open(image_path)
    with pytest.raises(IndexError, match=match) as err:
        image.box(0, selection)
    assert "img.zarr/0" in str(err.value)


def test_a_truncated_chunk_is_invalid_data_naming_the_array(tmp_path):
    path = write_image(tmp_path / "img.zarr", shape=SHAPE, chunks=CHUNKS, levels=1, labels=())
    chunk = next(p for p in sorted((path / "0").rglob("*"))
                 if p.is_file() and not p.name.startswith("."))
    chunk.write_bytes(chunk.read_bytes()[:7])
    image = kit.open(path)
    with pytest.raises(kit.errors.InvalidData, match=r"img.zarr/0.*truncated or corrupt"):
        read_boxes([image.box(0, (slice(None), slice(None), slice(None), slice(None)))])


def test_to_dask_with_bigger_blocks_reads_the_same_level(image_path):
    image = kit.open(image_path)
    full = zarr.open_array(image_path / "0", mode="r")[...]
    storage = image.to_dask(0)
    whole = image.to_dask(0, chunks=-1)
    planes = image.to_dask(0, chunks=(1, 1, -1, -1))
    assert storage.chunksize == image.levels[0].chunks
    assert whole.numblocks == (1, 1, 1, 1)
    assert planes.numblocks == (4, 3, 1, 1)
    assert len({storage.name, whole.name, planes.name}) == 3  # no dask key collisions
    for array in (storage, whole, planes):
        np.testing.assert_array_equal(array.compute(), full)


def test_image_read_is_the_level_or_a_box_of_it(image_path):
    image = kit.open(image_path)
    for level in (0, 1):
        full = zarr.open_array(image_path / str(level), mode="r")[...]
        np.testing.assert_array_equal(image.read(level), full)
    full = zarr.open_array(image_path / "0", mode="r")[...]
    np.testing.assert_array_equal(image.read(0, [[2, 0], 1, slice(3, 30), slice(None)]),
                                  full[[2, 0], 1, 3:30, :])
    with pytest.raises(IndexError, match="level 5 does not exist"):
        image.read(5)
