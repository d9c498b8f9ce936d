"""gs:// and az:// through obstore against real emulators on loopback: gcp-storage-emulator
(pip) and Azurite (npm, installed by .ci/run into ~/.cache/ngff-kit/azurite). The same plate
uploaded to each reads with the same pixels, tables and overview mosaic as from the folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from email.utils import formatdate
from pathlib import Path

import numpy as np
import pytest

import kit
from kit.io.objstore import AZURITE_ACCOUNT, AZURITE_KEY

pytestmark = [pytest.mark.usefixtures("no_machine_credentials"), pytest.mark.timeout(240)]

AZURITE_HOME = Path(os.environ.get("NGFF_KIT_AZURITE", Path.home() / ".cache/ngff-kit/azurite"))
AZURITE_BIN = AZURITE_HOME / "node_modules/.bin/azurite-blob"

# gcp-storage-emulator sends no Last-Modified or ETag header, which real GCS always does and
# obstore requires; the launcher adds them and changes nothing else. Its routes match the raw
# path, so a bucket name obstore percent-encodes (a '-' becomes %2D) would not be found: no '-'
# here.
GCS_LAUNCHER = """
import sys
from email.utils import formatdate
from gcp_storage_emulator.handlers import objects
_download = objects.download
def download(request, response, storage, *args, **kwargs):
    try:
        obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
        response["ETag"] = '"{}"'.format(obj["md5Hash"])
        response["Last-Modified"] = formatdate(usegmt=True)
    except Exception:
        pass  # a missing object: the emulator's own handler answers 404
    return _download(request, response, storage, *args, **kwargs)
objects.download = download
from gcp_storage_emulator.__main__ import main
main(sys.argv[1:])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{what} did not start")


def _files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path.relative_to(folder).as_posix(), path.read_bytes()


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> Path:
    from kit.demo.generate import write_plate, write_tables

    path = write_plate(tmp_path_factory.mktemp("emu") / "plate.zarr", version="0.5", rows="AB",
                       columns=("1", "2"),
                       image_kwargs={"axes": "cyx", "shape": (2, 32, 32), "levels": 2})
    write_tables(path / "A/1/0")
    return path


@pytest.fixture(scope="module")
def gcs(plate):
    pytest.importorskip("gcp_storage_emulator", reason="pip install gcp-storage-emulator")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", GCS_LAUNCHER, "start", "-H", "127.0.0.1", "--port", str(port),
         "--default-bucket", "gcsbucket", "-M", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(port, process, "gcp-storage-emulator")
    endpoint = f"http://127.0.0.1:{port}"
    for name, body in _files(plate):
        request = urllib.request.Request(
            f"{endpoint}/upload/storage/v1/b/gcsbucket/o?uploadType=media&name=plate.zarr/{name}",
            data=body, method="POST", headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(request, timeout=10).close()
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def _azure_create_container(endpoint: str, container: str) -> None:
    """PUT ?restype=container, signed with Azurite's published Shared Key."""
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
    canonical = ("PUT\n\n\n\n\napplication/octet-stream\n\n\n\n\n\n\n"
                 + "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
                 + f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container")
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), canonical.encode(),
                                          hashlib.sha256).digest()).decode()
    request = urllib.request.Request(
        f"{endpoint}/{container}?restype=container", data=b"", method="PUT",
        headers={**headers, "Content-Type": "application/octet-stream",
                 "Authorization": f"SharedKey {AZURITE_ACCOUNT}:{signature}"})
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def azurite(plate, tmp_path_factory):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: Azurite (npm) cannot run")
    if not AZURITE_BIN.exists():
        pytest.skip(f"Azurite is not installed in {AZURITE_HOME} (.ci/run installs it: "
                    f"npm install --prefix {AZURITE_HOME} azurite)")
    port = _free_port()
    work = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [str(AZURITE_BIN), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    _wait(port, process, "Azurite")
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    _azure_create_container(endpoint, "lab")
    import obstore as obs
    from obstore.store import AzureStore

    writer = AzureStore("lab", account_name=AZURITE_ACCOUNT, endpoint=endpoint,
                        client_options={"allow_http": True},
                        credential_provider=lambda: {"access_key": AZURITE_KEY, "expires_at": None})
    for name, body in _files(plate):
        obs.put(writer, f"plate.zarr/{name}", body)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


def _same_as_folder(remote: kit.Plate, plate: Path) -> None:
    local = kit.open(plate)
    images, expected = remote.images(), local.images()
    assert sorted(images) == sorted(expected) == ["A/1/0", "A/2/0", "B/1/0", "B/2/0"]
    for key in expected:
        for level in (0, 1):
            np.testing.assert_array_equal(images[key].read(level), expected[key].read(level))
    tables, local_tables = images["A/1/0"].tables, expected["A/1/0"].tables
    assert sorted(tables) == sorted(local_tables) and tables
    for name in local_tables:
        remote_frame, local_frame = tables[name].to_pandas(), local_tables[name].to_pandas()
        assert remote_frame.equals(local_frame), name
    np.testing.assert_array_equal(kit.plate_overview(remote, progress=False),
                                  kit.plate_overview(local, progress=False))


def test_gcs_plate_reads_like_the_folder(gcs, plate):
    remote = kit.open("gs://gcsbucket/plate.zarr",
                      auth=kit.GCSCredentials(anon=True, endpoint_url=gcs))
    assert "CloudStore('gs://gcsbucket/plate.zarr', auth=GCSCredentials)" in repr(
        remote.location.store.inner)
    _same_as_folder(remote, plate)


def test_gcs_registered_for_its_bucket(gcs):
    kit.credentials.register("gs://gcsbucket", kit.GCSCredentials(anon=True, endpoint_url=gcs))
    assert len(kit.open("gs://gcsbucket/plate.zarr").images()) == 4
    with pytest.raises(kit.NotFound, match="gs://gcsbucket/no-plate"):
        kit.open("gs://gcsbucket/no-plate")


def test_azure_plate_reads_like_the_folder(azurite, plate):
    remote = kit.open("az://lab/plate.zarr",
                      auth=kit.AzureCredentials(emulator=True, endpoint_url=azurite))
    _same_as_folder(remote, plate)
    abfs = kit.open(f"abfs://lab@{AZURITE_ACCOUNT}.dfs.core.windows.net/plate.zarr",
                    auth=kit.AzureCredentials(account_key=AZURITE_KEY, endpoint_url=azurite))
    assert len(abfs.images()) == 4
    assert AZURITE_KEY not in repr(abfs) + repr(abfs.location.store.inner)


def test_azure_refusals(azurite):
    wrong = base64.b64encode(b"not-the-key" * 6).decode()
    # Azurite sends code AuthorizationFailure (real Azure: AuthenticationFailed) with Azure's
    # "Server failed to authenticate the request" message: an AuthenticationError either way
    with pytest.raises(kit.AuthenticationError, match=r"az://lab/plate\.zarr") as info:
        kit.open("az://lab/plate.zarr", auth=kit.AzureCredentials(
            account=AZURITE_ACCOUNT, account_key=wrong, endpoint_url=azurite))
    assert wrong not in str(info.value)
    with pytest.raises((kit.PermissionDenied, kit.AuthenticationError), match="az://lab") as info:
        kit.open("az://lab/plate.zarr", auth=kit.AzureCredentials(
            account=AZURITE_ACCOUNT, anon=True, endpoint_url=azurite))
    assert isinstance(info.value, kit.PermissionDenied) and "not public" in str(info.value)


@pytest.mark.slow
def test_dask_distributed_workers_read(gcs, azurite, plate):
    from test_object_stores import on_local_cluster

    local = {k: float(im.read(0).mean()) for k, im in kit.open(plate).images().items()}
    over_gcs = kit.open("gs://gcsbucket/plate.zarr",
                        auth=kit.GCSCredentials(anon=True, endpoint_url=gcs))
    assert on_local_cluster(over_gcs, "no-secret-here") == pytest.approx(local)
    over_azure = kit.open("az://lab/plate.zarr",
                          auth=kit.AzureCredentials(account_key=AZURITE_KEY,
                                                    account=AZURITE_ACCOUNT, endpoint_url=azurite))
    assert AZURITE_KEY.encode() in pickle.dumps(over_azure)  # workers need it to read
    assert on_local_cluster(over_azure, AZURITE_KEY) == pytest.approx(local)


def _account_sas(expiry: str) -> str:
    """An account SAS (read, blob service, container+object) signed with Azurite's key."""
    fields = {"sv": "2019-12-12", "ss": "b", "srt": "co", "sp": "rl", "se": expiry, "spr": "http"}
    to_sign = "\n".join([AZURITE_ACCOUNT, fields["sp"], fields["ss"], fields["srt"], "",
                         fields["se"], "", fields["spr"], fields["sv"], ""])
    signature = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(),
                                          hashlib.sha256).digest()).decode()
    from urllib.parse import urlencode

    return "?" + urlencode({**fields, "sig": signature})


def test_azure_sas_token_and_its_expiry(azurite):
    sas = _account_sas("2099-01-01T00:00:00Z")
    plate = kit.open("az://lab/plate.zarr", auth=kit.AzureCredentials(
        account=AZURITE_ACCOUNT, sas_token=sas, endpoint_url=azurite))
    assert len(plate.images()) == 4
    signature = sas.rsplit("sig=", 1)[1]
    assert signature not in repr(plate) + repr(plate.location.store.inner)
    expired = _account_sas("2001-01-01T00:00:00Z")
    with pytest.raises(kit.AuthenticationError, match="expired token") as info:
        kit.open("az://lab/plate.zarr", auth=kit.AzureCredentials(
            account=AZURITE_ACCOUNT, sas_token=expired, endpoint_url=azurite))
    assert expired.rsplit("sig=", 1)[1] not in str(info.value)


def test_gcs_token_and_bad_service_account(gcs):
    token = "ya29.gcs-Token-Secret-77"
    plate = kit.open("gs://gcsbucket/plate.zarr",
                     auth=kit.GCSCredentials(token=token, endpoint_url=gcs))
    assert len(plate.images()) == 4  # the emulator takes any token: the provider was accepted
    assert token not in repr(plate) + repr(plate.location.store.inner)
    assert "token=<hidden>" in repr(plate.location.store.inner.credential)
    broken = "{not json, Secret-Key-Material-91"
    with pytest.raises(kit.KitError, match="gs://gcsbucket") as info:
        kit.open("gs://gcsbucket/plate.zarr",
                 auth=kit.GCSCredentials(service_account_key=broken, endpoint_url=gcs))
    assert "Secret-Key-Material-91" not in str(info.value)
