"""DANDI assets through refs, against a DANDI-like API and an S3-like store on 127.0.0.1.

The refs hold stable API URLs; the API answers with 302 redirects to presigned URLs that expire
after a few seconds. Measured here: one exchange per API URL per validity window, however many
chunk reads; renewal by the clock and on a 403; the token never reaches the S3 origin.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.auth.env import CREDENTIAL_VARIABLES
from kit.demo.dandi import DandiArchive
from kit.demo.generate import write_image
from kit.demo.refs import folder_refs
from kit.demo.server import DemoServer
from kit.errors import AuthenticationError, PermissionDenied
from kit.io.dandi import (
    DEFAULT_LIFETIME,
    DandiAccess,
    Presigned,
    presigned_window,
    renew_margin,
    resolver,
)
from kit.io.loop import run_sync

KEY = "good-key"
LIFETIME = 3  # seconds: DESIGN's example, used for 2 s


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for var in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))
    kit.credentials.clear()
    resolver.clear()
    yield
    kit.credentials.clear()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("img") / "img.zarr"
    return write_image(root, version="0.4", axes="cyx", shape=(2, 64, 64), chunks=(1, 16, 16),
                       levels=2, labels=())


@pytest.fixture
def archive():
    with DandiArchive(token=KEY, lifetime=LIFETIME) as arch:
        yield arch


def _publish(archive: DandiArchive, image: Path, *, embargoed: bool = True) -> dict:
    """Refs whose chunks are [api_url, offset, length] into one asset per pyramid level."""
    refs, blobs = folder_refs(image, lambda name: f"{archive.api_url}/assets/{name}/download/",
                              lambda key: "level-" + key.split("/")[0])
    for name, data in blobs.items():
        archive.add_asset(name, data, embargoed=embargoed)
    return refs


def _level(image: Path, level: int) -> np.ndarray:
    return zarr.open_group(str(image), mode="r")[str(level)][:]


def _exchanges(archive: DandiArchive, asset: str) -> int:
    return archive.count("api", path_contains=f"/assets/{asset}/", status=302)


# --- presigned URL lifetimes (no network) -----------------------------------------------------


def test_margin_is_proportional_to_the_lifetime() -> None:
    assert renew_margin(3) == 1.0  # a 3 s URL is used in its first 2 s
    assert renew_margin(6 * 3600) == 60.0  # a 6 h URL until a minute before its end
    p = Presigned("https://s3/x", issued=1000.0, lifetime=3.0)
    assert p.usable(1001.9) and not p.usable(1002.0)
    q = Presigned("https://s3/x", issued=0.0, lifetime=6 * 3600.0)
    assert q.usable(6 * 3600 - 61) and not q.usable(6 * 3600 - 59)


def test_lifetime_is_read_from_the_url() -> None:
    url = ("https://bucket.s3.amazonaws.com/blobs/a?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=21600&X-Amz-Signature=abc")
    issued = 1767225600.0  # 2026-01-01T00:00:00Z
    assert presigned_window(url, received=issued + 0.5) == (issued, 21600.0)
    # a server clock running ahead cannot stretch the window past what we saw
    assert presigned_window(url, received=issued - 30) == (issued - 30, 21600.0)
    assert presigned_window(url.replace("21600", "3600"), issued + 1)[1] == 3600.0
    assert presigned_window("https://cdn/x?Expires=2000", received=1000.0) == (1000.0, 1000.0)
    assert presigned_window("https://plain/x", received=5.0) == (5.0, DEFAULT_LIFETIME)


def test_instances_and_tokens_are_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    access = DandiAccess()
    prod = "https://api.dandiarchive.org/api/assets/abc/download/"
    sandbox = "https://api.sandbox.dandiarchive.org/api/assets/abc/download/"
    assert access.api_base(prod) == "https://api.dandiarchive.org/api"
    assert access.api_base(sandbox) == "https://api.sandbox.dandiarchive.org/api"
    assert access.api_base("https://example.org/api/assets/abc/download/") is None
    assert access.token_for("https://api.dandiarchive.org/api") is None
    monkeypatch.setenv("DANDI_API_KEY", "prod-key")
    monkeypatch.setenv("DANDI_STAGING_API_KEY", "legacy-key")
    assert access.token_for("https://api.dandiarchive.org/api") == "prod-key"
    assert access.token_for("https://api.sandbox.dandiarchive.org/api") == "legacy-key"
    monkeypatch.setenv("DANDI_SANDBOX_API_KEY", "sandbox-key")
    assert access.token_for("https://api.sandbox.dandiarchive.org/api") == "sandbox-key"
    custom = DandiAccess([kit.DandiToken("linc-key", instance="https://api.lincbrain.org/api")])
    assert custom.api_base("https://api.lincbrain.org/api/assets/x/download/")
    assert custom.token_for("https://api.lincbrain.org/api") == "linc-key"
    named = DandiAccess(extra_instances=["https://api-dandi.emberarchive.org/api"])
    assert named.api_base("https://api-dandi.emberarchive.org/api/assets/x/download/")
    assert named.token_for("https://api-dandi.emberarchive.org/api") is None  # no env fallback


# --- reading through the archive --------------------------------------------------------------


class FakeClock:
    """Seconds like ``time.time``, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_one_exchange_per_api_url_per_window_across_expiries(image: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    clock = FakeClock()  # shared by the archive (signing, expiry) and the kit's resolver
    monkeypatch.setattr(resolver, "clock", clock)
    with DandiArchive(token=KEY, lifetime=LIFETIME, clock=clock) as archive:
        refs = _publish(archive, image)
        node = kit.open(refs, auth=kit.DandiToken(KEY, instance=archive.api_url))
        assert isinstance(node, kit.Image)
        assert archive.count("api") == 0  # metadata is inline: opening costs no exchange
        chunks0 = sum(1 for k in refs["refs"] if k.startswith("0/") and "z" not in k)
        expected = _level(image, 0)
        windows = []
        for pause in (0.0, LIFETIME - renew_margin(LIFETIME) + 0.6, LIFETIME + 0.6):
            clock.advance(pause)  # past the renewal point, then past the expiry
            archive.reset()
            np.testing.assert_array_equal(node.to_dask(0).compute(), expected)
            np.testing.assert_array_equal(node.to_dask(0).compute(), expected)  # same window
            windows.append((_exchanges(archive, "level-0"), archive.count("s3")))
            assert _exchanges(archive, "level-1") == 0  # level 1 not read, not resolved
        assert [w[0] for w in windows] == [1, 1, 1]
        for _, s3 in windows:
            assert 1 <= s3 <= 2 * chunks0  # coalesced: never more requests than chunks read
        np.testing.assert_array_equal(node.to_dask(1).compute(), _level(image, 1))
        assert _exchanges(archive, "level-1") == 1
        # the token went to the API with every exchange and never to the S3 origin
        api = [h for h in archive.hits if h.origin == "api"]
        assert api and all(h.authorization == "token" and h.valid_token for h in api)
        assert archive.count("s3") > 0
        assert all(h.authorization is None for h in archive.hits if h.origin == "s3")
        assert archive.count("s3", status=403) == 0  # renewed by the clock, before S3 refused


def test_concurrent_resolutions_share_one_exchange(archive: DandiArchive) -> None:
    url = archive.add_asset("blob", bytes(range(256)) * 64)
    import asyncio

    async def many() -> list[Presigned]:
        return list(await asyncio.gather(*(resolver.resolve(url, KEY) for _ in range(50))))

    got = run_sync(many())
    assert len({p.url for p in got}) == 1
    assert archive.count("api") == 1
    assert got[0].lifetime == LIFETIME


def test_many_concurrent_chunk_reads_cost_one_exchange(archive: DandiArchive) -> None:
    blob = bytes(range(256)) * 256
    url = archive.add_asset("blob", blob)
    refs = {"refs": {".zgroup": {"zarr_format": 2},
                     **{f"k{i}": [url, i * 4096, 1024] for i in range(16)}}}
    store = kit.open(refs, storage_options={"dandi_instances": [archive.api_url]}) \
        .location.store.inner
    import asyncio

    from zarr.core.buffer import default_buffer_prototype

    async def read_all() -> list[bytes]:
        got = await asyncio.gather(*(store.get(f"k{i}", default_buffer_prototype())
                                     for i in range(16)))
        return [g.to_bytes() for g in got]

    assert run_sync(read_all()) == [blob[i * 4096:i * 4096 + 1024] for i in range(16)]
    assert archive.count("api") == 1
    assert 1 <= archive.count("s3") <= 16
    assert all(h.authorization is None for h in archive.hits)  # public asset, no token given


def test_a_403_from_s3_renews_once_and_retries(image: Path) -> None:
    with DandiArchive(token=KEY, lifetime=60) as archive:  # the clock would not renew it
        refs = _publish(archive, image)
        node = kit.open(refs, auth=kit.DandiToken(KEY, instance=archive.api_url))
        np.testing.assert_array_equal(node.to_dask(0).compute(), _level(image, 0))
        assert _exchanges(archive, "level-0") == 1
        archive.revoke()  # S3 now says "Request has expired" to every URL signed so far
        archive.reset()
        np.testing.assert_array_equal(node.to_dask(0).compute(), _level(image, 0))
        assert archive.count("s3", status=403) >= 1
        assert _exchanges(archive, "level-0") == 1  # one renewal for all refused reads
        assert all(h.authorization is None for h in archive.hits if h.origin == "s3")


def test_embargoed_asset_without_token_says_how_to_give_one(archive: DandiArchive,
                                                            image: Path) -> None:
    refs = _publish(archive, image)
    node = kit.open(refs, storage_options={"dandi_instances": [archive.api_url]})
    with pytest.raises(AuthenticationError) as err:
        node.to_dask(0).compute()
    text = str(err.value)
    assert f"{archive.api_url}/assets/level-0/download/" in text
    for hint in ("DandiToken(", "DANDI_API_KEY", "kit.login()"):
        assert hint in text
    assert archive.count("s3") == 0


def test_wrong_token_is_refused_and_not_leaked(archive: DandiArchive, image: Path) -> None:
    refs = _publish(archive, image)
    node = kit.open(refs, auth=kit.DandiToken("wrong-key-123", instance=archive.api_url))
    with pytest.raises(PermissionDenied) as err:
        node.to_dask(0).compute()
    assert "wrong-key-123" not in str(err.value)
    assert archive.count("s3") == 0


def test_registered_token_is_used_for_its_instance(archive: DandiArchive, image: Path) -> None:
    refs = _publish(archive, image)
    kit.credentials.register(archive.api_url, kit.DandiToken(KEY, instance=archive.api_url))
    node = kit.open(refs)
    np.testing.assert_array_equal(node.to_dask(1).compute(), _level(image, 1))
    assert _exchanges(archive, "level-1") == 1
    assert all(h.authorization is None for h in archive.hits if h.origin == "s3")


def test_remote_lindi_json_with_dandi_chunks(archive: DandiArchive, image: Path,
                                            tmp_path: Path) -> None:
    """The refs file on one server, chunks on DANDI: the token goes to the API only."""
    refs = _publish(archive, image)
    (tmp_path / "img.lindi.json").write_text(json.dumps(refs))
    with DemoServer(tmp_path) as host:
        node = kit.open(host.url + "img.lindi.json",
                        auth=kit.DandiToken(KEY, instance=archive.api_url))
        np.testing.assert_array_equal(node.to_dask(0).compute(), _level(image, 0))
        assert host.count() == 1 and host.count(lambda r: r.authorization) == 0
    assert _exchanges(archive, "level-0") == 1
    assert all(h.authorization is None for h in archive.hits if h.origin == "s3")
