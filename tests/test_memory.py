"""A preview of an image far larger than RAM reads one coarse level and stays small.

The image is 200,000 x 200,000 uint16 at level 0 (80 GB), a zarr v3 / NGFF 0.5 pyramid of
1024 x 1024 chunks halving down to 390 px. Only the metadata, the three coarsest levels and a
few level-0 chunks are written, so almost nothing is on disk. ``kit.preview`` runs in a fresh
subprocess whose peak RSS (VmHWM / ru_maxrss) is the measurement.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import zarr

import kit

pytestmark = pytest.mark.slow

SIDE = 200_000
CHUNK = 1024
LIMIT_MB = 500


def write_sparse_pyramid(path) -> list[tuple[int, int]]:
    group = zarr.open_group(path, mode="w", zarr_format=3)
    shapes, side = [], SIDE
    while side >= 390:
        shapes.append((side, side))
        side //= 2
    datasets = []
    for i, shape in enumerate(shapes):
        group.create_array(str(i), shape=shape, chunks=(CHUNK, CHUNK), dtype="uint16",
                           fill_value=0, dimension_names=("y", "x"))
        datasets.append({"path": str(i), "coordinateTransformations": [
            {"type": "scale", "scale": [0.1 * 2 ** i, 0.1 * 2 ** i]}]})
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "name": "huge", "datasets": datasets,
        "axes": [{"name": "y", "type": "space", "unit": "micrometer"},
                 {"name": "x", "type": "space", "unit": "micrometer"}]}]}
    for i in range(len(shapes) - 3, len(shapes)):  # the coarse levels, in full
        h, w = shapes[i]
        yy, xx = np.mgrid[0:h, 0:w]
        group[str(i)][...] = (1000 + 500 * np.sin(yy / 20) * np.cos(xx / 30)).astype(np.uint16)
    level0 = group["0"]
    for y, x in ((0, 0), (SIDE // 2, SIDE // 2), (SIDE - CHUNK, SIDE - CHUNK)):
        level0[y:y + CHUNK, x:x + CHUNK] = 7  # a few chunks: the rest is "missing" (fill 0)
    return shapes


PREVIEW = """
    import json, resource, sys, time
    import kit
    t0 = time.perf_counter()
    image = kit.open(sys.argv[1])
    rgb = kit.preview(image, max_size=512)
    seconds = time.perf_counter() - t0
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(json.dumps({"shape": list(rgb.shape), "level": image.pick_level(512),
                      "seconds": seconds, "vmhwm_kb": hwm,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    path = tmp_path_factory.mktemp("huge") / "huge.zarr"
    shapes = write_sparse_pyramid(path)
    on_disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert on_disk < 20 * 2**20  # nothing large is written
    return path, shapes


def test_preview_of_a_200k_image_stays_under_500_mb(huge):
    path, shapes = huge
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(PREVIEW), str(path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["shape"] == [512, 512, 3]
    assert shapes[out["level"]] == (781, 781)  # the coarsest level covering 512 px
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork+exec, so a child of a pytest
    # process that has grown (the full suite) reports the parent's peak, not its own
    peak_mb = out["vmhwm_kb"] / 1024
    assert peak_mb < LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
    # the parent's view of its children agrees (ru_maxrss is the largest child so far)
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert children_mb >= peak_mb * 0.99 or before / 1024 >= LIMIT_MB


def test_level0_of_a_200k_image_opens_lazily(huge):
    """``to_dask(0)`` is a lazy 196 x 196-chunk array (38,416 tasks); building it reads only
    level 0's metadata, and slicing one chunk of it reads one chunk."""
    path, _ = huge
    image = kit.open(path)
    assert image.levels[0].shape == (SIDE, SIDE)
    arr = image.to_dask(0)
    assert arr.shape == (SIDE, SIDE)
    assert arr.numblocks == (196, 196) and arr.npartitions == 196 * 196
    corner = arr[:CHUNK, :CHUNK].compute()
    assert (corner == 7).all()
    middle = arr[SIDE // 2: SIDE // 2 + 4, :4].compute()
    assert (middle == 0).all()  # a missing chunk is the fill value
