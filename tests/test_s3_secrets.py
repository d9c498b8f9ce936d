"""S3 against moto's real server: a refused session token is an AuthenticationError, and with
DEBUG logging on, no S3 secret reaches a log record during kit reads."""

from __future__ import annotations

import logging

import pytest

import kit

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

SESSION_TOKEN = "FwoGZXIvYXdzEXPIRED-session-token-Q7w"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from s3_server import start_s3_server

    from kit.demo.generate import write_plate

    local = write_plate(tmp_path_factory.mktemp("s3tok") / "plate.zarr", version="0.5", rows="A",
                        columns=("1",), image_kwargs={"axes": "cyx", "shape": (1, 16, 16),
                                                      "levels": 1})
    server = start_s3_server("token-bucket")
    server.upload_folder(local, "token-bucket", "plate.zarr")
    yield server
    server.stop()


def test_invalid_session_token_is_authentication_error(s3) -> None:
    auth = kit.S3Credentials(key=s3.key, secret=s3.secret, token=SESSION_TOKEN,
                             endpoint_url=s3.endpoint)
    with pytest.raises(kit.AuthenticationError, match="token-bucket") as info:
        kit.open("s3://token-bucket/plate.zarr", auth=auth)
    text = str(info.value)
    assert "token" in text and SESSION_TOKEN not in text and s3.secret not in text


@pytest.mark.parametrize("backend", ["obstore", "s3fs"])
def test_debug_logs_hold_no_s3_secret(s3, caplog: pytest.LogCaptureFixture, backend: str) -> None:
    """obstore (the default for s3://) logs nothing through Python; s3fs (s3:// with
    storage_options) has botocore log every header at DEBUG, which the kit's filter scrubs."""
    caplog.set_level(logging.DEBUG)
    good = kit.S3Credentials(key=s3.key, secret=s3.secret, endpoint_url=s3.endpoint)
    expired = kit.S3Credentials(key=s3.key, secret=s3.secret, token=SESSION_TOKEN,
                                endpoint_url=s3.endpoint)

    def open_(credential):
        if backend == "obstore":
            return kit.open("s3://token-bucket/plate.zarr", auth=credential)
        return kit.open("s3://token-bucket/plate.zarr",
                        storage_options=credential.storage_options())

    plate = open_(good)
    assert plate.images()["A/1/0"].read(0).shape == (1, 16, 16)
    with pytest.raises(kit.KitError) as refused:
        open_(expired)
    text = "\n".join(r.getMessage() for r in caplog.records) + str(refused.value)
    if backend == "s3fs":
        botocore = [r for r in caplog.records if r.name.startswith(("botocore", "aiobotocore"))]
        assert botocore, "botocore logged nothing at DEBUG: the test would prove nothing"
        assert "x-amz-security-token" in text.lower()  # the header was logged, its value was not
    assert SESSION_TOKEN not in text and s3.secret not in text and SESSION_TOKEN not in caplog.text


def test_refs_target_reads_put_the_s3_log_filter_on_first(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 17: an s3:// (or any fsspec) refs target's remote_options secrets are kept out of
    botocore's log records as for an opened s3:// root (fsspec_read guards before reading)."""
    import fsspec

    from kit.io.loop import run_sync
    from kit.io.refs_fetch import fsspec_read

    secret = "refs-target-secret-9Qx"  # a value no earlier test handed to the filter
    logger = logging.getLogger("botocore.endpoint")  # as importing botocore makes it
    fsspec.filesystem("memory").pipe("/kit-refs-target.bin", b"0123456789")
    data = run_sync(fsspec_read("memory://kit-refs-target.bin", 2, 3, {"secret": secret}))
    assert data == b"234"
    caplog.set_level(logging.DEBUG, logger="botocore.endpoint")
    logger.debug("Sending http request: secret=%s", secret)
    assert caplog.records and secret not in caplog.text and "***" in caplog.text
