"""The relay on the persistent cache (``--cache DIR``): a relay restarted with the upstream
stopped serves a student's whole lesson from disk; no upstream secret or presigned signature in
any file of the cache folder; a bad upstream answer (401, 5xx) is not cached."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from relay_helpers import CLASS, UP_PASSWORD, basic, dandi_refs_document, request, start_relay

import kit
from kit.demo.dandi import DandiArchive
from kit.demo.generate import write_plate
from kit.demo.server import DemoServer
from kit.relay.memcache import HOT_BYTES

pytest_plugins = ["relay_fixtures"]
pytestmark = pytest.mark.usefixtures("relay_clean")
CHUNK = "B/03/0/0/0/0/0/0"


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plate(tmp_path_factory.mktemp("relay-cache") / "plate.zarr", version="0.4",
                       rows="B", image_kwargs={"tables": True})


def _lesson(url: str) -> dict:
    """What a student does: open the plate, preview a field, read a table, open a second well."""
    opened = kit.open(url, auth=kit.BasicAuth(*CLASS))
    image = opened.well(opened.well_paths[0]).images["0"]
    picture = kit.preview(image, max_size=64)
    table = image.tables["nuclei_features"].to_pandas()
    second = opened.well(opened.well_paths[-1]).images["0"]
    return {"wells": opened.well_paths, "preview": picture.tobytes(),
            "table": table.to_json(), "levels": len(second.levels),
            "pixels": second.read(0).tobytes()}


def _cache_bytes(cache: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(cache.rglob("*")) if p.is_file())


def test_a_restarted_relay_serves_the_lesson_from_disk_with_the_upstream_stopped(plate,
                                                                                  tmp_path):
    cache = tmp_path / "cache"
    credential = kit.BasicAuth("demo", UP_PASSWORD)
    up = DemoServer(plate, auth="basic", password=UP_PASSWORD).start()
    try:
        first = start_relay(up.url, credential, cache=cache)
        assert first.upstream.cache.max_bytes == HOT_BYTES  # a hot layer over the disk
        assert first.wait_consolidated(60), first.stats.consolidated
        lesson = _lesson(first.url)
        first.stop()
        assert up.count() > 0
    finally:
        up.stop()  # from here on nothing answers at the upstream's address
    again = start_relay(up.url, credential, cache=cache)  # a new relay: nothing in memory
    try:
        assert again.wait_consolidated(60), again.stats.consolidated
        assert _lesson(again.url) == lesson
        assert again.stats.upstream_errors == 0
    finally:
        again.stop()
    on_disk = _cache_bytes(cache)
    assert len(on_disk) > 0
    for secret in (UP_PASSWORD.encode(), base64.b64encode(f"demo:{UP_PASSWORD}".encode())):
        assert secret not in on_disk


def test_a_bad_upstream_answer_is_not_cached(plate, tmp_path):
    cache = tmp_path / "cache"
    with DemoServer(plate, auth="basic", password=UP_PASSWORD) as up:
        wrong = start_relay(up.url, kit.BasicAuth("demo", "not-the-password"), cache=cache,
                            consolidate=False)
        try:
            assert request(wrong.url, "/" + CHUNK, basic(*CLASS)).status == 502  # upstream 401
        finally:
            wrong.stop()
        assert kit.cache.info(cache).entries == 0  # nothing kept from the refusal
        right = start_relay(up.url, kit.BasicAuth("demo", UP_PASSWORD), cache=cache,
                            consolidate=False)
        try:
            up.fail_next(100, 503)  # more than the kit's retries: the upstream is failing
            failed = request(right.url, "/B/03/0/.zattrs", basic(*CLASS))
            assert failed.status == 502
            up.fail_next(0)
            asked = up.count(lambda r: r.path == "/B/03/0/.zattrs")
            good = request(right.url, "/B/03/0/.zattrs", basic(*CLASS))
            assert good.status == 200
            assert json.loads(good.body) == json.loads((plate / "B/03/0/.zattrs").read_bytes())
            assert up.count(lambda r: r.path == "/B/03/0/.zattrs") == asked + 1  # asked again
            chunk = request(right.url, "/" + CHUNK, basic(*CLASS))
            assert chunk.status == 200 and chunk.body == (plate / CHUNK).read_bytes()
        finally:
            right.stop()
    assert b"refused" not in _cache_bytes(cache) and b"503" not in _cache_bytes(cache)


def test_no_presigned_signature_or_key_in_the_cache_folder(tmp_path):
    key = "dandi-api-key-77"
    cache = tmp_path / "cache"
    with DandiArchive(token=key, lifetime=3) as archive:
        document = dandi_refs_document(tmp_path, archive)
        relay = start_relay(str(document), kit.DandiToken(key, instance=archive.api_url),
                            cache=cache)
        try:
            opened = kit.open(relay.url, auth=kit.BasicAuth(*CLASS))
            assert opened.read(1).size
        finally:
            relay.stop()
        assert archive.count("api", status=302) >= 1
    on_disk = _cache_bytes(cache)
    assert kit.cache.info(cache).entries > 0
    for secret in (key.encode(), b"X-Amz-Signature", b"Signature=", b"X-Amz-Credential"):
        assert secret not in on_disk, secret
