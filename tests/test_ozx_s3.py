"""RFC-9 zipped OME-Zarr (``.ozx``) in an S3 bucket: read through the cloud store's range and
suffix requests against a real moto server on loopback, with real credentials."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import zarr

import kit
from kit.demo.generate import write_image
from kit.io.zipstore import ZipStore

pytest.importorskip("moto")
pytest.importorskip("obstore")


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
    from s3_server import start_s3_server

    base = tmp_path_factory.mktemp("ozx-s3")
    folder = write_image(base / "img.zarr", version="0.5", axes="cyx", shape=(2, 48, 48),
                         levels=2, labels=())
    target = base / "img.ozx"
    files = sorted((p for p in folder.rglob("*") if p.is_file()),
                   key=lambda p: (p.name != "zarr.json", len(p.relative_to(folder).parts), str(p)))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.relative_to(folder).as_posix())
    server = start_s3_server("ozx-bucket")
    try:
        server.client().put_object(Bucket="ozx-bucket", Key="data/img.ozx",
                                   Body=target.read_bytes())
        yield server, folder
    finally:
        server.stop()


def test_ozx_in_a_bucket_reads_like_the_folder(bucket) -> None:
    server, folder = bucket
    auth = kit.S3Credentials(key=server.key, secret=server.secret, endpoint_url=server.endpoint)
    image = kit.open("s3://ozx-bucket/data/img.ozx", auth=auth)
    assert isinstance(image.location.store.inner, ZipStore)
    for level in (0, 1):
        np.testing.assert_array_equal(image.read(level),
                                      zarr.open_array(str(folder / str(level)), mode="r")[...])
    shown = repr(image) + repr(image.location.store) + str(image.url)
    assert server.secret not in shown and server.key not in shown


def test_ozx_in_a_bucket_without_permission_is_refused(bucket) -> None:
    server, _ = bucket
    auth = kit.S3Credentials(key=server.outsider_key, secret=server.outsider_secret,
                             endpoint_url=server.endpoint)
    with pytest.raises(kit.PermissionDenied) as info:
        kit.open("s3://ozx-bucket/data/img.ozx", auth=auth)
    assert server.outsider_secret not in str(info.value)


def test_missing_ozx_in_a_bucket_is_not_found(bucket) -> None:
    server, _ = bucket
    auth = kit.S3Credentials(key=server.key, secret=server.secret, endpoint_url=server.endpoint)
    with pytest.raises(kit.NotFound):
        kit.open("s3://ozx-bucket/data/absent.ozx", auth=auth)
