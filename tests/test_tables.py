"""Tables and ROIs: generated tables of every backend, ROI crops by hand, HTTP request counts.

Peers (anndata, ngio) run in their own virtualenvs: see test_tables_peers.py (slow).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr

import kit
from kit.demo.generate import expected_tables, write_image, write_plate
from kit.demo.server import DemoServer
from kit.errors import InvalidData, InvalidMetadata, KitError, KitWarning, NotFound

SCALE = {"z": 2.0, "y": 0.5, "x": 0.5}
TRANSLATION = {"y": 10.0, "x": -3.0}
LAYOUTS = [("0.4", False), ("0.5", False), ("0.5", True)]


@pytest.fixture(scope="module", params=LAYOUTS, ids=["v0.4", "v0.5", "v0.5-sharded"])
def image_path(request, tmp_path_factory) -> Path:
    """A czyx image (non-trivial scale and translation, 3 levels) with every table backend."""
    version, sharded = request.param
    root = tmp_path_factory.mktemp("tables")
    return write_image(root / "img.zarr", version=version, sharded=sharded, tables=True,
                       shape=(2, 3, 64, 96), scale=SCALE, translation=TRANSLATION)


# -- generated tables equal the generator's frames -------------------------------------------


def test_every_generated_table_equals_the_expected_frame(image_path):
    expected = expected_tables(image_path)
    tables = kit.open(str(image_path)).tables
    assert list(tables) == list(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(tables[name].to_pandas(), frame, obj=name)


def test_kinds_backends_and_regions_from_both_attribute_dialects(image_path):
    image = kit.open(str(image_path))
    tables = image.tables
    kinds = {n: (t.kind, t.backend) for n, t in tables.items()}
    assert kinds == {
        "FOV_ROI_table": ("roi_table", "anndata"),
        "nuclei_ROI_table": ("masking_roi_table", "anndata"),  # Fractal v1 dialect
        "nuclei_features": ("feature_table", "anndata"),
        "nuclei_features_parquet": ("feature_table", "parquet"),
        "nuclei_centroids_csv": ("feature_table", "csv"),  # legacy name experimental_csv_v1
        "channel_info_json": ("condition_table", "json"),
    }
    assert tables["FOV_ROI_table"].label is None
    for name in ("nuclei_ROI_table", "nuclei_features", "nuclei_centroids_csv"):
        assert tables[name].region == "../labels/nuclei"
        assert tables[name].label is image.labels["nuclei"]


def test_plate_level_table(tmp_path):
    for version in ("0.4", "0.5"):
        path = write_plate(tmp_path / f"plate{version}.zarr", version=version, plate_tables=True,
                           image_kwargs={"shape": (1, 1, 32, 32), "levels": 1, "labels": ()})
        table = kit.open(str(path)).tables["condition"]
        assert table.kind == "condition_table"
        pd.testing.assert_frame_equal(table.to_pandas(), expected_tables(path)["condition"])


# -- ROIs ------------------------------------------------------------------------------------


def _level(path: Path, level: int, label: bool = False) -> np.ndarray:
    where = path / ("labels/nuclei" if label else "") / str(level)
    return zarr.open_array(str(where), mode="r")[...]


def test_roi_read_equals_the_numpy_slice_computed_by_hand(image_path):
    image = kit.open(str(image_path))
    # ROIs are measured from the image origin (translation y=10, x=-3 is the origin, not 0).
    roi = {"x_micrometer": 4.0, "len_x_micrometer": 20.0, "y_micrometer": 4.0,
           "len_y_micrometer": 8.0, "z_micrometer": 2.0, "len_z_micrometer": 4.0}
    # pixel size y/x: 0.5, 1.0, 2.0 µm at levels 0, 1, 2; z stays 2.0 µm.
    by_hand = {0: np.s_[:, 1:3, 8:24, 8:48], 1: np.s_[:, 1:3, 4:12, 4:24],
               2: np.s_[:, 1:3, 2:6, 2:12]}
    for level, sel in by_hand.items():
        got = image.read_roi(roi, level=level)
        np.testing.assert_array_equal(got.compute(), _level(image_path, level)[sel])


def test_fov_rois_of_the_table_tile_every_level(image_path):
    image = kit.open(str(image_path))
    fovs = image.tables["FOV_ROI_table"].to_pandas()
    for level in range(3):
        full = _level(image_path, level)
        ny, nx = full.shape[2:]
        fov = fovs.loc["FOV_4"]  # bottom-right quarter
        np.testing.assert_array_equal(image.read_roi(fov, level=level).compute(),
                                      full[:, :, ny // 2:, nx // 2:])


def test_masking_roi_gives_the_instance_mask_at_the_matching_label_level(image_path):
    image = kit.open(str(image_path))
    rois = image.tables["nuclei_ROI_table"].to_pandas()
    value = int(rois.index[2])
    row = rois.loc[value]
    for level in range(3):
        s = 0.5 * 2**level  # y/x pixel size of image and label level `level`
        ys = slice(round(row.y_micrometer / s),
                   round((row.y_micrometer + row.len_y_micrometer) / s))
        xs = slice(round(row.x_micrometer / s),
                   round((row.x_micrometer + row.len_x_micrometer) / s))
        zs = slice(round(row.z_micrometer / 2.0),
                   round((row.z_micrometer + row.len_z_micrometer) / 2.0))
        mask = image.read_roi_mask(row, "nuclei", level=level)
        assert mask.dtype == bool and mask.shape == image.read_roi(row, level=level).shape[1:]
        labels = _level(image_path, level, label=True)
        np.testing.assert_array_equal(mask.compute(), labels[zs, ys, xs] == value)
    # the ROI is the nucleus' bounding box: at level 0 the mask holds all of its pixels
    labels0 = _level(image_path, 0, label=True)
    mask0 = image.read_roi_mask(row, image.labels["nuclei"], level=0).compute()
    assert mask0.sum() == (labels0 == value).sum() > 0


def test_mask_without_a_label_level_of_that_pixel_size_is_a_clear_error(real_plate):
    image = kit.open(str(real_plate))["B/03/0"]
    row = image.tables["FOV_ROI_table"].to_pandas().iloc[0]
    # the nuclei label starts at 0.65 µm, the image's level 2; level 0 is 0.1625 µm
    assert image.read_roi_mask(row, "nuclei", level=2, value=1).shape == (1, 540, 640)
    with pytest.raises(InvalidMetadata, match="no level with the pixel size") as err:
        image.read_roi_mask(row, "nuclei", level=0, value=1)
    assert "labels/nuclei" in str(err.value)


# -- request counts over authenticated HTTP (the real plate) ---------------------------------


def _chunk_keys(array_dir: Path) -> list[str]:
    meta = json.loads((array_dir / ".zarray").read_text())
    grid = [range(math.ceil(s / c)) for s, c in zip(meta["shape"], meta["chunks"])]
    sep = meta.get("dimension_separator", ".")
    keys = [sep.join(map(str, idx)) for idx in np.ndindex(*[len(g) for g in grid])]
    assert all((array_dir / k).is_file() for k in keys), "every chunk of these tables is on disk"
    return keys


def _table_keys(table: Path) -> list[str]:
    """What reading one v2 AnnData table needs, and nothing else:
    its group attrs; X/.zarray + X's chunks; var/_index/.zarray + chunks; obs/.zattrs
    (index name, column order) and, per obs column (the index first), .zarray + chunks.
    Not uns/obsm/..., not .zgroup, not the stale .zmetadata anndata left in the group."""
    keys = [".zattrs"]
    for array in ("X", "var/_index"):
        keys += [f"{array}/.zarray"] + [f"{array}/{k}" for k in _chunk_keys(table / array)]
    obs = json.loads((table / "obs/.zattrs").read_text())
    keys.append("obs/.zattrs")
    for col in [obs["_index"], *obs["column-order"]]:
        keys += [f"obs/{col}/.zarray"]
        keys += [f"obs/{col}/{k}" for k in _chunk_keys(table / "obs" / col)]
    return keys


def test_reading_a_wells_four_tables_costs_exactly_their_documents_and_chunks(real_plate):
    tables_dir = real_plate / "B/03/0/tables"
    names = json.loads((tables_dir / ".zattrs").read_text())["tables"]
    assert len(names) == 4
    prefix = f"/{real_plate.name}/B/03/0/tables/"
    expected = [prefix + ".zattrs"]  # the tables group's list of names
    expected += [prefix + f"{n}/{k}" for n in names for k in _table_keys(tables_dir / n)]

    with DemoServer(real_plate.parent, auth="bearer") as srv:
        image = kit.open(srv.url + real_plate.name, auth=srv.credential)["B/03/0"]
        srv.reset_log()
        frames = {n: t.to_pandas() for n, t in image.tables.items()}
        seen = list(srv.requests)

    assert sorted(r.path for r in seen) == sorted(expected)  # each once, nothing else
    assert len(seen) == len(expected) == 40
    assert all(r.status == 200 and r.authorization and r.method == "GET" for r in seen)
    assert frames["measurements"].shape == (1498, 73)


def test_generated_v3_tables_over_http_read_only_their_parts(tmp_path):
    path = write_image(tmp_path / "img.zarr", version="0.5", sharded=True, tables=True,
                       shape=(2, 1, 64, 64))
    with DemoServer(tmp_path, auth="basic") as srv:
        image = kit.open(srv.url + "img.zarr", auth=srv.credential)
        srv.reset_log()
        frames = {n: t.to_pandas() for n, t in image.tables.items()}
        seen = [r.path.removeprefix("/img.zarr/tables/") for r in srv.requests]
    for name, frame in expected_tables(path).items():
        pd.testing.assert_frame_equal(frames[name], frame, obj=name)
    allowed = ("X/", "obs/", "var/_index/", "table.parquet", "table.csv", "table/zarr.json")
    for key in seen:
        rest = key.split("/", 1)[1] if "/" in key else ""
        assert key == "zarr.json" or rest == "zarr.json" or rest.startswith(allowed), key
    documents = [k for k in seen if k.endswith("zarr.json")]
    assert len(documents) == len(set(documents))  # no document fetched twice


# -- bad input: typed errors naming the table ------------------------------------------------


@pytest.fixture
def small(tmp_path) -> Path:
    return write_image(tmp_path / "img.zarr", version="0.4", tables=True, shape=(1, 1, 48, 48),
                       levels=1)


def _set_attrs(group: Path, **changes) -> None:
    attrs = json.loads((group / ".zattrs").read_text())
    attrs.update(changes)
    (group / ".zattrs").write_text(json.dumps(attrs))


def _read(path: Path, name: str) -> pd.DataFrame:
    return kit.open(str(path)).tables[name].to_pandas()


def test_listed_but_missing_table(small):
    _set_attrs(small / "tables", tables=["FOV_ROI_table", "ghost"])
    with pytest.warns(KitWarning, match="ghost"):
        tables = kit.open(str(small)).tables
    with pytest.raises(NotFound) as err:
        tables["ghost"].to_pandas()
    assert "tables/ghost" in str(err.value)


def test_unknown_backend(small):
    _set_attrs(small / "tables/nuclei_features", backend="feather_v9")
    with pytest.raises(KitError, match="feather_v9") as err:
        _read(small, "nuclei_features")
    assert "tables/nuclei_features" in str(err.value)


def _rewrite_strings(array_dir: Path, values: list[str]) -> None:
    shutil.rmtree(array_dir)
    array = zarr.create_array(str(array_dir), shape=(len(values),), dtype=str, zarr_format=2)
    array[:] = np.array(values, dtype=object)


def test_x_and_var_length_mismatch(small):
    _rewrite_strings(small / "tables/nuclei_features/var/_index", ["only-one"])
    with pytest.raises(InvalidMetadata, match="X has 2 columns but var/_index names 1") as err:
        _read(small, "nuclei_features")
    assert "tables/nuclei_features" in str(err.value)


def test_obs_column_length_mismatch(small):
    _rewrite_strings(small / "tables/nuclei_features/obs/fov", ["FOV_1"])
    with pytest.raises(InvalidMetadata, match="obs column 'fov' has 1 rows") as err:
        _read(small, "nuclei_features")
    assert "tables/nuclei_features" in str(err.value)


def test_parquet_without_pyarrow_names_the_extra(small, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(KitError, match=r"pip install 'ngff-kit\[parquet\]'") as err:
        _read(small, "nuclei_features_parquet")
    assert "tables/nuclei_features_parquet" in str(err.value)


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_truncated_or_corrupt_chunk(small, damage):
    chunk = small / "tables/nuclei_features/X/0.0"
    raw = chunk.read_bytes()
    # blosc's header states the chunk's size: a cut chunk or one overwritten by other bytes
    # (here: a stretch of an HTML error page) must fail, not decode to garbage.
    html = (b"<html><body>502 Bad Gateway</body></html>" * 20)[: len(raw)]
    chunk.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else html)
    with pytest.raises(InvalidData, match="truncated or corrupt") as err:
        _read(small, "nuclei_features")
    assert "tables/nuclei_features/X" in str(err.value)


def test_truncated_parquet_and_missing_csv(small):
    pq = small / "tables/nuclei_features_parquet/table.parquet"
    pq.write_bytes(pq.read_bytes()[:40])
    with pytest.raises(InvalidData, match=r"table\.parquet") as err:
        _read(small, "nuclei_features_parquet")
    assert "tables/nuclei_features_parquet" in str(err.value)
    (small / "tables/nuclei_centroids_csv/table.csv").unlink()
    with pytest.raises(NotFound, match=r"table\.csv is missing"):
        _read(small, "nuclei_centroids_csv")


def test_json_columns_of_different_lengths(small):
    _set_attrs(small / "tables/channel_info_json/table", color=["red", "green", "blue"])
    with pytest.raises(InvalidMetadata, match="differ in length") as err:
        _read(small, "channel_info_json")
    assert "tables/channel_info_json" in str(err.value)


def test_index_that_does_not_fit_its_declared_type(small):
    _set_attrs(small / "tables/FOV_ROI_table", index_type="int")
    with pytest.raises(InvalidMetadata, match="index_type 'int'"):
        _read(small, "FOV_ROI_table")
