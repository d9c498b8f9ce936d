"""s3:// through obstore against moto's real server (signatures enforced): pixels as from the
local folder, refusals told apart, no secret in a repr or an error, pickles that read in
another process, and S3-compatible endpoint rules."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import zarr

import kit
from kit.io.objstore import CloudStore, cloud_store

pytestmark = [pytest.mark.usefixtures("no_machine_credentials"), pytest.mark.timeout(180)]

TOKEN = "FwoGZXIvYXdzEXPIRED-session-token-Zx8"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    from s3_server import plate_in_bucket

    with plate_in_bucket(tmp_path_factory.mktemp("obs"), "obs-bucket", rows="AB",
                         columns=("1", "2"),
                         image_kwargs={"axes": "cyx", "shape": (2, 32, 32), "levels": 2}) as found:
        yield found


def good(server, **kw) -> kit.S3Credentials:
    return kit.S3Credentials(key=server.key, secret=server.secret, endpoint_url=server.endpoint,
                             **kw)


def test_reads_through_obstore_like_the_folder(s3):
    server, local = s3
    plate = kit.open("s3://obs-bucket/plate.zarr", auth=good(server))
    assert isinstance(plate.location.store.inner, CloudStore)
    images = plate.images()
    assert sorted(images) == ["A/1/0", "A/2/0", "B/1/0", "B/2/0"]
    for key, image in images.items():
        np.testing.assert_array_equal(image.read(1),
                                      zarr.open_array(local / key / "1", mode="r")[...])
    shown = repr(plate) + repr(plate.location.store) + repr(plate.location.store.inner)
    assert server.secret not in shown and server.key not in shown
    assert "CloudStore('s3://obs-bucket/plate.zarr', auth=S3Credentials)" in shown


@pytest.mark.parametrize("case, error, words", [
    ("wrong secret", kit.AuthenticationError, "SignatureDoesNotMatch"),
    ("unknown key", kit.AuthenticationError, "InvalidAccessKeyId"),
    ("invalid token", kit.AuthenticationError, "InvalidToken"),
    ("no permission", kit.PermissionDenied, "may not read"),
    ("anonymous", kit.PermissionDenied, "not public"),
])
def test_refusals_are_told_apart(s3, case, error, words):
    server, _ = s3
    auth = {
        "wrong secret": kit.S3Credentials(key=server.key, secret="not-the-secret-0",
                                          endpoint_url=server.endpoint),
        "unknown key": kit.S3Credentials(key="AKIANOSUCHKEY0000000", secret=server.secret,
                                         endpoint_url=server.endpoint),
        "invalid token": good(server, token=TOKEN),
        "no permission": kit.S3Credentials(key=server.outsider_key, secret=server.outsider_secret,
                                           endpoint_url=server.endpoint),
        "anonymous": kit.S3Credentials(anon=True, endpoint_url=server.endpoint),
    }[case]
    with pytest.raises(error, match="obs-bucket") as info:
        kit.open("s3://obs-bucket/plate.zarr", auth=auth)
    text = str(info.value)
    assert words in text
    for secret in (server.secret, server.outsider_secret, TOKEN):
        assert secret not in text


def test_missing_key_is_not_found(s3):
    server, _ = s3
    with pytest.raises(kit.NotFound, match="obs-bucket/nothing-here"):
        kit.open("s3://obs-bucket/nothing-here", auth=good(server))


def test_registered_for_its_bucket_only(s3):
    server, _ = s3
    kit.credentials.register("s3://obs-bucket", good(server))
    assert len(kit.open("s3://obs-bucket/plate.zarr").images()) == 4
    store = cloud_store("s3://other-bucket/x", None)
    assert store.credential == kit.S3Credentials(anon=True)  # nothing registered there


def test_pickles_read_in_another_process(s3):
    server, local = s3
    image = kit.open("s3://obs-bucket/plate.zarr", auth=good(server)).images()["B/2/0"]
    lazy = image.to_dask(0)
    payload = pickle.dumps(lazy)
    state = pickle.loads(pickle.dumps(image.location.store.inner))
    assert state._client is None  # the obstore client is rebuilt, never pickled
    script = ("import pickle, sys\nimport kit\n"
              "arr = pickle.loads(sys.stdin.buffer.read()).compute()\n"
              "sys.stdout.buffer.write(pickle.dumps(arr))\n")
    done = subprocess.run([sys.executable, "-c", script], input=payload, capture_output=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    np.testing.assert_array_equal(pickle.loads(done.stdout),
                                  zarr.open_array(local / "B/2/0/0", mode="r")[...])


def test_plain_http_endpoints_only_on_loopback_or_when_allowed():
    remote = "http://objects.example.org:9000"
    with pytest.raises(kit.KitError, match="allow_http=True"):
        cloud_store("s3://b1/x", kit.S3Credentials(anon=True, endpoint_url=remote))
    allowed = cloud_store("s3://b1/x", kit.S3Credentials(anon=True, endpoint_url=remote,
                                                          allow_http=True))
    assert allowed.client.config["endpoint"] == remote  # configured, nothing sent yet
    https = cloud_store("s3://b1/x", kit.S3Credentials(anon=True, path_style=False,
                                                        endpoint_url="https://b1.s3.example.org"))
    assert str(https.client.config["virtual_hosted_style_request"]).lower() == "true"
    with pytest.raises(kit.KitError, match="carries no credentials"):
        kit.open("s3://AKIA:secret@bucket/x")


def test_wrong_credential_type_is_refused():
    with pytest.raises(kit.KitError, match="S3Credentials"):
        kit.open("s3://b1/x", auth=kit.GCSCredentials(anon=True))
    with pytest.raises(kit.KitError, match="AzureCredentials"):
        kit.open("az://c1/x", auth=kit.S3Credentials(anon=True))


@pytest.fixture(scope="module")
def public_s3(tmp_path_factory):
    """A moto server that checks no signature: every bucket on it reads as a public one does."""
    import boto3
    from helpers import free_port
    from moto.server import ThreadedMotoServer

    from kit.demo.generate import write_plate

    local = write_plate(tmp_path_factory.mktemp("pub") / "plate.zarr", version="0.4", rows="A",
                        columns=("1",), image_kwargs={"axes": "cyx", "shape": (1, 16, 16),
                                                      "levels": 1})
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    client.create_bucket(Bucket="public-bucket")
    for path in sorted(local.rglob("*")):
        if path.is_file():
            client.put_object(Bucket="public-bucket", Body=path.read_bytes(), ACL="public-read",
                              Key=f"plate.zarr/{path.relative_to(local).as_posix()}")
    yield endpoint, local
    server.stop()


def test_public_bucket_reads_without_configuration(public_s3, monkeypatch):
    endpoint, local = public_s3
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # the standard variable, no kit setting
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    plate = kit.open("s3://public-bucket/plate.zarr")
    assert plate.location.store.inner.credential == kit.S3Credentials(anon=True)
    expected = zarr.open_array(local / "A/1/0/0", mode="r")[...]
    np.testing.assert_array_equal(plate.images()["A/1/0"].read(0), expected)
    # the same bucket's plain URL (path-style) still opens through the HTTP store
    over_http = kit.open(f"{endpoint}/public-bucket/plate.zarr")
    assert type(over_http.location.store.inner).__name__ == "HttpStore"
    np.testing.assert_array_equal(over_http.images()["A/1/0"].read(0), expected)


def on_local_cluster(plate, secret: str) -> dict:
    """Each image's level-0 mean computed on two dask.distributed worker processes, and the
    node itself shipped to a worker; the secret is in the pickle only, never a key or repr."""
    distributed = pytest.importorskip("distributed")
    arrays = {key: image.to_dask(0) for key, image in plate.images().items()}
    keys = "".join(str(k) for a in arrays.values() for k in a.__dask_graph__())
    assert secret not in keys + repr(arrays) + repr(plate)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        means = client.compute({key: a.mean() for key, a in arrays.items()}, sync=True)
        names = client.submit(lambda p: sorted(p.images()), plate).result()
    assert names == sorted(arrays)
    return {key: float(v) for key, v in means.items()}


@pytest.mark.slow
def test_dask_distributed_workers_read(s3):
    server, local = s3
    plate = kit.open("s3://obs-bucket/plate.zarr", auth=good(server))
    means = on_local_cluster(plate, server.secret)
    for key, mean in means.items():
        oracle = zarr.open_array(local / key / "0", mode="r")[...]
        assert mean == pytest.approx(float(oracle.mean()))


def test_aws_profile_and_env_chain(s3, monkeypatch, tmp_path):
    server, _ = s3
    shared = tmp_path / "credentials"
    shared.write_text(f"[lab]\naws_access_key_id = {server.key}\n"
                      f"aws_secret_access_key = {server.secret}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_PROFILE", "lab")
    plate = kit.open("s3://obs-bucket/plate.zarr")
    assert plate.location.store.inner.credential is None  # the chain decided, not the kit
    assert len(plate.images()) == 4
    assert server.secret not in repr(plate.location.store.inner)
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret)
    assert len(kit.open("s3://obs-bucket/plate.zarr").images()) == 4
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-wrong-secret-from-env")
    with pytest.raises(kit.AuthenticationError, match="AWS_") as info:
        kit.open("s3://obs-bucket/plate.zarr")
    assert "a-wrong-secret-from-env" not in str(info.value)
