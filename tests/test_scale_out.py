"""docs/scale-out.md, run: a per-well statistic over a whole Bearer-protected remote plate on a
dask.distributed LocalCluster of worker processes, with a progress bar.

tests/test_distributed.py covers the real plate's pickling and its level-3 means; this is the
generated, whole-plate version: every field of every well, grouped per well, with progress,
the token nowhere in task names, keys or reprs, and results equal to the single-process run.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import kit
from kit.demo.generate import write_plate
from kit.demo.server import DemoServer

pytestmark = pytest.mark.slow

TOKEN = "scale-Out-Bearer-7f3c9a"
ROWS, COLUMNS, FIELDS = "ABC", ("01", "02", "03", "04"), 2


def per_well_means(plate) -> dict:
    """{well: lazy mean of every pixel of its fields at level 0, per channel} (the doc's code)."""
    import dask.array as da

    wells: dict[str, list] = {}
    for key, image in plate.images().items():
        well = key.rsplit("/", 1)[0]
        wells.setdefault(well, []).append(image.to_dask(0))
    # axes c, z, y, x: reduce everything but c, over all fields of the well
    return {well: da.stack(arrays).mean(axis=(0, 2, 3, 4)) for well, arrays in wells.items()}


@pytest.fixture(scope="module")
def served_plate(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    write_plate(root / "screen.zarr", version="0.5", rows=ROWS, columns=COLUMNS, fields=FIELDS,
                image_kwargs={"shape": (2, 2, 256, 256), "chunks": (1, 1, 128, 128),
                              "levels": 2, "labels": ()})
    with DemoServer(root, auth="bearer", token=TOKEN) as srv:
        yield srv


def test_per_well_statistic_on_a_process_cluster_with_progress(served_plate, capsys):
    distributed = pytest.importorskip("distributed")
    srv = served_plate
    plate = kit.open(srv.url + "screen.zarr", auth=kit.BearerToken(TOKEN))
    lazy = per_well_means(plate)
    assert len(lazy) == len(ROWS) * len(COLUMNS)
    expected = {w: a.compute(scheduler="sync") for w, a in lazy.items()}

    shown = repr(plate) + repr(lazy) + "".join(repr(im) for im in plate.images().values())
    graph_keys = "".join(str(k) for a in lazy.values() for k in a.__dask_graph__())
    assert TOKEN not in shown and TOKEN not in graph_keys
    assert TOKEN.encode() in pickle.dumps(lazy["A/01"])  # the workers need it to read

    srv.reset_log()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        futures = dict(zip(lazy, client.compute(list(lazy.values()))))  # {well: Future}
        distributed.progress(list(futures.values()), notebook=False)
        result = {w: f.result() for w, f in futures.items()}
        future_text = repr(futures) + "".join(str(f.key) for f in futures.values())
        prefixes = client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        task_keys = client.run_on_scheduler(
            lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())

    bar = capsys.readouterr().out
    assert "100% Completed" in bar  # the progress bar ran to the end
    assert len(worker_pids) == 2
    assert TOKEN not in future_text and TOKEN not in str(prefixes) and TOKEN not in str(task_keys)
    assert any(p.startswith("kit-") for p in prefixes)  # the kit's readable task names
    for well, value in expected.items():
        np.testing.assert_allclose(result[well], value, rtol=1e-12)
    # the workers read every chunk of level 0 themselves, with the token, never refused
    chunk_requests = [r for r in srv.requests if not r.path.endswith(("zarr.json",))]
    assert len(chunk_requests) == len(ROWS) * len(COLUMNS) * FIELDS * 2 * 2 * 4
    assert all(r.authorization and r.status == 200 for r in srv.requests)
