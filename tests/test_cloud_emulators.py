"""Expiring cloud credentials renewed while reading from the real emulators (gcp-storage-emulator,
Azurite): the refresh callable is called again after the value in use nears its expiry and the
reads go on with what it returned; a renewal that fails, or hands out a token the server
refuses, is a typed error without the secret. And the same plate over HTTP, S3 (moto), GCS and
Azure gives the same pixels, tables and overview mosaic."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from test_object_stores_emulators import _account_sas, azurite, gcs, plate  # noqa: F401
from zarr.core.buffer import default_buffer_prototype

import kit
from kit.io.loop import run_sync
from kit.io.objstore import AZURITE_ACCOUNT, AZURITE_KEY, REFRESH_MARGIN

pytestmark = [pytest.mark.usefixtures("no_machine_credentials"), pytest.mark.timeout(240)]

LIFE = 1.5  # seconds a handed-out credential lives past the kit's renewal margin


def soon() -> datetime:
    return datetime.now(UTC) + REFRESH_MARGIN + timedelta(seconds=LIFE)


class TokenService:
    """A lab's token service: call n hands out ``answers[n]`` (the last one again after),
    valid for ``LIFE`` seconds past the renewal margin; an exception answer is raised."""

    def __init__(self, field: str, answers: list) -> None:
        self.field, self.answers, self.calls = field, answers, 0

    def __call__(self) -> dict:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return {self.field: answer, "expires_at": soon()}


def fetch(image: kit.Image, key: str = "zarr.json") -> bytes:
    """A read that goes to the server (metadata documents are cached by the kit's store)."""
    store = image.location.store.inner
    got = run_sync(store.get(key, default_buffer_prototype()))
    assert got is not None
    return got.to_bytes()


def renew_and_read(image: kit.Image, service: TokenService) -> np.ndarray:
    first = image.read(0)
    for _ in range(3):
        fetch(image)
    assert service.calls == 1  # cached while far from its expiry: not called per request
    time.sleep(LIFE + 0.3)  # the value in use is now within the renewal margin
    np.testing.assert_array_equal(image.read(0), first)
    fetch(image)
    return first


def test_gcs_token_renewed_while_reading(gcs, plate):  # noqa: F811 - the fixtures
    service = TokenService("token", ["ya29.first-Secret-Token-1", "ya29.second-Secret-Token-2"])
    auth = kit.GCSCredentials.refreshing(service, endpoint_url=gcs)
    image = kit.open("gs://gcsbucket/plate.zarr", auth=auth).images()["A/1/0"]
    first = renew_and_read(image, service)
    assert service.calls == 2
    np.testing.assert_array_equal(first, kit.open(plate).images()["A/1/0"].read(0))
    shown = repr(auth) + repr(image) + repr(image.location.store.inner)
    assert "Secret-Token" not in shown


def test_gcs_failing_renewal_is_a_typed_error(gcs):  # noqa: F811 - the fixture
    service = TokenService("token", ["ya29.first-Secret-Token-1",
                                     ConnectionError("token service down: Secret-Reply-9")])
    image = kit.open("gs://gcsbucket/plate.zarr", auth=kit.GCSCredentials.refreshing(
        service, endpoint_url=gcs)).images()["A/1/0"]
    fetch(image)
    time.sleep(LIFE + 0.3)
    with pytest.raises(kit.AuthenticationError, match="could not give credentials") as info:
        fetch(image)
    assert service.calls >= 2
    assert "Secret-Reply-9" not in str(info.value) and "Secret-Token" not in str(info.value)
    assert "gs://gcsbucket/plate.zarr" in str(info.value)


def test_azure_sas_renewed_while_reading(azurite, plate):  # noqa: F811 - the fixtures
    first_sas = _account_sas("2099-01-01T00:00:00Z")
    second_sas = _account_sas("2098-01-01T00:00:00Z")
    service = TokenService("sas_token", [first_sas, second_sas])
    auth = kit.AzureCredentials.refreshing(service, account=AZURITE_ACCOUNT, endpoint_url=azurite)
    image = kit.open("az://lab/plate.zarr", auth=auth).images()["A/1/0"]
    first = renew_and_read(image, service)
    assert service.calls == 2
    np.testing.assert_array_equal(first, kit.open(plate).images()["A/1/0"].read(0))
    shown = repr(auth) + repr(image) + repr(image.location.store.inner)
    for sas in (first_sas, second_sas):
        assert sas.rsplit("sig=", 1)[1] not in shown


def test_azure_renewed_sas_is_the_one_used(azurite):  # noqa: F811 - the fixture
    """The second SAS hands out a signature Azurite finds expired: the read after the renewal
    is refused, so the renewed token (not the first, still valid one) went to the server."""
    good, dead = _account_sas("2099-01-01T00:00:00Z"), _account_sas("2001-01-01T00:00:00Z")
    service = TokenService("sas_token", [good, dead])
    image = kit.open("az://lab/plate.zarr", auth=kit.AzureCredentials.refreshing(
        service, account=AZURITE_ACCOUNT, endpoint_url=azurite)).images()["A/1/0"]
    fetch(image)
    time.sleep(LIFE + 0.3)
    with pytest.raises(kit.AuthenticationError, match="expired token") as info:
        fetch(image)
    assert service.calls == 2
    assert dead.rsplit("sig=", 1)[1] not in str(info.value)


def _same(one: kit.Plate, other: kit.Plate) -> None:
    images, expected = one.images(), other.images()
    assert sorted(images) == sorted(expected) and len(images) == 4
    for key in expected:
        for level in (0, 1):
            np.testing.assert_array_equal(images[key].read(level), expected[key].read(level))
    tables, other_tables = images["A/1/0"].tables, expected["A/1/0"].tables
    assert sorted(tables) == sorted(other_tables) and tables
    for name in other_tables:
        assert tables[name].to_pandas().equals(other_tables[name].to_pandas()), name
    np.testing.assert_array_equal(kit.plate_overview(one, progress=False),
                                  kit.plate_overview(other, progress=False))


def test_same_plate_over_http_and_every_store(plate, gcs, azurite):  # noqa: F811 - the fixtures
    from s3_server import start_s3_server

    from kit.demo.server import DemoServer

    s3 = start_s3_server("same-plate")
    try:
        s3.upload_folder(plate, "same-plate", "plate.zarr")
        with DemoServer(plate.parent, auth="basic", password="pw-Secret-5") as http:
            over_http = kit.open(http.url + "plate.zarr", auth=kit.BasicAuth("demo", "pw-Secret-5"))
            stores = {
                "s3": kit.open("s3://same-plate/plate.zarr", auth=kit.S3Credentials(
                    key=s3.key, secret=s3.secret, endpoint_url=s3.endpoint)),
                "gcs": kit.open("gs://gcsbucket/plate.zarr",
                                auth=kit.GCSCredentials(anon=True, endpoint_url=gcs)),
                "azure": kit.open("az://lab/plate.zarr", auth=kit.AzureCredentials(
                    account=AZURITE_ACCOUNT, account_key=AZURITE_KEY, endpoint_url=azurite)),
            }
            for name, remote in stores.items():
                _same(remote, over_http)
                requests = remote.location.store.inner.stats.requests
                assert requests > 0, name
    finally:
        s3.stop()
