"""The whole tree over authenticated HTTP and S3: credentials reach every child, request
counts stay at the documents needed plus the chunks read, and consolidation collapses a plate
to one metadata round trip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import kit
from kit.demo.server import DemoServer

PLATE_NAME = "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"
PASSWORD = "s3cret-Pa55word"


def _chunk_files(level_dir: Path) -> list[Path]:
    return [p for p in level_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]


@pytest.fixture
def plate_server(real_plate, serve):
    return serve(real_plate.parent, auth="basic", username="alice", password=PASSWORD)


def test_plate_over_basic_auth_counts(real_plate, plate_server):
    srv = plate_server
    url = srv.url + PLATE_NAME
    plate = kit.open(url, auth=kit.BasicAuth("alice", PASSWORD))
    image = plate["B/03/0"]
    data = image.to_dask(4).compute()
    np.testing.assert_array_equal(data, zarr.open_array(real_plate / "B/03/0/4", mode="r")[...])
    paths = [r.path for r in srv.requests]
    # root probe of both zarr formats in one round trip: zarr.json, .zattrs, .zgroup, .zmetadata;
    # then one document each for the well, the image and the level read; then the chunks.
    chunks = len(_chunk_files(real_plate / "B/03/0/4"))
    assert len(paths) == 4 + 1 + 1 + 1 + chunks, paths
    assert len(set(paths)) == len(paths), "a key was fetched twice"
    assert all(r.authorization for r in srv.requests), "a child request lost the credential"
    assert not any(r.status == 401 for r in srv.requests)
    assert not any(p.endswith(("/1/.zarray", "/0/.zarray")) for p in paths), "unread level opened"


def test_plate_and_all_images_with_bearer_and_registry(real_plate):
    with DemoServer(real_plate.parent, auth="bearer", token="tok-123456") as srv:
        url = srv.url + PLATE_NAME
        kit.credentials.register(url, kit.BearerToken("tok-123456"))
        try:
            plate = kit.open(url)
            images = plate.images()
            assert sorted(images) == ["B/03/0", "B/05/0"]
            labels = images["B/05/0"].labels
            assert list(labels) == ["nuclei"]
            lab = labels["nuclei"].to_dask(4).compute()
            np.testing.assert_array_equal(
                lab, zarr.open_array(real_plate / "B/05/0/labels/nuclei/4", mode="r")[...])
            assert all(r.authorization for r in srv.requests)
        finally:
            kit.credentials.remove(url)


def test_consolidated_plate_opens_in_one_round_trip(tmp_path, real_plate):
    copy = tmp_path / PLATE_NAME
    shutil.copytree(real_plate, copy)
    with DemoServer(tmp_path) as srv:
        kit.open(srv.url + PLATE_NAME).images()
        before = srv.count()
        written = kit.consolidate(copy)
        assert written.name == ".zmetadata"
        srv.reset_log()
        plate = kit.open(srv.url + PLATE_NAME)
        images = plate.images()
        assert sorted(images) == ["B/03/0", "B/05/0"]
        levels = images["B/03/0"].levels
        tables = images["B/03/0"].tables
        assert len(levels) == 5 and len(tables) == 4
        paths = sorted(r.path.rsplit("/", 1)[-1] for r in srv.requests)
        assert paths == [".zattrs", ".zgroup", ".zmetadata", "zarr.json"], paths
        assert before == 4 + 2 + 2  # root probe, wells, images without consolidation


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_consolidate_agrees_with_zarr(tmp_path, version):
    from kit.demo.generate import write_plate

    path = write_plate(tmp_path / "p.zarr", version=version, rows="A", columns=("1", "2"),
                       image_kwargs={"axes": "cyx", "shape": (2, 32, 32), "levels": 2})
    kit.consolidate(path)
    group = zarr.open_group(path, mode="r", use_consolidated=True)
    members = dict(group.members(max_depth=None))
    assert "A/1/0/1" in members and "A/2/0" in members
    with DemoServer(tmp_path) as srv:
        plate = kit.open(srv.url + "p.zarr")
        assert len(plate.images()) == 2
        assert srv.count() == 4


def test_wrong_password_names_url_not_secret(plate_server):
    url = plate_server.url + PLATE_NAME
    with pytest.raises(kit.AuthenticationError) as info:
        kit.open(url, auth=kit.BasicAuth("alice", "Wrong-Pa55"))
    text = str(info.value)
    assert PLATE_NAME in text
    assert "Wrong-Pa55" not in text and PASSWORD not in text


def test_no_credentials_says_how(plate_server, no_machine_credentials):
    with pytest.raises(kit.AuthenticationError) as info:
        kit.open(plate_server.url + PLATE_NAME)
    text = str(info.value)
    assert "auth=" in text and "NGFF_KIT_TOKEN" in text and "kit.login()" in text


def test_env_credentials(plate_server, monkeypatch):
    monkeypatch.setenv("NGFF_KIT_USERNAME", "alice")
    monkeypatch.setenv("NGFF_KIT_PASSWORD", PASSWORD)
    monkeypatch.setenv("NGFF_KIT_ORIGINS", plate_server.url)
    assert isinstance(kit.open(plate_server.url + PLATE_NAME), kit.Plate)


def test_unreachable_and_malformed():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(kit.RemoteError, match=str(port)):
        kit.open(f"http://127.0.0.1:{port}/x.zarr")
    with pytest.raises(kit.KitError):
        kit.open("http:///no-host.zarr")


def test_fsspec_mapper_and_zarr_store(tmp_path):
    import fsspec
    from zarr.storage import LocalStore

    from kit.demo.generate import write_image

    path = write_image(tmp_path / "i.zarr", version="0.5", axes="yx", shape=(32, 32), levels=1,
                       labels=())
    expected = zarr.open_array(path / "0", mode="r")[...]
    by_mapper = kit.open(fsspec.get_mapper(f"file://{path}"))
    np.testing.assert_array_equal(by_mapper.to_dask(0).compute(), expected)
    by_store = kit.open(LocalStore(path, read_only=True))
    np.testing.assert_array_equal(by_store.to_dask(0).compute(), expected)
    by_url = kit.open(f"file://{path}")
    np.testing.assert_array_equal(by_url.to_dask(0).compute(), expected)


# -- S3 through moto's real server, with signatures enforced -----------------------------------

@pytest.fixture(scope="module")
def s3_plate(tmp_path_factory):
    from s3_server import plate_in_bucket

    with plate_in_bucket(tmp_path_factory.mktemp("s3"), "private-bucket", rows="A",
                         columns=("1", "2"),
                         image_kwargs={"axes": "cyx", "shape": (2, 64, 64), "levels": 2}) as found:
        yield found


def test_s3_private_bucket(s3_plate):
    server, local = s3_plate
    auth = kit.S3Credentials(key=server.key, secret=server.secret, endpoint_url=server.endpoint)
    plate = kit.open("s3://private-bucket/plate.zarr", auth=auth)
    images = plate.images()
    assert sorted(images) == ["A/1/0", "A/2/0"]
    np.testing.assert_array_equal(images["A/2/0"].to_dask(1).compute(),
                                  zarr.open_array(local / "A/2/0/1", mode="r")[...])
    assert server.secret not in repr(plate) + repr(images["A/2/0"].to_dask(1))


def test_s3_wrong_secret_and_anonymous(s3_plate):
    server, _ = s3_plate
    bad = kit.S3Credentials(key=server.key, secret="not-the-secret", endpoint_url=server.endpoint)
    with pytest.raises(kit.AuthenticationError, match="private-bucket"):
        kit.open("s3://private-bucket/plate.zarr", auth=bad)
    anon = kit.S3Credentials(anon=True, endpoint_url=server.endpoint)
    with pytest.raises(kit.PermissionDenied, match="private-bucket"):
        kit.open("s3://private-bucket/plate.zarr", auth=anon)


def test_s3_sessions_are_closed_at_exit(s3_plate):
    """s3fs leaves the sessions of asynchronous instances open; the kit closes them at exit, so
    a script ends without aiohttp's "Unclosed client session" on stderr."""
    server, _ = s3_plate
    script = (
        "import kit\n"
        f"auth = kit.S3Credentials(key={server.key!r}, secret={server.secret!r},"
        f" endpoint_url={server.endpoint!r})\n"
        "plate = kit.open('s3://private-bucket/plate.zarr', auth=auth)\n"
        "print(len(plate.images()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert "Unclosed" not in done.stderr, done.stderr
