"""Plain zarr-python, the oracle, opening the relay's root over HTTP (fsspec): the synthesised
consolidated metadata is a standard document, and the tables it leaves lazy (their members not
in it, so the walk stays cheap) are read from the relay by name, as the kit reads them."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import zarr
from relay_helpers import CLASS, basic, request
from zarr.storage import FsspecStore

from kit.demo.generate import write_plate

pytest_plugins = ["relay_fixtures"]
pytestmark = pytest.mark.usefixtures("relay_clean")
TABLE = "B/03/0/tables/nuclei_features"


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_plain_zarr_reads_the_relay_root_and_its_lazy_tables(tmp_path, serve, relays, version):
    root = write_plate(tmp_path / "p.zarr", version=version, image_kwargs={"tables": True})
    up = serve(root)
    relay = relays(up.url)
    assert relay.wait_consolidated(60), relay.stats.consolidated
    zarr_format = 3 if version == "0.5" else 2
    key = "zarr.json" if zarr_format == 3 else ".zmetadata"
    document = json.loads(request(relay.url, "/" + key, basic(*CLASS)).body)
    if zarr_format == 3:
        inline = document["consolidated_metadata"]
        assert set(inline) == {"kind", "must_understand", "metadata"}  # no kit-only key
        assert inline["metadata"][TABLE]["consolidated_metadata"] is None
    else:
        assert set(document) == {"zarr_consolidated_format", "metadata"}

    token = base64.b64encode(":".join(CLASS).encode()).decode()
    store = FsspecStore.from_url(relay.url, read_only=True, storage_options={
        "client_kwargs": {"headers": {"Authorization": f"Basic {token}"}}})
    opened = zarr.open_consolidated(store, mode="r", zarr_format=zarr_format)
    local = zarr.open_group(root, mode="r")
    # the consolidated part: the hierarchy down to each table group, without a request
    assert sorted(opened["B/03/0/tables"].keys()) == sorted(local["B/03/0/tables"].keys())
    assert opened["B/03/0/0"].shape == local["B/03/0/0"].shape
    table = opened[TABLE]
    assert dict(table.attrs) == dict(local[TABLE].attrs)
    assert table.metadata.consolidated_metadata is None  # zarr reads its members
    # the lazy part: AnnData members named by the table, read from the relay
    for name in ("obs", "var", "X"):
        assert dict(table[name].attrs) == dict(local[TABLE][name].attrs), name
    np.testing.assert_array_equal(table["X"][:], local[TABLE]["X"][:])
    obs = table["obs"]
    for column in obs.attrs["column-order"]:
        member = obs[column]
        if isinstance(member, zarr.Array):
            np.testing.assert_array_equal(member[:], local[TABLE]["obs"][column][:])
