"""How ``CloudStore`` reads against moto's real S3 server: every byte-range form zarr asks for
(one obstore call each: a whole object and an offset are a range to the end), an empty object,
a missing key; and a plate overview over S3 makes exactly the requests it makes over HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.io.loop import run_sync
from kit.io.objstore import cloud_store

pytestmark = [pytest.mark.usefixtures("no_machine_credentials"), pytest.mark.timeout(180)]

BODY = b"0123456789"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from s3_server import plate_in_bucket

    with plate_in_bucket(tmp_path_factory.mktemp("reads"), "reads-bucket", rows="AB",
                         columns=("1", "2"),
                         image_kwargs={"axes": "cyx", "shape": (2, 32, 32), "levels": 2}) as found:
        server, _ = found
        server.client().put_object(Bucket="reads-bucket", Key="plate.zarr/ten", Body=BODY)
        server.client().put_object(Bucket="reads-bucket", Key="plate.zarr/empty", Body=b"")
        yield found


def auth(server) -> kit.S3Credentials:
    return kit.S3Credentials(key=server.key, secret=server.secret, endpoint_url=server.endpoint)


@pytest.mark.parametrize("key, byte_range, expected", [
    ("ten", None, BODY),
    ("ten", OffsetByteRequest(3), BODY[3:]),
    ("ten", OffsetByteRequest(10), b""),
    ("ten", RangeByteRequest(2, 5), BODY[2:5]),
    ("ten", SuffixByteRequest(3), BODY[-3:]),
    ("empty", None, b""),
    ("empty", OffsetByteRequest(0), b""),
    ("absent", None, None),
])
def test_every_byte_range_form(s3, key, byte_range, expected):
    server, _ = s3
    store = cloud_store("s3://reads-bucket/plate.zarr", auth(server))
    got = run_sync(store.get(key, default_buffer_prototype(), byte_range))
    assert (None if got is None else got.to_bytes()) == expected
    assert store.stats.requests >= 1


def test_overview_makes_the_requests_it_makes_over_http(s3):
    from kit.demo.server import DemoServer

    server, local = s3
    over_s3 = kit.open("s3://reads-bucket/plate.zarr", auth=auth(server))
    mosaic = kit.plate_overview(over_s3, progress=False)
    with DemoServer(local.parent) as http:
        over_http = kit.open(http.url + "plate.zarr")
        np.testing.assert_array_equal(kit.plate_overview(over_http, progress=False), mosaic)
        over_http_requests = http.count()
    assert over_s3.location.store.inner.stats.requests == over_http_requests > 0
