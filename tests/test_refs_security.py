"""Refs trust rules and bad input, against real DemoServers on 127.0.0.1.

A remote refs document may not read local files unless allowed; credentials reach only the
origin they are bound to; malformed documents and refs give typed errors naming the key and the
refs file, never a raw KeyError or JSONDecodeError.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.auth import BearerToken
from kit.demo.server import DemoServer
from kit.errors import InvalidMetadata, KitError, PermissionDenied, UnsupportedVersion
from kit.io.loop import run_sync
from kit.io.refs import RefsStore, open_refs

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

PROTO = default_buffer_prototype()
ARRAY = {"zarr_format": 2, "shape": [4], "chunks": [4], "dtype": "<i4", "compressor": None,
         "filters": None, "fill_value": 0, "order": "C"}
DATA = np.arange(4, dtype="<i4").tobytes()


@pytest.fixture
def served(tmp_path: Path) -> Path:
    d = tmp_path / "served"
    d.mkdir()
    return d


def _doc(chunk_ref: object) -> dict:
    return {"refs": {".zgroup": {"zarr_format": 2}, "a/.zarray": ARRAY, "a/0": chunk_ref}}


def _get(node: kit.Group, key: str) -> bytes | None:
    store = node.location.store.inner
    assert isinstance(store, RefsStore)
    buf = run_sync(store.get(key, PROTO))
    return None if buf is None else buf.to_bytes()


# --- local files named by remote documents -----------------------------------------------------


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_remote_refs_may_not_read_local_files(served: Path, tmp_path: Path, form: str) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(DATA)
    target = str(secret) if form == "path" else secret.as_uri()
    (served / "evil.json").write_text(json.dumps(_doc([target, 0, 16])))
    with DemoServer(served) as srv:
        node = kit.open(srv.url + "evil.json")
        with pytest.raises(PermissionDenied, match="local file") as err:
            _get(node, "a/0")
        assert "'a/0'" in str(err.value) and "evil.json" in str(err.value)
        with pytest.raises(PermissionDenied):
            node.members["a"].compute()
        allowed = kit.open(srv.url + "evil.json", storage_options={"allow_local": True})
        np.testing.assert_array_equal(allowed.members["a"].compute(), np.arange(4))
        loc = open_refs(srv.url + "evil.json", allow_local=True)
        assert run_sync(loc.store.get("a/0", PROTO)).to_bytes() == DATA


def test_remote_refs_may_not_use_chained_or_memory_protocols(served: Path) -> None:
    (served / "evil.json").write_text(json.dumps(_doc(["memory://x/y", 0, 16])))
    with DemoServer(served) as srv:
        with pytest.raises(PermissionDenied, match="memory://") as err:
            _get(kit.open(srv.url + "evil.json"), "a/0")
        assert "'a/0'" in str(err.value)


def test_local_documents_read_local_files(tmp_path: Path) -> None:
    (tmp_path / "c.bin").write_bytes(DATA)
    (tmp_path / "ok.json").write_text(json.dumps(_doc([str(tmp_path / "c.bin"), 0, 16])))
    np.testing.assert_array_equal(kit.open(tmp_path / "ok.json").members["a"].compute(),
                                  np.arange(4))


# --- credentials go only where they are bound --------------------------------------------------


def test_document_credential_goes_to_its_origin_only(served: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    other_root = tmp_path / "other"
    other_root.mkdir()
    (other_root / "c.bin").write_bytes(DATA)
    (served / "c.bin").write_bytes(DATA)
    with DemoServer(served, auth="bearer", token="doc-token") as doc_srv, \
            DemoServer(other_root) as other:
        refs = {"refs": {".zgroup": {"zarr_format": 2}, "a/.zarray": ARRAY, "b/.zarray": ARRAY,
                         "a/0": [doc_srv.url + "c.bin", 0, 16],
                         "b/0": [other.url + "c.bin", 0, 16]}}
        (served / "r.json").write_text(json.dumps(refs))
        # the env token is the chain's answer for the document's origin only, like auth=
        monkeypatch.setenv("NGFF_KIT_TOKEN", "env-token")
        node = kit.open(doc_srv.url + "r.json", auth=doc_srv.credential)
        np.testing.assert_array_equal(node.members["a"].compute(), np.arange(4))
        np.testing.assert_array_equal(node.members["b"].compute(), np.arange(4))
        assert doc_srv.count() >= 2
        assert doc_srv.count(lambda r: not r.authorization) == 0
        assert other.count() == 1
        assert other.count(lambda r: r.authorization) == 0
        # a credential registered for exactly the other origin is the user's own binding
        with DemoServer(other_root, auth="bearer", token="other-token") as locked:
            refs["refs"]["b/0"] = [locked.url + "c.bin", 0, 16]
            (served / "r2.json").write_text(json.dumps(refs))
            node = kit.open(doc_srv.url + "r2.json", auth=doc_srv.credential)
            with pytest.raises(kit.AuthenticationError):
                _get(node, "b/0")
            assert locked.count(lambda r: r.authorization) == 0
            kit.credentials.register(locked.url, BearerToken("other-token"))
            assert _get(node, "b/0") == DATA
            assert locked.count(lambda r: r.authorization) == 1


def test_auth_for_a_local_document_has_no_origin(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text(json.dumps(_doc(["http://127.0.0.1:9/x", 0, 4])))
    with pytest.raises(KitError, match=r"credentials\.register"):
        kit.open(tmp_path / "r.json", auth=BearerToken("t"))
    with pytest.raises(KitError, match=r"credentials\.register"):
        kit.open(_doc(["http://127.0.0.1:9/x", 0, 4]), auth=BearerToken("t"))


# --- malformed documents -----------------------------------------------------------------------


@pytest.mark.parametrize("content, error, text", [
    ("{not json", InvalidMetadata, "not valid JSON"),
    ("[1, 2]", InvalidMetadata, "JSON object"),
    ('{"version": 1}', InvalidMetadata, "'refs' must be an object \\(it is missing\\)"),
    ('{"version": 1, "refs": [1]}', InvalidMetadata, "it is a list"),
    ('{"refs": {}, "templates": {"u": 3}}', InvalidMetadata, "templates"),
    ('{"version": 7, "refs": {}}', UnsupportedVersion, "refs version 7"),
    ('{"refs": {}, "gen": [{"key": "k"}]}', InvalidMetadata, "gen"),
    (('{"refs": {}, "gen": [{"key": "k{{i}}", "url": "u", "offset": 1, '
      '"dimensions": {"i": [1]}}]}'), InvalidMetadata, "must come together"),
])
def test_malformed_documents(tmp_path: Path, content: str, error: type, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(error, match=text) as err:
        kit.open(path)
    assert "bad.json" in str(err.value)


def test_malformed_document_over_http(served: Path) -> None:
    (served / "bad.lindi.json").write_text("{oops")
    with DemoServer(served) as srv:
        with pytest.raises(InvalidMetadata, match="not valid JSON") as err:
            kit.open(srv.url + "bad.lindi.json")
        assert "bad.lindi.json" in str(err.value)
        with pytest.raises(kit.NotFound):
            kit.open(srv.url + "missing.lindi.json")


@pytest.mark.parametrize("ref, text", [
    (["x", 1], "\\[url\\] or \\[url, offset, length\\]"),
    (["x", 1, 2, 3], "\\[url\\] or \\[url, offset, length\\]"),
    (["x", "1", 2], "must be integers"),
    (["x", 0, -4], "negative"),
    ([5, 0, 4], "url of a ref"),
    (["x", 0, 0], "zero-length"),
    (42, "string, an object or a list"),
    (None, "string, an object or a list"),
    ("base64:@@@", "base64"),
    (["{{nope}}/x", 0, 4], "template \\{\\{nope\\}\\} is not defined"),
])
def test_bad_refs_name_the_key_and_the_file(tmp_path: Path, ref: object, text: str) -> None:
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(_doc(ref)))
    node = kit.open(path)  # one bad value does not spoil the document
    with pytest.raises(InvalidMetadata, match=text) as err:
        _get(node, "a/0")
    assert "'a/0'" in str(err.value) and "refs.json" in str(err.value)
    with pytest.raises(InvalidMetadata):
        node.members["a"].compute()


@pytest.mark.parametrize("offset, length, text", [
    (8, 16, "got 8 of 16 bytes"),  # the server sends fewer bytes than asked
    (100, 4, "got 0 of 4 bytes"),  # 416: the range starts past the end
])
def test_ref_past_the_end_of_its_file(served: Path, offset: int, length: int, text: str) -> None:
    (served / "c.bin").write_bytes(DATA)
    with DemoServer(served) as srv:
        (served / "r.json").write_text(json.dumps(_doc([srv.url + "c.bin", offset, length])))
        node = kit.open(srv.url + "r.json")
        with pytest.raises(InvalidMetadata, match="past the end") as err:
            _get(node, "a/0")
        assert text in str(err.value) and "'a/0'" in str(err.value)
        assert "r.json" in str(err.value)


def test_ref_past_the_end_of_a_local_file(tmp_path: Path) -> None:
    (tmp_path / "c.bin").write_bytes(DATA)
    node = kit.open(_doc([str(tmp_path / "c.bin"), 10, 16]))
    with pytest.raises(InvalidMetadata, match="got 6 of 16 bytes"):
        _get(node, "a/0")


def test_ref_to_a_missing_file_is_an_error_not_a_fill_value(served: Path) -> None:
    with DemoServer(served) as srv:
        node = kit.open(_doc([srv.url + "gone.bin", 0, 16]))
        with pytest.raises(kit.NotFound, match="does not exist") as err:
            _get(node, "a/0")
        assert "'a/0'" in str(err.value)


def test_network_errors_name_the_key(served: Path) -> None:
    (served / "c.bin").write_bytes(DATA)
    with DemoServer(served, auth="bearer", token="t") as srv:
        node = kit.open(_doc([srv.url + "c.bin", 0, 16]))
        with pytest.raises(kit.AuthenticationError) as err:
            _get(node, "a/0")
        assert "'a/0'" in str(err.value) and "c.bin" in str(err.value)


def test_no_secret_in_reprs_or_messages(served: Path) -> None:
    (served / "c.bin").write_bytes(DATA)
    with DemoServer(served, auth="bearer", token="tok-secret-42") as srv:
        (served / "r.json").write_text(json.dumps(_doc([srv.url + "c.bin", 0, 16])))
        node = kit.open(srv.url + "r.json", auth=srv.credential,
                        storage_options={"remote_options": {"secret": "s3-secret-42"}})
        store = node.location.store.inner
        for text in (repr(node), repr(store), repr(store._ctx), repr(node.location.store)):
            assert "tok-secret-42" not in text and "s3-secret-42" not in text
        assert _get(node, "a/0") == DATA
