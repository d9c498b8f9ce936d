"""The demo server: files, ranges, auth, the request log and faults on demand (real sockets)."""

from __future__ import annotations

import base64
import http.client
import socket
import time
from pathlib import Path

import pytest
from helpers import served_folder

from kit.auth import BasicAuth, BearerToken
from kit.demo.server import DemoServer

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text("outside the root")
    return served_folder(tmp_path, {"data.bin": DATA, "sub/zarr.json": '{"zarr_format": 3}',
                                    "empty.bin": b""})


@pytest.fixture
def srv(root: Path, serve) -> DemoServer:
    return serve(root)


def request(server: DemoServer, path: str, method: str = "GET", headers: dict | None = None,
            timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """A raw request: http.client sends ``path`` exactly as given (no normalisation)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_url_and_lifecycle(root: Path) -> None:
    server = DemoServer(root).start()
    assert server.url == f"http://127.0.0.1:{server.port}/" and server.port > 0
    assert request(server, "/data.bin")[0] == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()


def test_get_and_head(srv: DemoServer) -> None:
    status, headers, body = request(srv, "/data.bin")
    assert (status, body) == (200, DATA)
    assert headers["Accept-Ranges"] == "bytes"
    status, headers, body = request(srv, "/data.bin", "HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(DATA)))
    status, headers, body = request(srv, "/sub/zarr.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("header", "status", "content_range", "expected"),
    [
        ("bytes=10-19", 206, "bytes 10-19/1024", DATA[10:20]),
        ("bytes=1000-", 206, "bytes 1000-1023/1024", DATA[1000:]),
        ("bytes=-5", 206, "bytes 1019-1023/1024", DATA[-5:]),
        ("bytes=1000-5000", 206, "bytes 1000-1023/1024", DATA[1000:]),
        ("bytes=1024-", 416, "bytes */1024", b""),
        ("bytes=0-1,5-6", 200, None, DATA),  # multi-range: whole body, as RFC 9110 allows
        ("items=0-1", 200, None, DATA),
    ],
)
def test_ranges(srv: DemoServer, header: str, status: int, content_range: str | None,
                expected: bytes) -> None:
    got_status, headers, body = request(srv, "/data.bin", headers={"Range": header})
    assert got_status == status
    assert headers.get("Content-Range") == content_range
    assert body == expected


def test_empty_file_range_is_unsatisfiable(srv: DemoServer) -> None:
    assert request(srv, "/empty.bin")[0] == 200
    assert request(srv, "/empty.bin", headers={"Range": "bytes=0-0"})[0] == 416


@pytest.mark.parametrize("path", ["/", "/sub", "/sub/", "/missing.bin", "/sub/nope"])
def test_no_listing_and_missing_is_404(srv: DemoServer, path: str) -> None:
    status, _, body = request(srv, path)
    assert status == 404 and b"zarr.json" not in body


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
             "/sub/%2e%2e/%2e%2e/secret.txt"],
)
def test_path_traversal_rejected(srv: DemoServer, path: str) -> None:
    status, _, body = request(srv, path)
    assert status == 404 and b"outside" not in body


def test_basic_auth(root: Path) -> None:
    with DemoServer(root, auth="basic", username="alice", password="pw-1") as server:
        status, headers, _ = request(server, "/data.bin")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
        wrong = "Basic " + base64.b64encode(b"alice:nope").decode()
        assert request(server, "/data.bin", headers={"Authorization": wrong})[0] == 401
        assert server.credential == BasicAuth("alice", "pw-1")
        ok = server.credential.http_headers()
        assert request(server, "/data.bin", headers=ok)[2] == DATA
        assert [r.authorization for r in server.requests] == [False, True, True]
        assert [r.status for r in server.requests] == [401, 401, 200]


def test_bearer_auth_with_generated_token(root: Path) -> None:
    with DemoServer(root, auth="bearer") as server:
        assert server.token and len(server.token) >= 16
        status, headers, _ = request(server, "/data.bin")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer ")
        assert request(server, "/data.bin", headers={"Authorization": "Bearer nope"})[0] == 401
        assert isinstance(server.credential, BearerToken)
        assert request(server, "/data.bin", headers=server.credential.http_headers())[0] == 200


def test_generated_basic_password(root: Path) -> None:
    with DemoServer(root, auth="basic") as server:
        assert server.username == "demo" and server.password
        assert request(server, "/data.bin", headers=server.credential.http_headers())[0] == 200


def test_request_log(srv: DemoServer) -> None:
    request(srv, "/data.bin", headers={"Range": "bytes=0-3"})
    request(srv, "/nope", "HEAD", headers={"Authorization": "Bearer x"})
    first, second = srv.requests
    assert (first.method, first.path, first.status, first.range, first.authorization) == (
        "GET", "/data.bin", 206, "bytes=0-3", False)
    assert (second.method, second.path, second.status, second.range, second.authorization) == (
        "HEAD", "/nope", 404, None, True)
    assert first.time <= second.time
    assert srv.count() == 2
    assert srv.count(lambda r: r.status == 404) == 1
    srv.reset_log()
    assert srv.count() == 0 and srv.requests == []


def test_post_not_allowed(srv: DemoServer) -> None:
    assert request(srv, "/data.bin", "POST")[0] == 405


def test_fail_next(srv: DemoServer) -> None:
    srv.fail_next(2, status=503, retry_after=1)
    status, headers, _ = request(srv, "/data.bin")
    assert status == 503 and headers["Retry-After"] == "1"
    assert request(srv, "/data.bin")[0] == 503
    assert request(srv, "/data.bin")[0] == 200
    assert [r.status for r in srv.requests] == [503, 503, 200]


def test_drop_next(srv: DemoServer) -> None:
    srv.drop_next(1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        request(srv, "/data.bin")
    assert request(srv, "/data.bin")[2] == DATA
    assert [r.status for r in srv.requests] == [None, 200]


def test_stall_next(srv: DemoServer) -> None:
    srv.stall_next(1, 2.0)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        request(srv, "/data.bin", timeout=0.2)
    assert time.monotonic() - t0 < 1.5
    assert request(srv, "/data.bin")[0] == 200


def test_ignore_range(srv: DemoServer) -> None:
    srv.ignore_range = True
    status, headers, body = request(srv, "/data.bin", headers={"Range": "bytes=10-19"})
    assert (status, body) == (200, DATA) and "Content-Range" not in headers


def test_latency(root: Path) -> None:
    with DemoServer(root, latency=0.2) as server:
        t0 = time.monotonic()
        assert request(server, "/data.bin")[0] == 200
        assert time.monotonic() - t0 >= 0.2


def test_redirect_to(srv: DemoServer, root: Path) -> None:
    with DemoServer(root) as other:
        srv.redirect_to(other.url)
        status, headers, _ = request(srv, "/sub/zarr.json?x=1")
        assert status == 302 and headers["Location"] == f"{other.url}sub/zarr.json?x=1"
        srv.redirect_to(None)
        assert request(srv, "/sub/zarr.json")[0] == 200


def test_redirect_after_auth(root: Path) -> None:
    """An authenticating server checks credentials before it redirects (like an API)."""
    with DemoServer(root, auth="bearer", token="t0k") as server, DemoServer(root) as other:
        server.redirect_to(other.url)
        assert request(server, "/data.bin")[0] == 401
        assert request(server, "/data.bin", headers={"Authorization": "Bearer t0k"})[0] == 302


def test_bad_auth_mode(root: Path) -> None:
    with pytest.raises(ValueError):
        DemoServer(root, auth="digest")


# -- hostile requests (issue 18): never a 500, bounded reads, no dotfiles ----------------------


@pytest.mark.parametrize(
    ("header", "status", "content_range"),
    [
        ("bytes=" + "9" * 5000 + "-", 416, "bytes */1024"),  # more digits than int() takes
        ("bytes=0-" + "9" * 5000, 206, "bytes 0-1023/1024"),
        ("bytes=-" + "9" * 5000, 206, "bytes 0-1023/1024"),
        ("bytes=99999999999999999999999-", 416, "bytes */1024"),
        ("bytes=0-\u00b2", 416, "bytes */1024"),  # a superscript two: isdigit(), not int()
    ],
)
def test_hostile_ranges_are_answered_not_500(srv: DemoServer, header: str, status: int,
                                            content_range: str) -> None:
    got, headers, body = request(srv, "/data.bin", headers={"Range": header})
    assert got == status
    assert headers.get("Content-Range") == content_range
    if status == 206:
        assert body == DATA


def test_range_in_non_ascii_digits_is_416(srv: DemoServer) -> None:
    """Arabic-Indic digits (UTF-8 on the wire; http.client cannot send them): int() reads them."""
    with socket.create_connection((srv.host, srv.port), timeout=5) as s:
        s.sendall(b"GET /data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes="
                  + "\u0661\u0662-".encode() + b"\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 416"), answer[:200]
    assert srv.requests[-1].status == 416


def test_very_deep_path_is_404(srv: DemoServer) -> None:
    assert request(srv, "/" + "/".join(["a"] * 3000))[0] == 404
    assert request(srv, "/" + "x" * 5000)[0] == 404


@pytest.mark.parametrize("path", ["/.env", "/.git/config", "/sub/.hidden", "/.zmetadata.tmp"])
def test_dotfiles_are_not_served(root: Path, path: str) -> None:
    (root / ".env").write_text("SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]")
    (root / "sub" / ".hidden").write_text("x")
    (root / ".zmetadata.tmp").write_text("{}")
    with DemoServer(root) as server:
        status, _, body = request(server, path)
    assert status == 404 and b"SECRET" not in body and b"core" not in body


def test_zarr_metadata_dotfiles_are_served(root: Path) -> None:
    for name in (".zattrs", ".zgroup", ".zarray", ".zmetadata"):
        (root / "sub" / name).write_text(f'{{"n": "{name}"}}')
    with DemoServer(root) as server:
        for name in (".zattrs", ".zgroup", ".zarray", ".zmetadata"):
            status, headers, body = request(server, f"/sub/{name}")
            assert status == 200 and name.encode() in body
            assert headers["Content-Type"].startswith("application/json")


def test_a_small_range_of_a_big_file_reads_only_the_range(root: Path) -> None:
    """A 1-byte range of a 64 MiB (sparse) file: the server's peak allocation stays far below
    the file size (the whole file used to be read for every request)."""
    import tracemalloc

    big = root / "big.bin"
    with big.open("wb") as f:
        f.truncate(64 << 20)
        f.seek((64 << 20) - 1)
        f.write(b"\x07")
    with DemoServer(root) as server:
        tracemalloc.start()
        try:
            status, headers, body = request(server, "/big.bin", headers={"Range": "bytes=-1"})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        last = (64 << 20) - 1
        assert (status, body) == (206, b"\x07")
        assert headers["Content-Range"] == f"bytes {last}-{last}/{64 << 20}"
        assert peak < 8 << 20, peak
        status, headers, _ = request(server, "/big.bin", "HEAD")
        assert status == 200 and headers["Content-Length"] == str(64 << 20)


def test_a_whole_big_file_is_streamed(root: Path) -> None:
    import tracemalloc

    big = root / "big.bin"
    with big.open("wb") as f:
        f.truncate(32 << 20)
    with DemoServer(root) as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        tracemalloc.start()
        try:
            conn.request("GET", "/big.bin")
            resp = conn.getresponse()
            total = 0
            while chunk := resp.read(1 << 20):
                total += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            conn.close()
    assert resp.status == 200 and total == 32 << 20
    assert peak < 16 << 20, peak
