"""Nodes and their dask graphs pickle and compute on dask.distributed worker processes against
the authenticated server; the secret travels inside the pickle only, never in a repr or key."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import kit
from kit.demo.server import DemoServer

PLATE_NAME = "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"
TOKEN = "distributed-Secret-Token-42"

pytestmark = pytest.mark.slow


def test_per_well_statistic_on_local_cluster(real_plate):
    distributed = pytest.importorskip("distributed")
    with DemoServer(real_plate.parent, auth="bearer", token=TOKEN) as srv:
        plate = kit.open(srv.url + PLATE_NAME, auth=kit.BearerToken(TOKEN))
        arrays = {key: image.to_dask(3) for key, image in plate.images().items()}
        expected = {key: float(a.mean().compute(scheduler="sync")) for key, a in arrays.items()}

        shown = repr(plate) + repr(arrays) + "".join(repr(im) for im in plate.images().values())
        keys = "".join(str(k) for a in arrays.values() for k in a.__dask_graph__())
        assert TOKEN not in shown and TOKEN not in keys
        assert TOKEN.encode() in pickle.dumps(arrays["B/03/0"])  # workers need it to read

        with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            means = {key: a.mean() for key, a in arrays.items()}
            result = client.compute(means, sync=True)
            task_names = str(client.run_on_scheduler(
                lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
            node = client.submit(lambda p: sorted(p.images()), plate).result()
        assert node == ["B/03/0", "B/05/0"]
        assert TOKEN not in task_names
        for key in expected:
            assert result[key] == pytest.approx(expected[key])
        assert all(r.authorization for r in srv.requests)
        assert not any(r.status == 401 for r in srv.requests)
        assert np.isfinite(list(result.values())).all()
