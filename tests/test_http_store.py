"""HttpStore against real DemoServers on 127.0.0.1: auth, retries, faults, redirects, zarr."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from helpers import free_port as closed_port
from helpers import served_folder
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype

from kit.auth import BasicAuth, BearerToken, Headers, Origin
from kit.demo.server import DemoServer
from kit.errors import AuthenticationError, KitError, PermissionDenied, RemoteError
from kit.io.http import HttpStore
from kit.io.loop import run_sync

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

DATA = bytes(range(256)) * 4  # 1024 bytes
PASSWORD = "pw-Xq7-not-in-messages"
TOKEN = "tok-Yr8-not-in-messages"
FAST = {"backoff": 0.001}  # keep retry tests quick


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return served_folder(tmp_path, {"data.bin": DATA, "empty.bin": b"",
                                    "with space.bin": b"spaced"})


@pytest.fixture
def srv(root: Path, serve) -> DemoServer:
    return serve(root)


@pytest.fixture
def basic_srv(root: Path, serve) -> DemoServer:
    return serve(root, auth="basic", username="alice", password=PASSWORD)


@pytest.fixture
def bearer_srv(root: Path, serve) -> DemoServer:
    return serve(root, auth="bearer", token=TOKEN)


def get(store: HttpStore, key: str, byte_range=None) -> bytes | None:
    buf = run_sync(store.get(key, default_buffer_prototype(), byte_range))
    return None if buf is None else buf.to_bytes()


# --- auth


def test_basic_auth_success(basic_srv: DemoServer) -> None:
    store = HttpStore(basic_srv.url, credential=BasicAuth("alice", PASSWORD))
    assert get(store, "data.bin") == DATA
    assert basic_srv.count() == 1 and basic_srv.requests[0].authorization
    assert (store.stats.requests, store.stats.bytes_received) == (1, len(DATA))
    assert dict(store.stats.statuses) == {200: 1}


def test_bearer_success(bearer_srv: DemoServer) -> None:
    store = HttpStore(bearer_srv.url, credential=BearerToken(TOKEN))
    assert get(store, "data.bin", RangeByteRequest(10, 20)) == DATA[10:20]
    assert bearer_srv.count() == 1


def test_headers_credential(root: Path) -> None:
    with DemoServer(root, auth="bearer", token=TOKEN) as server:
        store = HttpStore(server.url, credential=Headers({"Authorization": f"Bearer {TOKEN}"}))
        assert get(store, "data.bin") == DATA


def test_wrong_password(basic_srv: DemoServer) -> None:
    store = HttpStore(basic_srv.url, credential=BasicAuth("alice", "wrong-" + PASSWORD))
    with pytest.raises(AuthenticationError) as info:
        get(store, "data.bin")
    text = str(info.value)
    assert f"{basic_srv.url}data.bin" in text and "refused" in text and "BasicAuth" in text
    assert PASSWORD not in text and PASSWORD not in repr(info.value)
    assert basic_srv.count() == 1  # 401 is not retried


def test_no_credentials_says_how(bearer_srv: DemoServer) -> None:
    store = HttpStore(bearer_srv.url)
    assert store.credential is None
    with pytest.raises(AuthenticationError) as info:
        get(store, "data.bin")
    text = str(info.value)
    for hint in ("auth=", "NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME", "kit.login()", bearer_srv.url):
        assert hint in text
    assert TOKEN not in text
    assert not bearer_srv.requests[0].authorization


def test_credential_resolved_from_env(bearer_srv: DemoServer, monkeypatch) -> None:
    monkeypatch.setenv("NGFF_KIT_TOKEN", TOKEN)
    monkeypatch.setenv("NGFF_KIT_ORIGINS", bearer_srv.url)  # env credentials go where named
    store = HttpStore(bearer_srv.url)
    assert store.credential == BearerToken(TOKEN)
    assert get(store, "data.bin") == DATA


def test_credential_resolved_from_registry(basic_srv: DemoServer) -> None:
    from kit.auth import credentials

    credentials.register(basic_srv.url, BasicAuth("alice", PASSWORD))
    try:
        store = HttpStore(basic_srv.url)
        assert store.credential == BasicAuth("alice", PASSWORD)
        assert get(store, "data.bin") == DATA
    finally:
        credentials.remove(basic_srv.url)


def test_userinfo_becomes_basic_auth(basic_srv: DemoServer) -> None:
    url = f"http://alice:{PASSWORD}@127.0.0.1:{basic_srv.port}/"
    store = HttpStore(url)
    assert store.url == basic_srv.url and store.credential == BasicAuth("alice", PASSWORD)
    assert PASSWORD not in repr(store) and "alice" not in repr(store)
    assert get(store, "data.bin") == DATA


def test_the_credential_is_decided_once_by_the_policy(basic_srv: DemoServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: a credential given (as kit.open gives the one it resolved) is used as given;
    without one the store asks kit.auth.resolve once, in the root scope, and nothing else."""
    import kit.auth
    import kit.io.http.store as store_module

    calls: list[tuple[str, object]] = []

    def counting(url: str, **kw: object):
        calls.append((url, kw.get("scope")))
        return kit.auth.resolve(url, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "resolve", counting)
    given = BasicAuth("alice", PASSWORD)
    assert HttpStore(basic_srv.url, credential=given).credential is given and calls == []
    url = f"http://alice:{PASSWORD}@127.0.0.1:{basic_srv.port}/"
    assert HttpStore(url).credential == given
    assert calls == [(url, kit.auth.Scope.ROOT)]


def test_403(srv: DemoServer) -> None:
    store = HttpStore(srv.url, **FAST)
    srv.fail_next(1, status=403)
    with pytest.raises(PermissionDenied) as info:
        get(store, "data.bin")
    text = str(info.value)
    assert f"{srv.url}data.bin" in text
    # advice a kit.open user can follow: kit.open cannot pass missing_on_403 (issue 18)
    assert "missing_on_403" not in text and "auth=" in text and "presigned URL" in text
    lenient = HttpStore(srv.url, missing_on_403=True)
    srv.fail_next(1, status=403)
    assert get(lenient, "data.bin") is None
    srv.fail_next(1, status=403)
    assert run_sync(lenient.exists("data.bin")) is False
    assert srv.count() == 3  # 403 is never retried


# --- missing keys, ranges


def test_404_is_missing(srv: DemoServer) -> None:
    store = HttpStore(srv.url)
    assert get(store, "nope/zarr.json") is None
    assert run_sync(store.exists("nope")) is False
    assert run_sync(store.exists("data.bin")) is True
    assert run_sync(store.exists("empty.bin")) is True  # a 416 for an empty file still exists
    assert srv.count() == 4 and srv.count(lambda r: r.range == "bytes=0-0") == 3


@pytest.mark.parametrize("ignore_range", [False, True])
def test_ranges(srv: DemoServer, ignore_range: bool) -> None:
    srv.ignore_range = ignore_range
    store = HttpStore(srv.url)
    cases = [
        (RangeByteRequest(10, 20), DATA[10:20]),
        (RangeByteRequest(1000, 5000), DATA[1000:]),
        (OffsetByteRequest(1000), DATA[1000:]),
        (SuffixByteRequest(7), DATA[-7:]),
        (SuffixByteRequest(5000), DATA),
        (OffsetByteRequest(2000), b""),  # past the end: 416 (or sliced to nothing)
        (RangeByteRequest(5, 5), b""),  # zero length: no request at all
    ]
    for byte_range, expected in cases:
        assert get(store, "data.bin", byte_range) == expected, byte_range
    assert srv.count() == len(cases) - 1
    if ignore_range:
        assert dict(store.stats.statuses) == {200: 6}
    else:
        assert dict(store.stats.statuses) == {206: 5, 416: 1}


def test_key_quoting(srv: DemoServer) -> None:
    assert get(HttpStore(srv.url), "with space.bin") == b"spaced"
    assert srv.requests[0].path == "/with space.bin"


def test_partial_values_and_getsize(srv: DemoServer) -> None:
    store = HttpStore(srv.url)
    got = run_sync(store.get_partial_values(
        default_buffer_prototype(),
        [("data.bin", RangeByteRequest(0, 4)), ("nope", None), ("data.bin", SuffixByteRequest(2))]))
    assert [g if g is None else g.to_bytes() for g in got] == [DATA[:4], None, DATA[-2:]]
    assert run_sync(store.getsize("data.bin")) == len(DATA)
    assert run_sync(store.getsize("empty.bin")) == 0
    with pytest.raises(FileNotFoundError):
        run_sync(store.getsize("nope"))
    srv.ignore_range = True
    assert run_sync(store.getsize("data.bin")) == len(DATA)


# --- retries and failures


def test_500_twice_then_success(srv: DemoServer) -> None:
    store = HttpStore(srv.url, **FAST)
    srv.fail_next(2, status=500)
    assert get(store, "data.bin") == DATA
    assert srv.count() == 3
    assert store.stats.requests == 3 and dict(store.stats.statuses) == {500: 2, 200: 1}


def test_dropped_connection_then_success(srv: DemoServer) -> None:
    store = HttpStore(srv.url, **FAST)
    srv.drop_next(1)
    assert get(store, "data.bin", RangeByteRequest(0, 8)) == DATA[:8]
    assert srv.count() == 2 and [r.status for r in srv.requests] == [None, 206]
    assert (store.stats.requests, store.stats.errors) == (2, 1)


def test_all_5xx_gives_remote_error(srv: DemoServer) -> None:
    store = HttpStore(srv.url, retries=3, **FAST)
    srv.fail_next(100, status=503)
    with pytest.raises(RemoteError) as info:
        get(store, "data.bin")
    text = str(info.value)
    assert f"{srv.url}data.bin" in text and "HTTP 503" in text and "4 attempt" in text
    assert srv.count() == 4 and store.stats.requests == 4


def test_429_honours_retry_after(srv: DemoServer) -> None:
    store = HttpStore(srv.url, **FAST)
    srv.fail_next(1, status=429, retry_after=0.3)
    t0 = time.monotonic()
    assert get(store, "data.bin") == DATA
    assert time.monotonic() - t0 >= 0.3 and srv.count() == 2


def test_other_4xx_is_not_retried(srv: DemoServer) -> None:
    store = HttpStore(srv.url, **FAST)
    srv.fail_next(1, status=400)
    with pytest.raises(RemoteError, match="unexpected HTTP 400"):
        get(store, "data.bin")
    assert srv.count() == 1


def test_stalled_server_times_out(srv: DemoServer) -> None:
    store = HttpStore(srv.url, timeout=0.2, retries=1, **FAST)
    srv.stall_next(2, 3.0)
    t0 = time.monotonic()
    with pytest.raises(RemoteError, match=r"no answer within 0\.2 s"):
        get(store, "data.bin")
    assert time.monotonic() - t0 < 2.0
    assert store.stats.errors == 2
    srv.stall_next(1, 3.0)
    assert get(store, "data.bin") == DATA  # the retry gets through


def test_unreachable_host() -> None:
    port = closed_port()
    store = HttpStore(f"http://127.0.0.1:{port}/data.zarr", retries=2, **FAST)
    t0 = time.monotonic()
    with pytest.raises(RemoteError) as info:
        get(store, "zarr.json")
    assert time.monotonic() - t0 < 2.0
    assert f"127.0.0.1:{port}/data.zarr/zarr.json" in str(info.value)
    assert "3 attempt" in str(info.value) and store.stats.errors == 3


@pytest.mark.parametrize(
    "bad", ["not a url", "/local/path.zarr", "http://", "ftp://host/x", "http://host:port/", 42])
def test_malformed_url(bad) -> None:
    with pytest.raises(KitError):
        HttpStore(bad)


# --- redirects


def test_redirect_to_other_origin_drops_credentials(bearer_srv: DemoServer, root: Path) -> None:
    with DemoServer(root) as other:
        bearer_srv.redirect_to(other.url)
        store = HttpStore(bearer_srv.url, credential=BearerToken(TOKEN))
        assert get(store, "data.bin") == DATA
        assert get(store, "data.bin", RangeByteRequest(3, 9)) == DATA[3:9]
        assert [r.authorization for r in bearer_srv.requests] == [True, True]
        assert [r.authorization for r in other.requests] == [False, False]
        assert [r.range for r in other.requests] == [None, "bytes=3-8"]  # Range survives
        assert dict(store.stats.statuses) == {302: 2, 200: 1, 206: 1}


def test_redirect_target_asking_for_auth(srv: DemoServer, root: Path) -> None:
    with DemoServer(root, auth="bearer", token=TOKEN) as other:
        srv.redirect_to(other.url)
        store = HttpStore(srv.url, credential=BearerToken(TOKEN))
        with pytest.raises(AuthenticationError, match="redirected to another origin") as info:
            get(store, "data.bin")
        assert TOKEN not in str(info.value)
        assert not other.requests[0].authorization


def test_redirect_loop_is_bounded(srv: DemoServer) -> None:
    srv.redirect_to(srv.url)
    store = HttpStore(srv.url, **FAST)
    with pytest.raises(RemoteError, match="more than 5 redirects"):
        get(store, "data.bin")
    assert srv.count() == 6


# --- store protocol, identity, pickling


def test_store_properties(srv: DemoServer) -> None:
    store = HttpStore(srv.url + "a/b.zarr", credential=BasicAuth("u", PASSWORD))
    assert store.url == srv.url + "a/b.zarr/"
    assert store.origin == Origin("http", "127.0.0.1", srv.port)
    assert repr(store) == f"HttpStore('{srv.url}a/b.zarr/', auth=BasicAuth)"
    assert str(store) == repr(store) and PASSWORD not in repr(store)
    assert repr(HttpStore(srv.url)).endswith("auth=None)")
    assert store.read_only and not store.supports_writes and not store.supports_deletes
    assert not store.supports_partial_writes and not store.supports_listing
    assert store == HttpStore(srv.url + "a/b.zarr/", credential=BasicAuth("u", PASSWORD))
    same = HttpStore(srv.url + "a/b.zarr/", credential=BasicAuth("u", PASSWORD))
    assert hash(store) == hash(same)
    assert store != HttpStore(srv.url + "a/b.zarr/", credential=BasicAuth("u", "other"))
    assert store != HttpStore(srv.url + "a/b.zarr/")
    writable = store.with_read_only(False)
    assert not writable.read_only and writable.url == store.url and writable.stats is store.stats
    assert store.with_read_only(True) == store


def test_presigned_query_is_kept_and_redacted(srv: DemoServer) -> None:
    store = HttpStore(srv.url + "?X-Amz-Signature=sig-Zz1&part=1")
    assert store.url == srv.url + "?X-Amz-Signature=sig-Zz1&part=1"
    assert "sig-Zz1" not in repr(store)
    assert get(store, "data.bin") == DATA
    srv.fail_next(1, status=403)
    with pytest.raises(PermissionDenied) as info:
        get(store, "data.bin")
    assert "sig-Zz1" not in str(info.value) and "X-Amz-Signature=***" in str(info.value)


def test_writes_and_listing_unsupported(srv: DemoServer) -> None:
    store = HttpStore(srv.url)
    buf = default_buffer_prototype().buffer.from_bytes(b"x")
    with pytest.raises(ValueError):
        run_sync(store.set("k", buf))
    with pytest.raises(NotImplementedError):
        run_sync(store.with_read_only(False).set("k", buf))
    with pytest.raises((ValueError, NotImplementedError)):
        run_sync(store.delete("k"))

    async def collect(gen) -> list:
        return [x async for x in gen]

    assert run_sync(collect(store.list())) == []
    assert run_sync(collect(store.list_dir(""))) == []
    assert run_sync(collect(store.list_prefix(""))) == []
    assert srv.count() == 0


def test_callable_from_any_loop(srv: DemoServer) -> None:
    """zarr calls stores from its own loop thread: calls hop to the kit loop."""
    store = HttpStore(srv.url)

    async def main() -> bytes:
        buf = await store.get("data.bin", default_buffer_prototype())
        return buf.to_bytes()

    assert asyncio.run(main()) == DATA
    assert asyncio.run(main()) == DATA


def test_pickle_round_trip(basic_srv: DemoServer) -> None:
    store = HttpStore(basic_srv.url, credential=BasicAuth("alice", PASSWORD), **FAST)
    assert get(store, "data.bin") == DATA
    clone = pickle.loads(pickle.dumps(store))
    assert clone == store and clone.stats.requests == 0
    assert get(clone, "data.bin") == DATA


def test_pickled_store_reads_in_fresh_process(basic_srv: DemoServer, tmp_path: Path) -> None:
    store = HttpStore(basic_srv.url, credential=BasicAuth("alice", PASSWORD))
    blob = tmp_path / "store.pkl"
    blob.write_bytes(pickle.dumps(store))
    code = (
        "import pickle, sys\n"
        "from zarr.abc.store import RangeByteRequest\n"
        "from zarr.core.buffer import default_buffer_prototype\n"
        "from kit.io.loop import run_sync\n"
        "store = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "buf = run_sync(store.get('data.bin', default_buffer_prototype(),\n"
        "                         RangeByteRequest(5, 15)))\n"
        "print(buf.to_bytes().hex())\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True, text=True,
                         timeout=60, check=True)
    assert bytes.fromhex(out.stdout.strip()) == DATA[5:15]
    assert basic_srv.requests[-1].authorization and basic_srv.requests[-1].status == 206


# --- zarr on top


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_open_array_matches_local(tmp_path: Path, zarr_format: int) -> None:
    root = tmp_path / "zarr-root"
    local = zarr.create_array(root / "a.zarr", shape=(8, 8), chunks=(4, 4), dtype="i4",
                              fill_value=-1, zarr_format=zarr_format)
    local[:4] = np.arange(32, dtype="i4").reshape(4, 8)  # the lower chunks stay missing
    with DemoServer(root, auth="basic", password=PASSWORD) as server:
        store = HttpStore(server.url + "a.zarr", credential=server.credential)
        remote = zarr.open_array(store, mode="r", zarr_format=zarr_format)
        np.testing.assert_array_equal(remote[:], zarr.open_array(root / "a.zarr", mode="r")[:])
        assert remote.shape == (8, 8) and remote.dtype == np.dtype("i4")
        # v3: zarr.json + 4 chunks; v2: .zarray + .zattrs + 4 chunks; 2 chunks are 404 (fill)
        metadata_requests = 1 if zarr_format == 3 else 2
        assert server.count() == metadata_requests + 4
        assert server.count(lambda r: r.status == 404) == 2
        assert store.stats.requests == metadata_requests + 4
        assert all(r.authorization for r in server.requests)
        server.reset_log()
        store.stats.reset()
        np.testing.assert_array_equal(remote[0:2, 0:2], local[0:2, 0:2])
        assert server.count() == 1 and store.stats.requests == 1


# --- secrets never leak into text


def test_env_credential_stays_on_its_origin(bearer_srv: DemoServer, root: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGFF_KIT_TOKEN", TOKEN)
    monkeypatch.setenv("NGFF_KIT_ORIGINS", bearer_srv.url)
    with DemoServer(root) as other:
        bearer_srv.redirect_to(other.url)
        assert get(HttpStore(bearer_srv.url), "data.bin") == DATA
        assert bearer_srv.requests[0].authorization and not other.requests[0].authorization


def test_no_secret_in_any_text(basic_srv: DemoServer, bearer_srv: DemoServer) -> None:
    import traceback

    texts: list[str] = []

    def record(fn) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - collecting every message
            texts.append("".join(traceback.format_exception(exc)))
        else:
            raise AssertionError("expected an error")

    wrong = [BasicAuth("alice", "x" + PASSWORD), BearerToken("x" + TOKEN),
             Headers({"Authorization": f"Bearer x{TOKEN}"})]
    for cred in wrong:
        for server in (basic_srv, bearer_srv):
            store = HttpStore(server.url, credential=cred, retries=1, **FAST)
            texts += [repr(store), str(store), repr(cred), str(cred)]
            record(lambda store=store: get(store, "data.bin"))
            record(lambda store=store: run_sync(store.exists("data.bin")))
            server.fail_next(1, status=403)
            record(lambda store=store: get(store, "data.bin"))
            server.fail_next(2, status=502)
            record(lambda store=store: get(store, "data.bin"))
    unreachable = HttpStore(f"http://alice:{PASSWORD}@127.0.0.1:{closed_port()}/", retries=0)
    texts.append(repr(unreachable))
    record(lambda: get(unreachable, "zarr.json"))
    record(lambda: HttpStore(f"ftp://alice:{PASSWORD}@host/"))
    blob = "\n".join(texts)
    assert "401" in blob and "403" in blob and "502" in blob and "cannot connect" in blob
    assert PASSWORD not in blob and TOKEN not in blob


def test_proxy_for_honours_no_proxy_and_never_proxies_loopback(monkeypatch):
    from kit.io.http import proxy_for

    proxy = "http://proxy.example:3128"
    proxies = {"http": proxy, "https": proxy, "no": "internal.example"}
    assert proxy_for("https://data.example/plate.zarr/zarr.json", proxies) == proxy
    assert proxy_for("https://internal.example/plate.zarr", proxies) is None
    assert proxy_for("http://127.0.0.1:8000/plate.zarr", proxies) is None
    assert proxy_for("http://localhost:8000/plate.zarr", proxies) is None
    assert proxy_for("https://data.example/x", {}) is None
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", proxy)
    assert proxy_for("https://data.example/x") == proxy  # default: the environment, read now
    assert proxy_for("http://data.example/x") is None
