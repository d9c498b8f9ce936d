"""The relay in front of each kind of upstream the kit reads (HTTP Basic and Bearer, S3 on
moto, DANDI refs with expiring presigned redirects), and the secrets rule: no upstream
credential, presigned signature or other student's token in any byte a student receives
(bodies and headers, errors and the status page included) or in the access log."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import zarr
from relay_helpers import (
    CLASS,
    TOKENS,
    UP_PASSWORD,
    UP_TOKEN,
    RecordingProxy,
    bearer,
    dandi_refs_document,
    request,
    start_relay,
)

import kit
from kit.demo.dandi import DandiArchive
from kit.demo.generate import write_plate
from kit.demo.server import DemoServer
from kit.relay import ClassPassword, StudentTokens

pytest_plugins = ["relay_fixtures"]
pytestmark = pytest.mark.usefixtures("relay_clean")


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plate(tmp_path_factory.mktemp("relay-up") / "plate.zarr", version="0.4",
                       rows="B", image_kwargs={"tables": True})


def _same_images(opened, local_root: Path) -> None:
    local = kit.open(local_root)
    for path, image in opened.images().items():
        np.testing.assert_array_equal(image.read(0), local.images()[path].read(0))


@pytest.mark.parametrize("kind", ["basic", "bearer"])
def test_http_upstream_with_basic_or_bearer(plate, serve, kind):
    up = serve(plate, auth=kind, password=UP_PASSWORD if kind == "basic" else None,
               token=UP_TOKEN if kind == "bearer" else None)
    log = io.StringIO()
    relay = start_relay(up.url, up.credential, students=ClassPassword(*CLASS), log=log)
    try:
        assert relay.wait_consolidated(60)
        opened = kit.open(relay.url, auth=kit.BasicAuth(*CLASS))
        _same_images(opened, plate)
        assert up.count(lambda r: not r.authorization) == 0  # the relay always logged in
    finally:
        relay.stop()


def test_no_upstream_secret_in_any_byte_a_student_receives(plate, serve):
    up = serve(plate, auth="basic", password=UP_PASSWORD)
    basic_header = base64.b64encode(f"demo:{UP_PASSWORD}".encode())
    log = io.StringIO()
    relay = start_relay(up.url, up.credential, students=StudentTokens(TOKENS), log=log)
    wrong = start_relay(up.url, kit.BasicAuth("demo", UP_PASSWORD + "-old"),
                        students=StudentTokens(TOKENS), log=log, consolidate=False)
    try:
        assert relay.wait_consolidated(60)
        alice = bearer(TOKENS["alice"])
        with RecordingProxy(relay.url) as proxy, RecordingProxy(wrong.url) as proxy_wrong:
            # a lesson, as a kit user does it
            opened = kit.open(proxy.url, auth=kit.BearerToken(TOKENS["alice"]))
            image = opened.well("B/03").images["0"]
            assert kit.preview(image, max_size=128).size
            assert len(image.tables["nuclei_features"].to_pandas())
            # and every other answer a student can provoke
            answers = [request(proxy.url, path, headers) for path, headers in [
                ("/B/03/0/0/9/9/9/9", alice), ("/../x", alice), ("/%2e%2e/x", alice),
                ("/.zattrs", bearer(TOKENS["bob"] + "x")), ("/.zattrs", {}),
                ("/_relay/status", alice), ("/_relay/status?format=json", alice),
                ("/.zattrs", {**alice, "Range": "bytes=999999-"}),
            ]]
            answers.append(request(proxy_wrong.url, "/.zattrs", alice))  # upstream 401
            statuses = sorted(a.status for a in answers)
            up.stop()  # upstream down: a key nobody asked for yet
            down = request(proxy.url, "/B/03/0/1/0/0/0/1", alice)
            received = bytes(proxy.received) + bytes(proxy_wrong.received)
        assert statuses == [200, 200, 400, 400, 401, 401, 404, 416, 502]
        assert down.status in (502, 504)
        for secret in (UP_PASSWORD.encode(), basic_header, TOKENS["bob"].encode(),
                       TOKENS["alice"].encode()):
            assert secret not in received, secret
        access_log = log.getvalue()
        assert " alice GET " in access_log and " bob" not in access_log
        for secret in (UP_PASSWORD, basic_header.decode(), *TOKENS.values()):
            assert secret not in access_log
    finally:
        relay.stop()
        wrong.stop()


def test_s3_upstream_on_moto(tmp_path):
    pytest.importorskip("moto")
    from s3_server import plate_in_bucket

    with plate_in_bucket(tmp_path, "class-bucket", rows="B", columns=("03",),
                         image_kwargs={"axes": "cyx", "shape": (2, 32, 32), "levels": 2}) as (
                             s3, local):
        auth = kit.S3Credentials(key=s3.key, secret=s3.secret, endpoint_url=s3.endpoint)
        log = io.StringIO()
        relay = start_relay("s3://class-bucket/plate.zarr", auth,
                            students=ClassPassword(*CLASS), log=log)
        try:
            assert relay.wait_consolidated(60), relay.stats.consolidated
            with RecordingProxy(relay.url) as proxy:
                opened = kit.open(proxy.url, auth=kit.BasicAuth(*CLASS))
                _same_images(opened, local)
                received = bytes(proxy.received)
            assert s3.secret.encode() not in received and s3.key.encode() not in received
            assert s3.secret not in log.getvalue()
        finally:
            relay.stop()


def test_dandi_refs_upstream_with_expiring_presigned_redirects(tmp_path):
    key = "dandi-api-key-77"
    with DandiArchive(token=key, lifetime=3) as archive:
        document = dandi_refs_document(tmp_path, archive)
        credential = kit.DandiToken(key, instance=archive.api_url)
        log = io.StringIO()
        relay = start_relay(str(document), credential, students=ClassPassword(*CLASS), log=log)
        try:
            with RecordingProxy(relay.url) as proxy:
                opened = kit.open(proxy.url, auth=kit.BasicAuth(*CLASS))
                for level in (0, 1):
                    stored = zarr.open_array(str(tmp_path / "img.zarr" / str(level)), mode="r")
                    np.testing.assert_array_equal(opened.read(level), stored[:])
                received = bytes(proxy.received)
        finally:
            relay.stop()
        assert key.encode() not in received and b"X-Amz-Signature" not in received
        assert b"Location" not in received and str(archive.s3_port).encode() not in received
        assert all(h.authorization is None for h in archive.hits if h.origin == "s3")
        assert archive.count("api", status=302) >= 1  # the relay, not the student, resolved it
        assert key not in log.getvalue()


def test_upstream_with_a_latency_still_coalesces_a_burst(plate):
    """A burst of students on a cold relay: each chunk crosses to the upstream once."""
    with DemoServer(plate, latency=0.2) as up:
        relay = start_relay(up.url, None, students=StudentTokens(TOKENS), consolidate=False)
        try:
            import concurrent.futures

            key = "/B/03/0/1/0/0/0/0"
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                bodies = list(pool.map(
                    lambda i: request(relay.url, key, bearer(TOKENS["alice" if i % 2 else "bob"]))
                    .body, range(16)))
            assert len(set(bodies)) == 1 and bodies[0] == (plate / key[1:]).read_bytes()
            assert up.count(lambda r: r.path == key) == 1
        finally:
            relay.stop()
