"""The persistent cache (kit.cache) in one process: entries, revalidation by 304 on the demo
server, chunks keyed by their array's metadata, offline mode, eviction, no secret on disk.

Processes sharing a cache (concurrent readers, kill -9, a script run again with the server
stopped) are in test_cache_processes.py.
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.cache import CachedStore, DiskCache, NotCached, namespace, parse_size
from kit.cache.disk import Entry, entry_id
from kit.demo.generate import write_image
from kit.io.loop import run_sync
from kit.io.sources import open_location

PASSWORD = "Cache-Pa55word-xyz"
TOKEN = "tok-Cache-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_cache_env(monkeypatch, no_machine_credentials):
    monkeypatch.delenv("NGFF_KIT_CACHE", raising=False)
    monkeypatch.delenv("NGFF_KIT_OFFLINE", raising=False)


@pytest.fixture
def image(tmp_path) -> Path:
    """A v0.5 image, 2 levels, 8 chunks on level 0."""
    root = tmp_path / "data"
    write_image(root / "img.zarr", version="0.5", axes="cyx", shape=(2, 64, 64),
                chunks=(1, 32, 32), levels=2)
    return root


def origin(root: Path, level: int = 0) -> np.ndarray:
    return zarr.open_array(root / "img.zarr" / str(level), mode="r")[:]


def is_chunk(record) -> bool:
    return "/c/" in record.path


def cache_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


# -- entries on disk -------------------------------------------------------------------------

def test_entry_round_trip_and_missing_marker(tmp_path):
    disk = DiskCache(tmp_path, 10**6)
    disk.write("ab" * 32, Entry(b"payload", etag='"e1"', last_modified="Tue, 01 Dec 2026"))
    disk.write("cd" * 32, Entry(None))
    got = disk.read("ab" * 32)
    assert got == Entry(b"payload", '"e1"', "Tue, 01 Dec 2026")
    assert disk.read("cd" * 32) == Entry(None)
    assert disk.read("ef" * 32) is None
    assert disk.info() == (sum(p.stat().st_size for p in cache_files(tmp_path)), 2)


# The entry names of ranges as they were written before the range spelling moved to
# kit.cache.byterange: existing cache folders hold these names, so they must not change.
OLD_RANGE_NAMES = [
    (None, ""),
    (RangeByteRequest(2, 40), "#2-40"),
    (OffsetByteRequest(7), "#7-"),
    (SuffixByteRequest(16), "#-16"),
]


@pytest.mark.parametrize(("byte_range", "suffix"), OLD_RANGE_NAMES)
def test_range_entries_written_before_are_found_under_the_same_names(image, tmp_path,
                                                                     byte_range, suffix):
    """An entry planted under the old name of each ByteRequest kind is what the store answers
    (a changed name would read the array's chunk from the backend instead)."""
    from zarr.storage import LocalStore

    from kit.cache.disk import digest

    array = image / "img.zarr" / "0"
    chunk = "0/c/0/0/0"
    scope = digest((array / "zarr.json").read_bytes())
    disk = DiskCache(tmp_path / "cache", 10**7)
    ns = namespace("https://example.org/img.zarr")
    planted = b"planted under " + suffix.encode()
    disk.write(entry_id(ns, f"{chunk}{suffix}@{scope}"), Entry(planted))
    store = CachedStore(LocalStore(image / "img.zarr", read_only=True), disk, ns)
    got = run_sync(store.get(chunk, default_buffer_prototype(), byte_range))
    assert got is not None and got.to_bytes() == planted


def test_the_http_range_header_of_each_byte_request():
    from kit.cache.byterange import range_header
    from kit.io.http.ranges import range_header as reexported

    assert reexported is range_header
    assert [range_header(r) for r, _ in OLD_RANGE_NAMES] == [
        None, "bytes=2-39", "bytes=7-", "bytes=-16"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_entry_is_a_miss_and_removed(tmp_path, damage):
    disk = DiskCache(tmp_path, 10**6)
    eid = entry_id("http://h:80/", "0/c/0/0/0")
    disk.write(eid, Entry(bytes(range(256)) * 4))
    path = next(p for p in cache_files(tmp_path))
    raw = path.read_bytes()
    damaged = {"truncate": raw[:-10], "flip": raw[:-1] + bytes([raw[-1] ^ 1]),
               "garbage": b"not an entry at all", "empty": b""}[damage]
    path.write_bytes(damaged)
    assert disk.read(eid) is None
    assert not path.exists()


def test_corrupt_entries_are_refetched_never_returned(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    assert np.array_equal(kit.open(srv.url + "img.zarr", cache=cache).read(0), origin(image))
    for path in cache_files(cache):  # every entry cut short, as by a full disk
        path.write_bytes(path.read_bytes()[:-3])
    srv.reset_log()
    assert np.array_equal(kit.open(srv.url + "img.zarr", cache=cache).read(0), origin(image))
    assert srv.count(is_chunk) == 8 and srv.count(lambda r: r.status == 304) == 0


def test_eviction_removes_least_recently_used(tmp_path):
    disk = DiskCache(tmp_path, 10_000)
    ids = [entry_id("ns/", f"k{i}") for i in range(6)]
    for i, eid in enumerate(ids[:4]):
        disk.write(eid, Entry(bytes(2000)))
        path = disk._path(eid)
        os.utime(path, (1000 + i, 1000 + i))  # k0 oldest ... k3 newest
    assert disk.read(ids[0]) is not None  # a hit: k0 becomes the most recent
    disk.write(ids[4], Entry(bytes(2000)))
    disk.write(ids[5], Entry(bytes(2000)))  # > 10 000 bytes: evict down to 9 000
    kept = {i for i, eid in enumerate(ids) if disk._path(eid).exists()}
    assert 0 in kept and 5 in kept and 1 not in kept, kept
    size, _ = disk.info()
    assert size <= 10_000


def test_cache_size_bounds_what_an_open_leaves(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    kit.open(srv.url + "img.zarr", cache=cache, cache_size="6KB").read(0)
    size, entries = DiskCache(cache, 1).info()
    assert size <= 6000 and entries > 0


@pytest.mark.parametrize(("text", "value"), [
    (None, 5 * 10**9), (123, 123), ("2GB", 2 * 10**9), ("500 MiB", 500 * 2**20),
    ("1.5kb", 1500)])
def test_cache_sizes(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["lots", "-1GB", 0, "5 parsecs", True])
def test_bad_cache_sizes_are_kit_errors(bad):
    with pytest.raises(kit.KitError, match="cache_size"):
        parse_size(bad)


def test_bad_cache_argument_is_a_kit_error(serve, image):
    with pytest.raises(kit.KitError, match="cache="):
        kit.open(serve(image).url + "img.zarr", cache=3)


# -- keys: origin and path, never a credential --------------------------------------------------

def test_namespace_has_no_userinfo_query_or_default_port():
    assert namespace("HTTPS://alice:pw@Data.Example.org/a/b.zarr?X-Amz-Signature=abc#f") == \
        "https://data.example.org:443/a/b.zarr/"
    assert namespace("s3://bucket/p", endpoint="http://127.0.0.1:9000") == \
        "[http://127.0.0.1:9000/]s3://bucket/p/"


def test_local_folders_are_not_cached(image, tmp_path):
    location = open_location(image / "img.zarr", cache=tmp_path / "cache")
    assert not isinstance(location.store.inner, CachedStore)
    assert not (tmp_path / "cache").exists()


def test_environment_turns_the_cache_on(serve, image, tmp_path, monkeypatch):
    monkeypatch.setenv("NGFF_KIT_CACHE", str(tmp_path / "envcache"))
    location = open_location(serve(image).url + "img.zarr")
    assert isinstance(location.store.inner, CachedStore)
    assert location.store.inner.cache.root == tmp_path / "envcache"
    assert kit.cache.info().path == tmp_path / "envcache"
    assert not isinstance(open_location(serve(image).url + "img.zarr", cache=False).store.inner,
                          CachedStore)


# -- revalidation -------------------------------------------------------------------------------

def test_second_session_revalidates_documents_by_304_and_reads_no_chunk(serve, image, tmp_path):
    srv = serve(image, latency=0.01)
    cache = tmp_path / "cache"
    first = kit.open(srv.url + "img.zarr", cache=cache).read(0)
    assert srv.count(is_chunk) == 8
    documents_first = srv.count(lambda r: r.path.endswith("zarr.json"))
    srv.reset_log()
    second = kit.open(srv.url + "img.zarr", cache=cache).read(0)
    assert np.array_equal(first, origin(image)) and np.array_equal(second, origin(image))
    assert srv.count(is_chunk) == 0  # chunks of unchanged arrays: from disk, no request
    assert srv.count(lambda r: r.status == 304) == documents_first  # each document once, 304
    assert srv.count(lambda r: r.status == 200) == 0


def test_changed_metadata_makes_old_chunks_unreachable(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    kit.open(srv.url + "img.zarr", cache=cache).read(0)
    array = zarr.open_array(image / "img.zarr" / "0", mode="r+")
    array[:] = array[:] + 7
    array.attrs["rewritten"] = True  # the array's zarr.json changes with its data
    srv.reset_log()
    again = kit.open(srv.url + "img.zarr", cache=cache).read(0)
    assert np.array_equal(again, origin(image))
    assert srv.count(is_chunk) == 8
    assert srv.count(lambda r: r.path.endswith("/0/zarr.json") and r.status == 200) == 1


def test_documents_are_revalidated_once_per_session(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    location = open_location(srv.url + "img.zarr", cache=cache)
    store = location.store.inner
    proto = default_buffer_prototype()
    for _ in range(3):
        run_sync(store.get("zarr.json", proto))
    assert srv.count(lambda r: r.path.endswith("img.zarr/zarr.json")) == 1
    store.forget_session()
    run_sync(store.get("zarr.json", proto))
    assert srv.count(lambda r: r.path.endswith("img.zarr/zarr.json") and r.status == 304) == 1


def test_many_concurrent_store_gets_with_ranges_match_the_origin(serve, image, tmp_path):
    """What the relay does: open_location(..., cache=DIR), then store.get(key, proto, range)."""
    srv = serve(image, latency=0.01)
    store = open_location(srv.url + "img.zarr", cache=tmp_path / "cache").store
    files = sorted(p for p in (image / "img.zarr").rglob("*") if p.is_file())
    keys = [p.relative_to(image / "img.zarr").as_posix() for p in files]
    ranges = [None, RangeByteRequest(2, 40), SuffixByteRequest(16)]

    async def everything():
        return await asyncio.gather(*(store.get(k, default_buffer_prototype(), r)
                                      for _ in range(3) for k in keys for r in ranges))

    def expected(path, r):
        raw = path.read_bytes()
        return raw if r is None else raw[2:40] if isinstance(r, RangeByteRequest) else raw[-16:]

    for round_ in range(2):
        got = run_sync(everything())
        want = [expected(p, r) for _ in range(3) for p in files for r in ranges]
        assert [b.to_bytes() for b in got] == want, round_
        srv.reset_log()
    assert srv.count(is_chunk) == 0  # the second round: chunks from disk


def test_a_dropped_network_falls_back_to_the_cached_copy(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    url = srv.url + "img.zarr"
    first = kit.open(url, cache=cache).read(0)
    srv.stop()
    assert np.array_equal(kit.open(url, cache=cache).read(0), first)


def test_auth_errors_are_not_served_from_the_cache(serve, image, tmp_path):
    srv = serve(image, auth="basic", password=PASSWORD)
    cache = tmp_path / "cache"
    kit.open(srv.url + "img.zarr", auth=srv.credential, cache=cache).read(0)
    with pytest.raises(kit.AuthenticationError):
        kit.open(srv.url + "img.zarr", auth=kit.BasicAuth("demo", "wrong"), cache=cache)


# -- offline ------------------------------------------------------------------------------------

def test_offline_reads_what_was_read_and_names_what_was_not(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    url = srv.url + "img.zarr"
    first = kit.open(url, cache=cache).read(0)
    srv.reset_log()
    with kit.cache.offline():
        img = kit.open(url, cache=cache)
        assert np.array_equal(img.read(0), first)
        with pytest.raises(NotCached) as info:
            img.read(1)
    assert srv.count() == 0
    assert isinstance(info.value, kit.KitError)
    assert "img.zarr/1/" in str(info.value) and "offline" in str(info.value)
    assert not kit.cache.is_offline()


def test_offline_by_environment_without_any_entry(serve, image, tmp_path, monkeypatch):
    srv = serve(image)
    monkeypatch.setenv("NGFF_KIT_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # offline: the default folder
    with pytest.raises(NotCached, match=r"img\.zarr/(zarr\.json|\.z)"):
        kit.open(srv.url + "img.zarr")
    assert srv.count() == 0


# -- secrets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_no_secret_in_any_cache_file(serve, image, tmp_path, auth):
    srv = serve(image, auth=auth, password=PASSWORD, token=TOKEN)
    cache = tmp_path / "cache"
    for _ in range(2):  # a fill and a revalidation
        kit.open(srv.url + "img.zarr", auth=srv.credential, cache=cache).read(1)
    assert srv.count(lambda r: r.status == 304) > 0
    secrets = [PASSWORD, TOKEN, base64.b64encode(f"demo:{PASSWORD}".encode()).decode(),
               "Authorization", "Bearer ", "Basic "]
    files = cache_files(cache)
    assert files
    for path in files:
        raw = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, (path, secret)
        assert PASSWORD not in str(path) and TOKEN not in str(path)


def test_userinfo_credentials_share_entries_with_explicit_ones(serve, image, tmp_path):
    srv = serve(image, auth="basic", password=PASSWORD)
    cache = tmp_path / "cache"
    kit.open(srv.url + "img.zarr", auth=srv.credential, cache=cache).read(0)
    srv.reset_log()
    url = srv.url.replace("http://", f"http://demo:{PASSWORD}@") + "img.zarr"
    kit.open(url, cache=cache).read(0)
    assert srv.count(is_chunk) == 0  # same origin and path: the same entries


def test_refs_targets_are_keyed_by_the_document_not_the_signed_url(serve, image, tmp_path):
    """A refs document whose targets carry a signature: entries are named by the document's
    location and the store key, the signature is on no disk and a new one reuses them."""
    import json

    from kit.demo.refs import folder_refs

    served = tmp_path / "served"
    served.mkdir()
    srv = serve(served, auth="bearer", token=TOKEN)
    cache = tmp_path / "cache"
    want = zarr.open_array(image / "img.zarr" / "0", mode="r")[:]
    blob_reads = []
    for signature in ("SIGNATURE-one-abcdef", "SIGNATURE-two-123456"):
        refs, blobs = folder_refs(image / "img.zarr", lambda name, s=signature:
                                  f"{srv.url}{name}?X-Amz-Signature={s}&X-Amz-Expires=60")
        (served / "blob").write_bytes(blobs["blob"])
        (served / "img.lindi.json").write_text(json.dumps(refs))
        srv.reset_log()
        node = kit.open(srv.url + "img.lindi.json", auth=srv.credential, cache=cache)
        assert np.array_equal(node.read(0), want)
        blob_reads.append(srv.count(lambda r: r.path == "/blob"))
    assert blob_reads[0] > 0 and blob_reads[1] == 0  # the second document: chunks from disk
    for path in cache_files(cache):
        raw = path.read_bytes()
        assert b"SIGNATURE-" not in raw and TOKEN.encode() not in raw


def test_a_cached_location_pickles_and_reads_from_disk_after(serve, image, tmp_path):
    import pickle

    srv = serve(image)
    location = open_location(srv.url + "img.zarr", cache=tmp_path / "cache")
    img = kit.open(location)
    first = img.read(0)
    srv.reset_log()
    copy = pickle.loads(pickle.dumps(location))
    assert isinstance(copy.store.inner, CachedStore)
    assert np.array_equal(kit.open(copy).read(0), first)
    assert srv.count(is_chunk) == 0


def test_offline_with_the_cache_turned_off_is_a_clear_error(serve, image):
    srv = serve(image)
    with kit.cache.offline(), pytest.raises(NotCached, match="cache=False"):
        kit.open(srv.url + "img.zarr", cache=False)
    assert srv.count() == 0


def test_s3_through_the_cache_reads_offline_after_and_keeps_no_key(tmp_path):
    """CloudStore (obstore) on a signature-checking moto server: no ETag revalidation there,
    documents are read again once per session, chunks come from disk; offline needs no S3."""
    pytest.importorskip("moto")
    from s3_server import plate_in_bucket

    cache = tmp_path / "cache"
    with plate_in_bucket(tmp_path / "s3", "cache-bucket", rows="A", columns=("1",),
                         image_kwargs={"axes": "cyx", "shape": (2, 32, 32),
                                       "levels": 2}) as (server, local):
        auth = kit.S3Credentials(key=server.key, secret=server.secret,
                                 endpoint_url=server.endpoint)
        url = "s3://cache-bucket/plate.zarr"
        online = kit.open(url, auth=auth, cache=cache).images()["A/1/0"].read(0)
        assert np.array_equal(online, zarr.open_array(local / "A/1/0/0", mode="r")[:])
    with kit.cache.offline():  # the server is gone
        again = kit.open(url, auth=auth, cache=cache).images()["A/1/0"].read(0)
    assert np.array_equal(again, online)
    for path in cache_files(cache):
        raw = path.read_bytes()
        assert server.secret.encode() not in raw and server.key.encode() not in raw


def test_info_and_clear(serve, image, tmp_path):
    srv = serve(image)
    cache = tmp_path / "cache"
    assert kit.cache.info(cache).entries == 0
    kit.open(srv.url + "img.zarr", cache=cache).read(0)
    found = kit.cache.info(cache)
    assert found.entries == len(cache_files(cache)) > 8
    assert found.size == sum(p.stat().st_size for p in cache_files(cache))
    assert kit.cache.clear(cache) == found.entries
    assert kit.cache.info(cache).entries == 0 and not cache_files(cache)


def test_consolidated_v2_chunks_are_versioned_by_the_consolidated_document(serve, tmp_path):
    root = tmp_path / "data"
    write_image(root / "img.zarr", version="0.4", axes="cyx", shape=(2, 64, 64),
                chunks=(1, 32, 32), levels=2)
    kit.consolidate(root / "img.zarr")
    srv = serve(root)
    cache = tmp_path / "cache"
    kit.open(srv.url + "img.zarr", cache=cache).read(0)
    assert srv.count(lambda r: r.path.endswith("/0/.zarray")) == 0  # seeded, never fetched
    srv.reset_log()
    assert np.array_equal(kit.open(srv.url + "img.zarr", cache=cache).read(0), origin(root))
    assert srv.count(lambda r: "/0/" in r.path) == 0
    array = zarr.open_array(root / "img.zarr" / "0", mode="r+")
    array[:] = array[:] + 3
    array.attrs["rewritten"] = True
    kit.consolidate(root / "img.zarr")
    srv.reset_log()
    assert np.array_equal(kit.open(srv.url + "img.zarr", cache=cache).read(0), origin(root))
    assert srv.count(lambda r: r.path.startswith("/img.zarr/0/")) == 8


def test_offline_remote_refs_document_is_a_clear_error(serve, tmp_path):
    srv = serve(tmp_path)
    with kit.cache.offline(), pytest.raises(NotCached, match="refs document"):
        kit.open(srv.url + "img.lindi.json?X-Amz-Signature=abc", cache=tmp_path / "c")
    assert srv.count() == 0
