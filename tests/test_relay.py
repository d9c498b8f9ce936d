"""The classroom relay (kit.relay) in front of real DemoServers on 127.0.0.1: coalescing counted
on the upstream's request log, consolidated metadata (what a student's open costs), HTTP
semantics (Range, HEAD, ETag/304), students' credentials, the rate limit, polite retries, the
status page, and bad input answered with clear errors and nothing cached wrongly."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from relay_helpers import CLASS, TOKENS, UP_PASSWORD, basic, bearer, request

import kit
from kit.demo.generate import write_plate
from kit.relay import StudentTokens, load_tokens

pytest_plugins = ["relay_fixtures"]  # the relays and relay_clean fixtures
pytestmark = pytest.mark.usefixtures("relay_clean")
CHUNK = "B/03/0/0/0/0/0/0"  # a chunk of the first field's full-resolution level


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plate(tmp_path_factory.mktemp("relay") / "plate.zarr", version="0.4",
                       image_kwargs={"tables": True})


def _upstream_paths(server, *, since: int = 0) -> list[str]:
    return [r.path for r in server.requests[since:]]


# -- coalescing and the memory cache ------------------------------------------------------------


def test_simultaneous_students_cost_one_upstream_request(plate, serve, relays):
    up = serve(plate, auth="basic", password=UP_PASSWORD, latency=0.3)
    relay = relays(up.url, kit.BasicAuth("demo", UP_PASSWORD), consolidate=False)
    answers: list = [None] * 20

    def student(i: int) -> None:
        answers[i] = request(relay.url, "/" + CHUNK, basic(*CLASS))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    expected = (plate / CHUNK).read_bytes()
    assert all(a.status == 200 and a.body == expected for a in answers)
    assert up.count(lambda r: r.path == "/" + CHUNK) == 1
    assert relay.stats.coalesced + relay.stats.memory_hits == 19
    assert relay.stats.coalesced >= 10  # they arrived within the upstream's 0.3 s
    # later students are answered from memory: still one request upstream
    assert request(relay.url, "/" + CHUNK, basic(*CLASS)).body == expected
    assert up.count(lambda r: r.path == "/" + CHUNK) == 1


# -- consolidated metadata: what a student's open costs -----------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_opening_a_plate_through_the_relay_costs_the_root_round_trip(tmp_path, serve, relays,
                                                                     version):
    root = write_plate(tmp_path / "p.zarr", version=version, image_kwargs={"tables": True})
    up = serve(root, auth="basic", password=UP_PASSWORD)
    relay = relays(up.url, kit.BasicAuth("demo", UP_PASSWORD))
    assert relay.wait_consolidated(60), relay.stats.consolidated
    before_up, before = up.count(), relay.stats.requests
    opened = kit.open(relay.url, auth=kit.BasicAuth(*CLASS))
    for well_path in opened.well_paths:  # every well, field, level, label and table group
        for image in opened.well(well_path).images.values():
            assert image.levels and list(image.labels) == ["nuclei"]
            assert "nuclei_features" in image.tables
    # the root probe's one round trip (zarr.json, .zattrs, .zgroup, .zmetadata asked at once),
    # then nothing: every other document came inside the consolidated one
    assert relay.stats.requests - before == 4
    assert up.count() == before_up  # and the upstream saw none of them
    local = kit.open(root)
    got = opened.well("B/03").images["0"].tables["nuclei_features"].to_pandas()
    want = local.well("B/03").images["0"].tables["nuclei_features"].to_pandas()
    assert got.equals(want)
    field = opened.well("C/05").images["0"]
    np.testing.assert_array_equal(field.read(0),
                                  zarr.open_array(str(root / "C/05/0/0"), mode="r")[:])


def test_the_walk_reads_what_a_student_reads_not_the_table_columns(tmp_path, serve, relays):
    """On the classroom plate (``sample_dataset``) the walk costs 184 upstream requests (it was
    1403 when it followed every AnnData column); the tables' members come when first read."""
    from kit.demo.hcs import sample_dataset

    root = sample_dataset(tmp_path / "plate.zarr")
    up = serve(root)
    relay = relays(up.url)
    assert relay.wait_consolidated(120), relay.stats.consolidated
    walk = _upstream_paths(up)
    # 4 root probes, then per group its .zattrs (.zgroup too where there is none: the rows and
    # the wells' absent tables groups), per level its .zarray: 184 in all
    assert len(walk) == 184
    assert not [p for p in walk if "/obs/" in p or "/var/" in p or "/X/" in p]
    document = json.loads(request(relay.url, "/.zmetadata", basic(*CLASS)).body)
    assert set(document) == {"zarr_consolidated_format", "metadata"}  # no kit-only key
    assert "B/03/0/tables/nuclei_features/.zattrs" in document["metadata"]
    assert "B/03/0/tables/nuclei_features/obs/.zattrs" not in document["metadata"]

    def lesson() -> object:
        opened = kit.open(relay.url, auth=kit.BasicAuth(*CLASS))
        image = opened.well("B/03").images["0"]
        assert kit.preview(image, max_size=128).size
        return image.tables["nuclei_features"].to_pandas()

    before = up.count()
    first = lesson()
    one_student = up.count() - before
    assert 0 < one_student <= 62  # the lesson's chunks and table members, once
    assert first.equals(kit.open(root).well("B/03").images["0"].tables["nuclei_features"]
                        .to_pandas())
    second = lesson()
    assert second.equals(first) and up.count() == before + one_student  # the next: nothing


def test_an_upstream_that_is_consolidated_is_used_as_it_is(tmp_path, serve, relays):
    root = write_plate(tmp_path / "p.zarr", version="0.4")
    written = kit.consolidate(root)
    up = serve(root)
    relay = relays(up.url)
    assert relay.wait_consolidated(30)
    answer = request(relay.url, "/.zmetadata", basic(*CLASS))
    assert answer.status == 200
    assert json.loads(answer.body) == json.loads(written.read_bytes())
    assert up.count(lambda r: r.path == "/B/03/.zattrs") == 0  # no walk was needed


# -- HTTP semantics --------------------------------------------------------------------------


RANGE_HEADERS = ["bytes=2-5", "bytes=-4", "bytes=10-", "bytes=0-" + "9" * 40,
                 "bytes=" + "9" * 5000 + "-", "bytes=-0", "bytes=0-\u00b2", "bytes=5-2",
                 "bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes= 3 - 7 "]


def test_the_relay_and_the_demo_server_read_a_range_alike(plate, serve, relays):
    """One server-side Range parser (kit.cache.byterange): same status, Content-Range, body."""
    up = serve(plate)
    relay = relays(up.url, consolidate=False)
    for header in RANGE_HEADERS:
        ours = request(relay.url, "/" + CHUNK, {**basic(*CLASS), "Range": header})
        demo = request(up.url, "/" + CHUNK, {"Range": header})
        assert ours.status == demo.status, header
        assert ours.headers.get("content-range") == demo.headers.get("content-range"), header
        if ours.status != 416:
            assert ours.body == demo.body, header


def test_range_head_etag_and_304(plate, serve, relays):
    up = serve(plate)
    relay = relays(up.url, consolidate=False)
    data = (plate / CHUNK).read_bytes()
    auth = basic(*CLASS)
    full = request(relay.url, "/" + CHUNK, auth)
    assert full.status == 200 and full.body == data and full.headers["accept-ranges"] == "bytes"
    etag = full.headers["etag"]
    assert request(relay.url, "/" + CHUNK, auth).headers["etag"] == etag  # stable
    not_modified = request(relay.url, "/" + CHUNK, {**auth, "If-None-Match": etag})
    assert not_modified.status == 304 and not_modified.body == b""
    assert request(relay.url, "/" + CHUNK, {**auth, "If-None-Match": '"other"'}).status == 200
    part = request(relay.url, "/" + CHUNK, {**auth, "Range": "bytes=2-5"})
    assert part.status == 206 and part.body == data[2:6]
    assert part.headers["content-range"] == f"bytes 2-5/{len(data)}"
    suffix = request(relay.url, "/" + CHUNK, {**auth, "Range": "bytes=-4"})
    assert suffix.status == 206 and suffix.body == data[-4:]
    assert request(relay.url, "/" + CHUNK, {**auth, "Range": "bytes=10-"}).body == data[10:]
    clipped = request(relay.url, "/" + CHUNK, {**auth, "Range": "bytes=0-" + "9" * 40})
    assert clipped.status == 206 and clipped.body == data
    for huge in ("bytes=" + "9" * 40 + "-", f"bytes={len(data)}-", "bytes=-0"):
        refused = request(relay.url, "/" + CHUNK, {**auth, "Range": huge})
        assert refused.status == 416, huge
        assert refused.headers["content-range"] == f"bytes */{len(data)}"
        assert b"range not satisfiable" in refused.body and str(len(data)).encode() in refused.body
    head = request(relay.url, "/" + CHUNK, auth, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(data)) and head.headers["etag"] == etag
    assert up.count(lambda r: r.path == "/" + CHUNK) == 1  # one upstream read for all of it
    missing = request(relay.url, "/B/03/0/0/9/9/9/9", auth)
    assert missing.status == 404 and b"not found" in missing.body
    assert request(relay.url, "/" + CHUNK, auth, method="PUT").status == 405


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2e/secret.txt",
                                  "/%252e%252e/secret.txt", "/B/..%2f..%2fsecret.txt",
                                  "//secret.txt", "/B/./03/.zattrs", "/B%5c..%5csecret.txt",
                                  "/a%00b", "http://127.0.0.1/secret.txt"])
def test_a_path_outside_the_dataset_is_refused(tmp_path, serve, relays, path):
    root = write_plate(tmp_path / "data" / "p.zarr", version="0.4")
    (tmp_path / "data" / "secret.txt").write_text("not for students")
    up = serve(tmp_path / "data")  # the upstream serves more than the relayed dataset
    relay = relays(up.url + "p.zarr/", consolidate=False)
    assert root.is_dir()
    answer = request(relay.url, path, basic(*CLASS))
    assert answer.status in (400, 404), (path, answer.status)
    assert b"not for students" not in answer.body
    assert up.count(lambda r: "secret" in r.path) == 0


# -- students ------------------------------------------------------------------------------------


def test_students_tokens_wrong_token_and_names_in_the_log(plate, serve, relays, tmp_path):
    file = tmp_path / "tokens.txt"
    file.write_text("# name token\n" + "".join(f"{n}  {t}\n" for n, t in TOKENS.items()) + "\n")
    students = load_tokens(file)
    assert students.tokens == TOKENS and "alice-token" not in repr(students)
    up = serve(plate)
    relay = relays(up.url, students=students, consolidate=False)
    for headers in ({}, bearer("wrong-token-000"), basic(*CLASS), {"Authorization": "Bearer"}):
        refused = request(relay.url, "/.zattrs", headers)
        assert refused.status == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert b"token" in refused.body
    assert up.count() == 0  # nothing reached the upstream for them
    assert request(relay.url, "/.zattrs", bearer(TOKENS["bob"])).status == 200
    opened = kit.open(relay.url, auth=kit.BearerToken(TOKENS["alice"]))
    assert opened.well_paths
    log = relay.log_stream.getvalue()
    assert " bob GET /.zattrs 200 " in log and " alice GET " in log
    assert " - GET /.zattrs 401 " in log
    assert all(token not in log for token in TOKENS.values())
    status = json.loads(request(relay.url, "/_relay/status?format=json",
                                bearer(TOKENS["bob"])).body)
    assert status["students_connected"] == ["alice", "bob"]
    assert status["unauthorized"] == 4


@pytest.mark.parametrize(("text", "said"), [
    ("alice\n", "line 1: expected 'name token'"),
    ("alice tiny\n", "shorter than 8"),
    ("alice tok-aaaaaaaa\nalice tok-bbbbbbbb\n", "listed twice"),
    ("alice tok-aaaaaaaa\nbob tok-aaaaaaaa\n", "also another student's"),
    ("# nobody\n", "no student"),
])
def test_a_bad_tokens_file_names_the_line_not_the_token(tmp_path, text, said):
    file = tmp_path / "tokens.txt"
    file.write_text(text)
    with pytest.raises(kit.KitError) as info:
        load_tokens(file)
    assert said in str(info.value) and str(file) in str(info.value)
    for secret in ("tok-aaaaaaaa", "tok-bbbbbbbb", "tiny"):
        assert secret not in str(info.value)


def test_the_rate_limit_answers_429_with_retry_after(plate, serve, relays):
    up = serve(plate)
    relay = relays(up.url, students=StudentTokens(TOKENS), consolidate=False, rate=0.5, burst=3)
    statuses = [request(relay.url, "/.zattrs", bearer(TOKENS["alice"])).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = request(relay.url, "/.zattrs", bearer(TOKENS["alice"]))
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    assert request(relay.url, "/.zattrs", bearer(TOKENS["bob"])).status == 200  # per student
    assert " alice GET /.zattrs 429 " in relay.log_stream.getvalue()


def test_a_kit_student_rides_out_the_rate_limit(plate, serve, relays):
    up = serve(plate)
    relay = relays(up.url, students=StudentTokens(TOKENS), consolidate=False, rate=4, burst=3)
    opened = kit.open(relay.url, auth=kit.BearerToken(TOKENS["alice"]))
    picture = kit.preview(opened.well("B/03").images["0"], max_size=64)
    assert picture.size and relay.stats.rate_limited > 0  # limited, retried, finished


# -- the upstream: polite retries, failures ------------------------------------------------------


def test_upstream_429_retry_after_is_honoured(plate, serve, relays):
    up = serve(plate)
    relay = relays(up.url, consolidate=False)
    up.fail_next(1, 429, retry_after=1)
    answer = request(relay.url, "/" + CHUNK, basic(*CLASS))
    assert answer.status == 200 and answer.body == (plate / CHUNK).read_bytes()
    tries = [r for r in up.requests if r.path == "/" + CHUNK]
    assert [r.status for r in tries] == [429, 200]
    assert tries[1].time - tries[0].time >= 0.9  # the Retry-After, not the 50 ms backoff


def test_upstream_down_is_502_and_nothing_is_cached(plate, relays):
    from helpers import free_port

    from kit.demo.server import DemoServer

    port = free_port()
    relay = relays(f"http://127.0.0.1:{port}/", consolidate=False)
    started = time.monotonic()
    down = request(relay.url, "/" + CHUNK, basic(*CLASS))
    assert down.status in (502, 504) and time.monotonic() - started < 30
    assert b"upstream could not be read" in down.body and str(port).encode() not in down.body
    with DemoServer(plate, port=port) as up:  # back: the next student gets the data
        again = request(relay.url, "/" + CHUNK, basic(*CLASS))
        assert again.status == 200 and again.body == (plate / CHUNK).read_bytes()
        assert up.count() == 1


def test_upstream_refusing_the_credential_is_a_clear_502(plate, serve, relays):
    up = serve(plate, auth="basic", password="the-real-one")
    relay = relays(up.url, kit.BasicAuth("demo", UP_PASSWORD), consolidate=False)
    refused = request(relay.url, "/.zattrs", basic(*CLASS))
    assert refused.status == 502
    assert b"refused the relay's credentials" in refused.body
    assert UP_PASSWORD.encode() not in refused.body and b"www-authenticate" not in \
        b"".join(k.encode() for k in refused.headers)
    assert request(relay.url, "/.zattrs", basic(*CLASS)).status == 502  # asked again, not cached
    assert up.count(lambda r: r.path == "/.zattrs") == 2


def test_a_redirect_upstream_is_followed_by_the_relay_not_the_student(plate, serve, relays):
    target = serve(plate)
    front = serve(plate)
    front.redirect_to(target.url)
    relay = relays(front.url, consolidate=False)
    answer = request(relay.url, "/" + CHUNK, basic(*CLASS))
    assert answer.status == 200 and "location" not in answer.headers
    assert str(target.port).encode() not in answer.body


# -- the status page ----------------------------------------------------------------------------


def test_status_page_html_and_json(plate, serve, relays):
    up = serve(plate)
    relay = relays(up.url, consolidate=False)
    for _ in range(3):
        request(relay.url, "/" + CHUNK, basic(*CLASS))
    page = request(relay.url, "/_relay/status", basic(*CLASS))
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b"upstream requests saved" in page.body
    stats = json.loads(request(relay.url, "/_relay/status?format=json", basic(*CLASS)).body)
    assert stats["upstream_requests"] == 1 and stats["memory_hits"] == 2
    assert stats["upstream_requests_saved"] == 2 and stats["students_connected"] == [
        "class@127.0.0.1"]
    assert request(relay.url, "/_relay/status").status == 401
