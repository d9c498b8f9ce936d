"""What previews read over HTTP: the real authenticated DemoServer's request log shows only the
chunks of the chosen level that intersect the view, all in flight together (one round trip)
after the metadata chain."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path

import pytest

import kit
from kit.demo.generate import write_image

from test_render_support import (
    barrier_server,
    batches,
    chunk_requests,
    expected_chunks,
    is_metadata,
)

LATENCY = 0.05


@contextmanager
def no_gc_pauses():
    """A full garbage collection can stall this process (client and server) for ~0.1 s, longer
    than the injected latency, which would blur arrival times; it is no round trip."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    write_image(root / "img.zarr", axes="czyx", shape=(3, 4, 256, 256), chunks=(1, 1, 64, 64),
                levels=3, labels=("nuclei",))
    with barrier_server(root, auth="basic", latency=LATENCY) as srv:
        yield srv


@pytest.fixture
def image(served):
    image = kit.open(served.url + "img.zarr", auth=served.credential)
    kit.preview(image, max_size=8)  # the level documents, once
    served.reset_log()
    return image


@pytest.mark.parametrize("max_size,level", [(300, 0), (200, 0), (128, 1), (100, 1), (64, 2),
                                            (20, 2)])
def test_only_the_chunks_of_the_chosen_level_are_read(served, image, max_size, level):
    lv = image.levels[level]
    want = expected_chunks(lv.shape, lv.chunks, {0: [0, 1, 2], 1: [lv.shape[1] // 2]})
    served.expect(len(want))
    rgb = kit.preview(image, max_size=max_size)
    assert max(rgb.shape[:2]) == min(max_size, 256)
    assert chunk_requests(served.requests, "img.zarr") == {str(level): want}
    assert not any(is_metadata(r.path) for r in served.requests)  # documents were cached
    assert len(served.requests) == len(want)  # each chunk once, nothing else
    assert all(r.status == 200 and r.authorization for r in served.requests)
    assert served.timed_out == 0  # all of them in flight together: one round trip


def test_a_channel_and_a_plane_read_only_their_chunks(served, image):
    served.expect(4)
    kit.preview(image, max_size=128, channels=["mCherry"], z=1)
    lv = image.levels[1]
    assert image.channel_names[2] == "mCherry"
    want = expected_chunks(lv.shape, lv.chunks, {0: [2], 1: [1]})
    assert len(want) == 4
    assert chunk_requests(served.requests, "img.zarr") == {"1": want}
    assert served.timed_out == 0


def test_labels_read_their_matching_level_in_the_same_batch(served, image):
    lv = image.levels[1]
    image_chunks = expected_chunks(lv.shape, lv.chunks, {0: [0, 1, 2], 1: [2]})
    served.expect(len(image_chunks) + 4)
    kit.preview(image, max_size=128, labels="nuclei")
    docs = [r for r in served.requests if is_metadata(r.path)]
    assert len({r.path for r in docs}) == len(docs)  # no document twice
    lab = image.labels["nuclei"].levels[1]
    assert chunk_requests(served.requests, "img.zarr") == {"1": image_chunks}
    assert chunk_requests(served.requests, "img.zarr/labels/nuclei") == {
        "1": expected_chunks(lab.shape, lab.chunks, {0: [2]})}
    assert served.timed_out == 0  # image and label chunks in one round trip


# -- the real plate: round trips -------------------------------------------------------------------

def _real_plate(real_plate: Path, labels: bool, n_chunks: int):
    with barrier_server(real_plate, auth="basic", latency=LATENCY) as srv:
        srv.expect(n_chunks)
        with no_gc_pauses():
            image = kit.open(srv.url + "B/03/0", auth=srv.credential)
            rgb = kit.preview(image, max_size=512, labels=labels or None)
        return image, rgb, list(srv.requests), srv.timed_out


def _rounds(requests):
    rounds = batches(requests, LATENCY)
    docs = [b for b in rounds if all(is_metadata(r.path) for r in b)]
    chunks = [b for b in rounds if not all(is_metadata(r.path) for r in b)]
    return rounds, docs, chunks


def test_real_plate_preview_is_the_metadata_chain_plus_one_batch(real_plate):
    image, rgb, requests, timed_out = _real_plate(real_plate, labels=False, n_chunks=3)
    level = image.levels[image.pick_level(512)]
    assert level.path == "3" and rgb.shape == (216, 512, 3)
    want = expected_chunks(level.shape, level.chunks, {0: [0, 1, 2], 1: [0]})
    assert chunk_requests(requests, "B/03/0") == {"3": want}
    docs = [r for r in requests if is_metadata(r.path)]
    assert len({r.path for r in docs}) == len(docs)
    assert len(requests) == len(docs) + len(want)  # documents needed + chunks in view, no more
    assert timed_out == 0
    rounds, doc_rounds, chunk_rounds = _rounds(requests)
    assert len(chunk_rounds) == 1 and rounds[-1] is chunk_rounds[0]
    assert all(not is_metadata(r.path) for r in chunk_rounds[0])
    assert len(doc_rounds) <= 2  # the image group's documents, then its level arrays
    assert (rgb > 0).any()


def test_real_plate_labels_at_coarser_resolution(real_plate):
    image, _, requests, timed_out = _real_plate(real_plate, labels=True, n_chunks=4)
    label = image.labels["nuclei"]
    assert label.levels[0].scale[-1] == pytest.approx(4 * image.levels[0].scale[-1])
    lab = label.levels[1]  # 1.3 µm, the pixel size of image level 3
    assert chunk_requests(requests, "B/03/0/labels/nuclei") == {
        "1": expected_chunks(lab.shape, lab.chunks, {0: [0]})}
    assert timed_out == 0  # 3 channel chunks and the label chunk together
    _, doc_rounds, chunk_rounds = _rounds(requests)
    assert len(chunk_rounds) == 1 and len(chunk_rounds[0]) == 4
    # open: the image group; then the label chain (labels group, label group, label levels)
    # runs beside the image's level documents; then one batch of chunks
    assert len(doc_rounds) <= 4
    assert any(r.path.endswith("labels/.zattrs") for r in doc_rounds[1])
