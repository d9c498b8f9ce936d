"""Temporary cloud credentials against moto's real S3 server (signatures enforced): a refresh
callable is called again once the value in use nears its expiry and reads go on across the
renewal with what it returned; a static credential past its ``expires_at`` is a typed error
before any request; no secret in a repr or an error. GCS and Azure providers are checked
through the same provider, called as obstore calls it (no emulator needed)."""

from __future__ import annotations

import pickle
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import zarr
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.io.loop import run_sync
from kit.io.objstore import REFRESH_MARGIN, cloud_store

pytestmark = [pytest.mark.usefixtures("no_machine_credentials"), pytest.mark.timeout(180)]

LIFE = 1.5  # seconds a refreshed credential lives past the renewal margin


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from s3_server import plate_in_bucket

    with plate_in_bucket(tmp_path_factory.mktemp("refresh"), "renew-bucket", rows="A",
                         columns=("1",),
                         image_kwargs={"axes": "cyx", "shape": (1, 16, 16), "levels": 1}) as found:
        yield found


class TokenService:
    """A lab's token service: each call hands out the credential ``answers`` says, valid for
    ``LIFE`` seconds past the kit's renewal margin."""

    def __init__(self, server, answers=None):
        self.server, self.answers, self.calls = server, answers, 0

    def __call__(self):
        self.calls += 1
        secret = self.server.secret
        if self.answers is not None:
            secret = self.answers[min(self.calls, len(self.answers)) - 1]
        return {"key": self.server.key, "secret": secret, "token": None,
                "expires_at": now() + REFRESH_MARGIN + timedelta(seconds=LIFE)}


def get(store, key="zarr.json"):
    return run_sync(store.get(key, default_buffer_prototype()))


def test_refresh_is_called_again_after_expiry_and_reads_go_on(s3):
    server, local = s3
    service = TokenService(server)
    auth = kit.S3Credentials.refreshing(service, endpoint_url=server.endpoint)
    image = kit.open("s3://renew-bucket/plate.zarr", auth=auth).images()["A/1/0"]
    expected = zarr.open_array(local / "A/1/0/0", mode="r")[...]
    np.testing.assert_array_equal(image.read(0), expected)
    store = image.location.store.inner
    for _ in range(5):
        assert get(store) is not None
    assert service.calls == 1  # cached while far from its expiry: not called per request
    time.sleep(LIFE + 0.3)  # now within the margin of the first credential's expiry
    np.testing.assert_array_equal(image.read(0), expected)
    assert get(store) is not None
    assert service.calls == 2
    shown = repr(auth) + repr(store) + repr(store.client.credential_provider)
    assert server.secret not in shown and server.key not in shown
    assert "refresh=<hidden>" in repr(auth)


def test_the_renewed_credential_is_the_one_used(s3):
    server, _ = s3
    service = TokenService(server, answers=[server.secret, "a-rotated-wrong-secret-7"])
    store = cloud_store("s3://renew-bucket/plate.zarr",
                        kit.S3Credentials.refreshing(service, endpoint_url=server.endpoint))
    assert get(store) is not None
    time.sleep(LIFE + 0.3)
    with pytest.raises(kit.AuthenticationError, match="SignatureDoesNotMatch") as info:
        get(store)
    assert service.calls == 2
    text = str(info.value)
    assert "a-rotated-wrong-secret-7" not in text and server.secret not in text


def test_expired_static_credential_is_a_typed_error_before_any_request(s3):
    """The provider refuses it before obstore signs a request: the server's own answer to the
    same (invalid) token, InvalidToken, never comes."""
    server, _ = s3
    when = now() - timedelta(minutes=1)
    token = "FwoGZXIvYXdzEXPIRED-static-session-3Kq"
    auth = kit.S3Credentials(key=server.key, secret=server.secret, token=token,
                             endpoint_url=server.endpoint, expires_at=when)
    with pytest.raises(kit.AuthenticationError, match="renew-bucket") as info:
        kit.open("s3://renew-bucket/plate.zarr", auth=auth)
    text = str(info.value)
    assert f"expired at {when.isoformat(timespec='seconds')}" in text
    assert "S3Credentials.refreshing" in text
    assert "SignatureDoesNotMatch" not in text and "InvalidToken" not in text  # not the server's
    for secret in (server.secret, server.key, token):
        assert secret not in text and secret not in repr(auth)
    # the same credential before its expiry reaches the server (which refuses the token)
    alive = kit.S3Credentials(key=server.key, secret=server.secret, token=token,
                              endpoint_url=server.endpoint, expires_at=now() + timedelta(hours=1))
    with pytest.raises(kit.AuthenticationError, match="InvalidToken"):
        kit.open("s3://renew-bucket/plate.zarr", auth=alive)


def test_a_static_credential_with_a_future_expiry_reads_until_then(s3):
    server, _ = s3
    auth = kit.S3Credentials(key=server.key, secret=server.secret, endpoint_url=server.endpoint,
                             expires_at=now() + timedelta(seconds=1))
    store = cloud_store("s3://renew-bucket/plate.zarr", auth)
    assert get(store) is not None
    time.sleep(1.2)
    with pytest.raises(kit.AuthenticationError, match="expired at"):
        get(store)


@pytest.mark.parametrize("answer, words", [
    (RuntimeError("service down: secret-in-message-5Tz"), "RuntimeError"),
    ({"key": "AKIAX", "token": None, "expires_at": None}, "key and secret"),
    ({"key": "AKIAX", "secret": "secret-in-answer-5Tz", "expires_at": datetime(2020, 1, 1)},
     "timezone-aware"),
    ({"key": "AKIAX", "secret": "secret-in-answer-5Tz",
      "expires_at": datetime(2020, 1, 1, tzinfo=UTC)}, "returned an expired"),
])
def test_a_failing_refresh_is_a_typed_error_without_its_text(s3, answer, words):
    server, _ = s3

    def fn():
        if isinstance(answer, Exception):
            raise answer
        return answer

    store = cloud_store("s3://renew-bucket/plate.zarr",
                        kit.S3Credentials.refreshing(fn, endpoint_url=server.endpoint))
    with pytest.raises(kit.AuthenticationError, match="renew-bucket") as info:
        get(store)
    assert words in str(info.value) and "5Tz" not in str(info.value)


def test_gcs_and_azure_tokens_are_renewed_through_the_same_provider():
    calls = []

    def gcs_token():
        calls.append("gcs")
        return {"token": f"ya29.token-{len(calls)}", "expires_at": now() + timedelta(hours=1)}

    gcs = cloud_store("gs://a-bucket/x", kit.GCSCredentials.refreshing(
        gcs_token, endpoint_url="http://127.0.0.1:9"))
    got = gcs.client.credential_provider()
    assert got["token"] == "ya29.token-1"
    assert got["expires_at"] == pytest.approx(now() + timedelta(hours=1) - REFRESH_MARGIN,
                                              abs=timedelta(seconds=5))
    assert gcs.client.credential_provider()["token"] == "ya29.token-1" and len(calls) == 1

    def sas():
        calls.append("azure")
        return {"sas_token": "?sv=2024&sig=abc%3D", "expires_at": now() + timedelta(hours=1)}

    az = cloud_store("az://a-container/x", kit.AzureCredentials.refreshing(
        sas, account="acct", endpoint_url="http://127.0.0.1:9/acct"))
    assert az.client.credential_provider()["sas_token"] == [("sv", "2024"), ("sig", "abc=")]
    expired = kit.AzureCredentials(account="acct", sas_token="sv=1&sig=zz",
                                   endpoint_url="http://127.0.0.1:9/acct",
                                   expires_at=now() - timedelta(seconds=1))
    with pytest.raises(RuntimeError, match="AzureCredentials expired at"):
        cloud_store("az://a-container/x", expired).client.credential_provider()


def test_misuse_is_refused_and_the_callable_travels_in_a_pickle():
    with pytest.raises(ValueError, match="timezone-aware"):
        kit.S3Credentials(key="k", secret="s", expires_at=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="from the callable"):
        kit.S3Credentials(key="k", secret="s", refresh=dict)
    with pytest.raises(TypeError, match="callable"):
        kit.GCSCredentials.refreshing("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="s3fs"):
        kit.S3Credentials.refreshing(dict).storage_options()
    # a module-level callable pickles (a dask worker calls it itself); a lambda does not
    # with plain pickle (dask's cloudpickle carries it)
    back = pickle.loads(pickle.dumps(kit.S3Credentials.refreshing(dict, region="eu-west-1")))
    assert back.refresh is dict and back.region == "eu-west-1"
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(kit.S3Credentials.refreshing(lambda: {}))


class Issuer:
    """A picklable refresh callable (module level, plain fields): what a worker can carry."""

    def __init__(self, key: str, secret: str) -> None:
        self.key, self.secret = key, secret

    def __call__(self):
        return {"key": self.key, "secret": self.secret,
                "expires_at": now() + timedelta(hours=1)}


def test_an_unpickled_store_renews_with_its_own_copy_of_the_callable(s3):
    """As on a dask worker: the callable travels with the credential, the client and its
    cached secret do not; the copy reads by calling the callable itself."""
    server, _ = s3
    store = cloud_store("s3://renew-bucket/plate.zarr", kit.S3Credentials.refreshing(
        Issuer(server.key, server.secret), endpoint_url=server.endpoint))
    assert get(store) is not None
    payload = pickle.dumps(store)
    assert server.secret.encode() in payload  # inside the payload, as for every credential
    copy = pickle.loads(payload)
    assert copy._client is None and get(copy).to_bytes() == get(store).to_bytes()
