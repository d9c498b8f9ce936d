"""The HTTP transport against hostile or broken servers on 127.0.0.1 (issue 18): range answers
that do not add up, huge metadata documents, trickling servers, unreachable hosts, soft 404s,
and one request-stats object for every user of the client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import zarr
from aiohttp import web
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.demo.dandi import DandiArchive
from kit.demo.generate import write_image
from kit.demo.server import DemoServer
from kit.errors import InvalidMetadata, NotFound, RemoteError
from kit.io.dandi import resolver
from kit.io.http import HttpStore, http_client
from kit.io.loop import run_sync

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

DATA = bytes(range(256)) * 4  # 1024 bytes
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.contextmanager
def serve(handler: Handler) -> Iterator[str]:
    """An aiohttp server on 127.0.0.1 answering every path with ``handler``; yields its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2,
                               handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    runner = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def get(store: HttpStore, key: str, byte_range=None) -> bytes | None:
    buf = run_sync(store.get(key, default_buffer_prototype(), byte_range))
    return None if buf is None else buf.to_bytes()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- range answers are verified -------------------------------------------------------------


def answering(status: int, body: bytes, content_range: str | None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        headers = {"Content-Range": content_range} if content_range else {}
        return web.Response(status=status, body=body, headers=headers)
    return handler


@pytest.mark.parametrize(("status", "body", "content_range", "byte_range", "says"), [
    # a 206 whose body is shorter than its Content-Range
    (206, DATA[10:15], "bytes 10-19/1024", RangeByteRequest(10, 20), "sent 5 bytes"),
    # a 206 whose body is longer than its Content-Range
    (206, DATA[10:30], "bytes 10-19/1024", RangeByteRequest(10, 20), "sent 20 bytes"),
    # Content-Range's total is smaller than the range asked for (start past the total)
    (206, DATA[:10], "bytes 0-9/10", RangeByteRequest(100, 110), "asked for bytes 100-109"),
    # a total smaller than the range the server claims to have sent
    (206, DATA[10:20], "bytes 10-19/15", RangeByteRequest(10, 20), "impossible Content-Range"),
    # the server sent less than asked although the object is longer
    (206, DATA[10:15], "bytes 10-14/1024", RangeByteRequest(10, 20), "sent bytes 10-14"),
    (206, DATA[:10], "bytes 0-9/1024", OffsetByteRequest(0), "sent bytes 0-9 of 1024"),
    (206, DATA[-4:], "bytes 1020-1023/1024", SuffixByteRequest(8), "asked for bytes -8"),
    (206, DATA[10:20], None, RangeByteRequest(10, 20), "without a valid Content-Range"),
    # a 416 to a range the object can satisfy
    (416, b"", "bytes */1024", RangeByteRequest(10, 20), "416"),
    (416, b"", "bytes */1024", SuffixByteRequest(4), "416"),
])
def test_range_answers_that_do_not_add_up_are_remote_errors(status, body, content_range,
                                                            byte_range, says) -> None:
    with serve(answering(status, body, content_range)) as url:
        store = HttpStore(url, retries=0)
        with pytest.raises(RemoteError, match=says) as info:
            get(store, "data.bin", byte_range)
        assert f"{url}data.bin" in str(info.value)


def test_consistent_range_answers_still_read() -> None:
    with serve(answering(206, DATA[1000:], "bytes 1000-1023/1024")) as url:
        assert get(HttpStore(url), "d", RangeByteRequest(1000, 5000)) == DATA[1000:]
    with serve(answering(416, b"", "bytes */1024")) as url:
        assert get(HttpStore(url), "d", OffsetByteRequest(2000)) == b""  # truly past the end
    with serve(answering(416, b"", None)) as url:
        assert get(HttpStore(url), "d", OffsetByteRequest(2000)) == b""  # no size to check


# --- limits: metadata document size, throughput ---------------------------------------------

HUGE = 300 * 1024 * 1024


def huge_document(sent: list[int], *, declare_length: bool) -> Handler:
    """A 300 MiB zarr.json streamed in 1 MiB pieces; ``sent`` counts what got out."""
    piece = b" " * (1024 * 1024)

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        if declare_length:
            response.content_length = HUGE
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            for _ in range(HUGE // len(piece)):
                await response.write(piece)
                sent[0] += len(piece)
        return response
    return handler


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_300_mib_metadata_document_is_not_read_whole(declare_length: bool) -> None:
    sent = [0]
    with serve(huge_document(sent, declare_length=declare_length)) as url:
        store = HttpStore(url + "big.zarr", retries=0)
        t0 = time.monotonic()
        with pytest.raises(InvalidMetadata) as info:
            get(store, "zarr.json")
        assert time.monotonic() - t0 < 20
        text = str(info.value)
        assert f"{url}big.zarr/zarr.json" in text and "64 MiB" in text
        assert "MAX_DOCUMENT_BYTES" in text
        assert store.stats.bytes_received <= 64 * 1024 * 1024
    assert sent[0] < HUGE  # the server was cut off, not read to its end


def test_the_document_limit_is_overridable_and_spares_chunks(monkeypatch) -> None:
    with serve(answering(200, DATA, None)) as url:
        assert get(HttpStore(url), "zarr.json") == DATA
        with pytest.raises(InvalidMetadata, match=r"limit of 1000 bytes .it has 1024 bytes"):
            get(HttpStore(url, max_document=1000), "zarr.json")
        monkeypatch.setattr("kit.io.jsondoc.MAX_DOCUMENT_BYTES", 1000)
        with pytest.raises(InvalidMetadata, match="metadata document is larger"):
            get(HttpStore(url), ".zattrs")
        assert get(HttpStore(url), "0/0/0") == DATA  # chunks are not limited


def test_a_300_mib_local_metadata_document_is_not_read_whole(tmp_path: Path) -> None:
    folder = tmp_path / "big.zarr"
    folder.mkdir()
    with open(folder / "zarr.json", "wb") as f:  # sparse: 300 MiB that take no disk
        f.write(b'{"zarr_format": 3, "node_type": "group", "attributes": {"x": "')
        f.truncate(HUGE)
    with pytest.raises(InvalidMetadata) as info:
        kit.open(folder)
    text = str(info.value)
    assert f"{folder}/zarr.json" in text and "64 MiB" in text and "MAX_DOCUMENT_BYTES" in text


def trickle(every: float, total: int = 1000) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = total
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            for _ in range(total):
                await response.write(b"x")
                await asyncio.sleep(every)
        return response
    return handler


def test_a_trickling_server_is_cut_off() -> None:
    with serve(trickle(0.05)) as url:  # 20 bytes/s: never silent long enough for a timeout
        store = HttpStore(url, timeout=1.0, min_throughput=200, retries=2)
        t0 = time.monotonic()
        with pytest.raises(RemoteError, match=r"slower than the minimum of 200 bytes/s") as info:
            get(store, "data.bin")
        elapsed = time.monotonic() - t0
        assert 1.0 <= elapsed < 4.0
        assert f"{url}data.bin" in str(info.value)
        assert store.stats.requests == 1  # a too-slow body is not retried


def test_a_slow_but_steady_body_is_not_cut_off() -> None:
    with serve(trickle(0.01, total=150)) as url:  # ~100 bytes/s for 1.5 s
        store = HttpStore(url, timeout=1.0, min_throughput=50)
        assert get(store, "data.bin") == b"x" * 150


# --- messages in plain words ----------------------------------------------------------------


def test_unreachable_server_reads_in_plain_words() -> None:
    port = closed_port()
    store = HttpStore(f"http://127.0.0.1:{port}/data.zarr", retries=1, backoff=0.001)
    with pytest.raises(RemoteError) as info:
        get(store, "zarr.json")
    text = str(info.value)
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in text
    assert "ClientConnectorError" not in text and "ssl:default" not in text
    with pytest.raises(kit.RemoteError, match=r"cannot connect to 127\.0\.0\.1"):
        kit.open(f"http://127.0.0.1:{port}/x.zarr")


# --- refs messages name the real URL --------------------------------------------------------


def test_refs_errors_show_the_url_unmangled(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(DATA)
    with DemoServer(tmp_path) as srv:
        refs = {"refs": {".zgroup": '{"zarr_format": 2}',
                         "gone": [srv.url + "missing.bin", 0, 4],
                         "short": [srv.url + "blob.bin", 2000, 4]}}
        store = kit.open(refs).location.store.inner
        for key, error in (("gone", NotFound), ("short", InvalidMetadata)):
            with pytest.raises(error) as info:
                run_sync(store.get(key, default_buffer_prototype()))
            text = str(info.value)
            assert "httphttp" not in text
            assert f"({srv.url}missing.bin)" in text or f"[{srv.url}blob.bin, 2000, 4]" in text


def test_dandi_refs_errors_show_the_url_unmangled() -> None:
    resolver.clear()
    with DandiArchive(lifetime=60) as archive:
        url = archive.add_asset("blob", DATA)
        refs = {"refs": {".zgroup": '{"zarr_format": 2}', "k": [url, 5000, 4]}}
        store = kit.open(refs, storage_options={"dandi_instances": [archive.api_url]}) \
            .location.store.inner
        with pytest.raises(InvalidMetadata, match="past the end") as info:
            run_sync(store.get("k", default_buffer_prototype()))
        text = str(info.value)
        assert "dandihttp" not in text and f"[{url}, 5000, 4]" in text


# --- soft 404: HTML with 200 for missing files ----------------------------------------------


def soft_404(root: Path) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        path = root.joinpath(*[p for p in request.path.split("/") if p])
        if path.is_file() and path.resolve().is_relative_to(root):
            return web.Response(body=path.read_bytes())
        return web.Response(text="<!DOCTYPE html><html><body>Page not found</body></html>",
                            content_type="text/html")  # status 200
    return handler


def test_a_soft_404_host_serves_a_valid_zarr_v2_dataset(tmp_path: Path) -> None:
    image = write_image(tmp_path / "img.zarr", version="0.4", axes="cyx", shape=(2, 32, 32),
                        chunks=(1, 16, 16), levels=2, labels=())
    with serve(soft_404(tmp_path)) as url:
        node = kit.open(url + "img.zarr")
        assert isinstance(node, kit.Image)
        expected = zarr.open_group(str(image), mode="r")["0"][:]
        np.testing.assert_array_equal(node.read(0), expected)


def test_broken_json_is_still_an_error_not_a_soft_404(tmp_path: Path) -> None:
    (tmp_path / "bad.zarr").mkdir()
    (tmp_path / "bad.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": ')
    with serve(soft_404(tmp_path)) as url, pytest.raises(InvalidMetadata, match=r"zarr\.json"):
        kit.open(url + "bad.zarr")


# --- one client, one stats object -----------------------------------------------------------


def test_every_user_reports_into_the_clients_stats(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(DATA)
    stats = http_client().stats
    with DemoServer(tmp_path) as srv:
        before = stats.requests
        store = HttpStore(srv.url)
        assert get(store, "blob.bin", RangeByteRequest(0, 8)) == DATA[:8]
        refs = {"refs": {".zgroup": '{"zarr_format": 2}', "k": [srv.url + "blob.bin", 8, 8]}}
        refs_store = kit.open(refs).location.store.inner
        assert run_sync(refs_store.get("k", default_buffer_prototype())).to_bytes() == DATA[8:16]
        assert store.stats.requests == 1 and refs_store.stats.requests == 1
        assert refs_store.requests == 1
        assert stats.requests - before == srv.count() == 2


def test_the_client_is_one_per_process() -> None:
    assert http_client() is http_client()
    assert json.loads(json.dumps(http_client().stats.snapshot()))["requests"] >= 0


# --- the DANDI resolver: the client's retries, an injected clock and sleep ------------------


def test_dandi_exchange_retries_through_the_client_with_an_injected_sleep() -> None:
    from kit.io.dandi import DandiResolver

    answers = [503, 429]

    async def api(request: web.Request) -> web.Response:
        if answers:
            return web.Response(status=answers.pop(0), headers={"Retry-After": "7"})
        target = "http://127.0.0.1:1/blobs/a?X-Amz-Date=20260101T000000Z&X-Amz-Expires=600"
        return web.Response(status=302, headers={"Location": target})

    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    with serve(api) as url:
        ours = DandiResolver(clock=lambda: 1767225600.0 + 10, sleep=fake_sleep)
        t0 = time.monotonic()
        presigned = run_sync(ours.resolve(url + "api/assets/a/download/", "key"))
        assert time.monotonic() - t0 < 2.0  # Retry-After honoured through the fake sleep
    assert waits and all(w >= 7 for w in waits) and len(waits) == 2
    assert ours.exchanges == ours.stats.requests == 3
    assert dict(ours.stats.statuses) == {503: 1, 429: 1, 302: 1}
    assert presigned.issued == 1767225600.0 and presigned.lifetime == 600.0
    assert presigned.usable(ours.clock())


def test_a_server_trickling_its_headers_is_cut_off() -> None:
    """Status line at once, then one header byte every 50 ms: never silent for a timeout."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def slow_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(200):
                await writer.drain()
                writer.write(b"x")
                await asyncio.sleep(0.05)
        writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(slow_headers, "127.0.0.1", 0)

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        port = server.sockets[0].getsockname()[1]
        store = HttpStore(f"http://127.0.0.1:{port}/", timeout=0.4, retries=1, backoff=0.001)
        t0 = time.monotonic()
        with pytest.raises(RemoteError, match=r"status and headers\) within 0.8 s"):
            get(store, "data.bin")
        assert time.monotonic() - t0 < 4.0
        assert store.stats.requests == 2 and store.stats.errors == 2  # retried once, like a timeout
    finally:
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
