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


def test_a_host_that_ignores_ranges_still_reads_whole_objects():
    """An S3-compatible host answering a range with 200 and the whole object: object_store
    refuses that answer to a range; the kit then reads the object with a plain GET."""
    import threading
    from email.utils import formatdate

    from aiohttp import web
    from helpers import free_port

    seen: list[str | None] = []

    async def whole(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Range"))
        return web.Response(body=BODY, headers={"ETag": '"e"',
                                                "Last-Modified": formatdate(usegmt=True)})

    port = free_port()
    ready = threading.Event()
    loop_box: list = []

    def serve() -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        loop_box.append(loop)
        app = web.Application()
        app.router.add_get("/{tail:.*}", whole)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        store = cloud_store("s3://plain-bucket/data", kit.S3Credentials(
            anon=True, endpoint_url=f"http://127.0.0.1:{port}"))
        got = run_sync(store.get("ten", default_buffer_prototype()))
        assert got is not None and got.to_bytes() == BODY
        got = run_sync(store.get("ten", default_buffer_prototype(), OffsetByteRequest(4)))
        assert got is not None and got.to_bytes() == BODY[4:]
        assert seen[0] is not None and None in seen  # a range first, then the plain GET
    finally:
        loop_box[0].call_soon_threadsafe(loop_box[0].stop)
        thread.join(10)
