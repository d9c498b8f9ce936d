"""The demo generator, checked against zarr-python, numpy and pandas as oracles.

Everything the rest of the test-suite trusts about generated data is asserted here: the files
each NGFF version prescribes, pyramids that really are downsamples, labels that are the nuclei,
tables that agree with the pixels, byte-level determinism, and the official JSON schemas.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr
from helpers import schema_validator as _validator

from kit.demo.generate import (
    TABLE_NAMES,
    expected_tables,
    sample_dataset,
    write_bf2raw,
    write_image,
    write_plate,
    write_tables,
)

VERSIONS = ("0.4", "0.5")


# --------------------------------------------------------------------------- helpers


def attrs_of(path: Path) -> dict:
    """Attributes as stored on disk (v2 .zattrs, v3 zarr.json), without going through kit."""
    if (path / "zarr.json").exists():
        return json.loads((path / "zarr.json").read_text())["attributes"]
    return json.loads((path / ".zattrs").read_text())


def ome(path: Path) -> dict:
    a = attrs_of(path)
    return a.get("ome", a)


def read(path: Path) -> np.ndarray:
    return zarr.open_array(str(path), mode="r")[...]


def block_mean(a: np.ndarray, f: int = 2) -> np.ndarray:
    """Reference y/x downsample written independently of the generator."""
    ny, nx = a.shape[-2:]
    a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, (-ny) % f), (0, (-nx) % f)], mode="edge")
    s = a.shape[:-2] + (a.shape[-2] // f, f, a.shape[-1] // f, f)
    return np.rint(a.reshape(s).astype(np.float64).mean(axis=(-3, -1)))


def read_anndata(path: Path) -> tuple[pd.DataFrame, dict]:
    """A minimal AnnData-on-zarr reader built only on zarr: the oracle for X and obs."""
    g = zarr.open_group(str(path), mode="r")
    attrs = dict(g.attrs)
    var = [str(v) for v in g["var/_index"][...]]
    df = pd.DataFrame(g["X"][...], columns=var)
    obs = g["obs"]
    for c in obs.attrs["column-order"]:
        node = obs[c]
        enc = node.attrs["encoding-type"]
        if enc == "categorical":
            cats = [str(v) for v in node["categories"][...]]
            df[c] = pd.Categorical.from_codes(node["codes"][...], categories=cats)
        elif enc in ("nullable-integer", "nullable-boolean"):
            values, mask = node["values"][...], node["mask"][...]
            dtype = "Int64" if enc == "nullable-integer" else "boolean"
            df[c] = pd.array([pd.NA if m else v.item() for v, m in zip(values, mask)], dtype=dtype)
        elif enc == "string-array":
            df[c] = pd.array([str(v) for v in node[...]], dtype="str")
        else:
            df[c] = node[...]
    key = obs.attrs["_index"]
    index = [str(v) for v in obs[key][...]]
    index_type = attrs.get("index_type", "int" if key == "label" else "str")
    df.index = pd.Index([int(v) for v in index] if index_type == "int" else index, name=key,
                        dtype="int64" if index_type == "int" else "str")
    return df, attrs


@pytest.fixture(scope="module", params=VERSIONS)
def image(request, tmp_path_factory) -> tuple[str, Path]:
    version = request.param
    path = tmp_path_factory.mktemp(f"img{version}") / "image.zarr"
    write_image(path, version=version, shape=(3, 4, 96, 80), levels=3, tables=True,
                translation={"y": 10.0, "x": 20.0}, seed=7)
    return version, path


# --------------------------------------------------------------------------- images


def test_v04_files_are_zarr_v2_with_nested_keys(tmp_path):
    p = write_image(tmp_path / "a.zarr", version="0.4", shape=(2, 1, 64, 64), levels=2)
    assert (p / ".zgroup").exists() and not (p / "zarr.json").exists()
    meta = json.loads((p / "0" / ".zarray").read_text())
    assert meta["zarr_format"] == 2
    assert meta["dimension_separator"] == "/"
    assert meta["compressor"]["id"] == "blosc"
    assert (p / "0" / "0" / "0" / "0" / "0").exists()  # nested chunk key c/z/y/x
    ms = attrs_of(p)["multiscales"][0]
    assert ms["version"] == "0.4" and "ome" not in attrs_of(p)
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"]
    assert attrs_of(p / "labels") == {"labels": ["nuclei"]}


def test_v05_files_are_zarr_v3_with_ome_and_dimension_names(tmp_path):
    p = write_image(tmp_path / "a.zarr", version="0.5", shape=(2, 1, 64, 64), levels=2)
    assert not (p / ".zattrs").exists() and not (p / ".zgroup").exists()
    doc = json.loads((p / "zarr.json").read_text())
    assert doc["zarr_format"] == 3 and doc["node_type"] == "group"
    assert doc["attributes"]["ome"]["version"] == "0.5"
    assert "version" not in doc["attributes"]["ome"]["multiscales"][0]
    for level in ("0", "1"):
        arr = json.loads((p / level / "zarr.json").read_text())
        assert arr["dimension_names"] == ["c", "z", "y", "x"]
    for level in ("0", "1"):
        arr = json.loads((p / "labels" / "nuclei" / level / "zarr.json").read_text())
        assert arr["dimension_names"] == ["z", "y", "x"]
    assert attrs_of(p / "labels") == {"ome": {"version": "0.5", "labels": ["nuclei"]}}


def test_levels_halve_and_scale_doubles(image):
    _, p = image
    ms = ome(p)["multiscales"][0]
    shapes = [zarr.open_array(str(p / d["path"]), mode="r").shape for d in ms["datasets"]]
    assert shapes == [(3, 4, 96, 80), (3, 4, 48, 40), (3, 4, 24, 20)]
    scales = [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]]
    assert scales == [[1.0, 1.0, 0.325, 0.325], [1.0, 1.0, 0.65, 0.65], [1.0, 1.0, 1.3, 1.3]]
    trans = [d["coordinateTransformations"][1] for d in ms["datasets"]]
    assert all(t == {"type": "translation", "translation": [0.0, 0.0, 10.0, 20.0]} for t in trans)


def test_each_level_is_a_block_mean_of_the_previous(image):
    _, p = image
    l0, l1, l2 = (read(p / str(k)) for k in range(3))
    np.testing.assert_array_equal(l1, block_mean(l0))
    np.testing.assert_array_equal(l2, block_mean(l1))


def test_odd_sizes_round_up(tmp_path):
    p = write_image(tmp_path / "odd.zarr", axes="yx", shape=(33, 17), levels=3, labels=("nuclei",))
    assert [read(p / str(k)).shape for k in range(3)] == [(33, 17), (17, 9), (9, 5)]
    shapes = [read(p / "labels/nuclei" / str(k)).shape for k in range(3)]
    assert shapes == [(33, 17), (17, 9), (9, 5)]


def test_labels_are_the_nuclei(image):
    _, p = image
    img, lab = read(p / "0"), read(p / "labels/nuclei/0")
    assert lab.shape == img.shape[1:] and lab.dtype.kind == "u"
    values = np.unique(lab)
    assert values[0] == 0 and list(values[1:]) == list(range(1, values[-1] + 1)) and values[-1] >= 2
    dapi = img[0].astype(float)
    assert dapi[lab > 0].mean() > 3 * dapi[lab == 0].mean()
    # every nucleus is individually brighter than the background
    per_label = np.bincount(lab.ravel(), weights=dapi.ravel()) / np.bincount(lab.ravel())
    assert (per_label[1:] > 2 * per_label[0]).all()


def test_label_levels_are_nearest_downsamples(image):
    _, p = image
    l0, l1, l2 = (read(p / "labels/nuclei" / str(k)) for k in range(3))
    np.testing.assert_array_equal(l1, l0[..., ::2, ::2])
    np.testing.assert_array_equal(l2, l1[..., ::2, ::2])
    ims = ome(p)["multiscales"][0]["datasets"]
    lms = ome(p / "labels/nuclei")["multiscales"][0]["datasets"]
    assert len(lms) == len(ims)
    for im, lm in zip(ims, lms):
        assert (lm["coordinateTransformations"][0]["scale"]
                == im["coordinateTransformations"][0]["scale"][1:])


def test_image_label_metadata(image):
    version, p = image
    meta = ome(p / "labels/nuclei")
    il = meta["image-label"]
    values = sorted(int(v) for v in np.unique(read(p / "labels/nuclei/0")) if v)
    assert sorted(c["label-value"] for c in il["colors"]) == values
    assert all(len(c["rgba"]) == 4 and all(0 <= x <= 255 for x in c["rgba"]) for c in il["colors"])
    counts = np.bincount(read(p / "labels/nuclei/0").ravel())
    areas = {q["label-value"]: q["area (pixels)"] for q in il["properties"]}
    assert areas == {v: counts[v] for v in values}
    assert il["source"] == {"image": "../../"}
    assert ("version" in il) == (version == "0.4")
    assert [a["name"] for a in meta["multiscales"][0]["axes"]] == ["z", "y", "x"]


def test_cells_label_contains_its_nucleus(tmp_path):
    p = write_image(tmp_path / "c.zarr", shape=(2, 1, 96, 96), labels=("nuclei", "cells"), levels=1)
    nuc, cell = read(p / "labels/nuclei/0"), read(p / "labels/cells/0")
    assert attrs_of(p / "labels")["labels"] == ["nuclei", "cells"]
    np.testing.assert_array_equal(cell[nuc > 0], nuc[nuc > 0])
    assert (cell > 0).sum() > 1.5 * (nuc > 0).sum()
    assert set(np.unique(cell)) == set(np.unique(nuc))


def test_no_label_colors(tmp_path):
    p = write_image(tmp_path / "n.zarr", shape=(1, 1, 32, 32), levels=1, label_colors=False)
    assert "colors" not in ome(p / "labels/nuclei")["image-label"]


def test_omero_windows_come_from_the_data(image):
    _, p = image
    omero = ome(p)["omero"]
    data = read(p / "0")
    assert [c["label"] for c in omero["channels"]] == ["DAPI", "GFP", "mCherry"]
    assert [c["color"] for c in omero["channels"]] == ["0000FF", "00FF00", "FF0000"]
    for i, ch in enumerate(omero["channels"]):
        w = ch["window"]
        assert w["min"] == int(data[i].min()) and w["max"] == int(data[i].max())
        assert w["min"] <= w["start"] < w["end"] <= w["max"]


def test_custom_channels_and_no_omero(tmp_path):
    p = write_image(tmp_path / "a.zarr", shape=(2, 1, 32, 32), levels=1,
                    channels=["A", {"label": "B", "color": "#ffff00"}])
    channels = [(c["label"], c["color"]) for c in ome(p)["omero"]["channels"]]
    assert channels == [("A", "0000FF"), ("B", "FFFF00")]
    q = write_image(tmp_path / "b.zarr", shape=(2, 1, 32, 32), levels=1, omero=False)
    assert "omero" not in ome(q)
    with pytest.raises(ValueError):
        write_image(tmp_path / "c.zarr", shape=(2, 1, 32, 32), channels=["only one"])


@pytest.mark.parametrize("axes,shape", [
    ("yx", (40, 48)), ("zyx", (3, 40, 48)), ("cyx", (2, 40, 48)), ("tyx", (2, 40, 48)),
    ("tczyx", (2, 2, 3, 40, 48)),
])
@pytest.mark.parametrize("version", VERSIONS)
def test_axes_variants(tmp_path, axes, shape, version):
    p = write_image(tmp_path / "a.zarr", version=version, axes=axes, shape=shape, levels=2)
    assert read(p / "0").shape == shape
    lab = read(p / "labels/nuclei/0")
    assert lab.shape == tuple(s for a, s in zip(axes, shape) if a != "c")
    label_axes = ome(p / "labels/nuclei")["multiscales"][0]["axes"]
    assert [a["name"] for a in label_axes] == list(axes.replace("c", ""))
    assert lab.max() >= 1
    if "t" in axes:  # labels do not move over time
        np.testing.assert_array_equal(lab[0], lab[-1])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32"])
def test_dtypes(tmp_path, dtype):
    p = write_image(tmp_path / "a.zarr", shape=(1, 1, 48, 48), levels=2, dtype=dtype)
    a = read(p / "0")
    assert a.dtype == np.dtype(dtype) and a.max() > a.min()
    assert read(p / "1").dtype == np.dtype(dtype)


def test_sharded_v05_holds_the_same_pixels(tmp_path):
    plain = write_image(tmp_path / "plain.zarr", version="0.5", shape=(2, 1, 128, 128), seed=3)
    sharded = write_image(tmp_path / "sharded.zarr", version="0.5", shape=(2, 1, 128, 128), seed=3,
                          chunks=(1, 1, 32, 32), sharded=True)
    codecs = json.loads((sharded / "0" / "zarr.json").read_text())["codecs"]
    assert codecs[0]["name"] == "sharding_indexed"
    assert codecs[0]["configuration"]["chunk_shape"] == [1, 1, 32, 32]
    np.testing.assert_array_equal(read(plain / "0"), read(sharded / "0"))
    np.testing.assert_array_equal(read(plain / "labels/nuclei/1"),
                                  read(sharded / "labels/nuclei/1"))
    with pytest.raises(ValueError):
        write_image(tmp_path / "bad.zarr", version="0.4", sharded=True)


@pytest.mark.parametrize("compressor,v2id,v3name", [("zstd", "zstd", "zstd"), (None, None, None)])
def test_compressor_choice(tmp_path, compressor, v2id, v3name):
    a = write_image(tmp_path / "a.zarr", version="0.4", shape=(1, 1, 32, 32), levels=1,
                    compressor=compressor)
    comp = json.loads((a / "0" / ".zarray").read_text())["compressor"]
    assert (comp["id"] if comp else None) == v2id
    b = write_image(tmp_path / "b.zarr", version="0.5", shape=(1, 1, 32, 32), levels=1,
                    compressor=compressor)
    names = [c["name"] for c in json.loads((b / "0" / "zarr.json").read_text())["codecs"]]
    assert names == ["bytes"] + ([v3name] if v3name else [])


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    chunk = Path("0", "0", "0", "0", "0")
    a = write_image(tmp_path / "a" / "img.zarr", shape=(2, 1, 64, 64), seed=5, tables=True)
    b = write_image(tmp_path / "b" / "img.zarr", shape=(2, 1, 64, 64), seed=5, tables=True)
    c = write_image(tmp_path / "c" / "img.zarr", shape=(2, 1, 64, 64), seed=6)
    assert (a / chunk).read_bytes() == (b / chunk).read_bytes()
    assert (a / chunk).read_bytes() != (c / chunk).read_bytes()
    assert (a / "labels/nuclei/0/0/0/0").read_bytes() == (b / "labels/nuclei/0/0/0/0").read_bytes()
    assert (a / "tables/nuclei_features_parquet/table.parquet").read_bytes() == \
        (b / "tables/nuclei_features_parquet/table.parquet").read_bytes()
    assert attrs_of(a) == attrs_of(b)
    assert ome(a)["omero"] != ome(c)["omero"]  # windows follow the data


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.zarr", version="0.6")
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.zarr", axes="xyc", shape=(4, 4, 1))
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.zarr", axes="cyx", shape=(4, 4))


# --------------------------------------------------------------------------- tables


def test_tables_group_lists_every_table(image):
    _, p = image
    assert attrs_of(p / "tables") == {"tables": list(TABLE_NAMES)}
    assert len(TABLE_NAMES) == 6


def test_masking_roi_boxes_contain_their_label(image):
    _, p = image
    df, _ = read_anndata(p / "tables/nuclei_ROI_table")
    lab = read(p / "labels/nuclei/0")
    level0 = ome(p / "labels/nuclei")["multiscales"][0]["datasets"][0]
    sz, sy, sx = level0["coordinateTransformations"][0]["scale"]
    assert sorted(df.index) == sorted(int(v) for v in np.unique(lab) if v)
    for value, row in df.iterrows():
        z, y, x = np.nonzero(lab == value)
        assert row["x_micrometer"] == pytest.approx(x.min() * sx)
        assert row["y_micrometer"] == pytest.approx(y.min() * sy)
        assert row["z_micrometer"] == pytest.approx(z.min() * sz)
        assert row["len_x_micrometer"] == pytest.approx((x.max() - x.min() + 1) * sx)
        assert row["len_y_micrometer"] == pytest.approx((y.max() - y.min() + 1) * sy)
        assert row["len_z_micrometer"] == pytest.approx((z.max() - z.min() + 1) * sz)
        # the box, cut out of the label image, holds every pixel of that label
        def span(ax: str, s: float, row=row) -> slice:
            start, length = row[f"{ax}_micrometer"], row[f"len_{ax}_micrometer"]
            lo, hi = round(start / s), round((start + length) / s)
            return slice(int(lo), int(hi))  # older numpy's round() gives a float

        box = lab[span("z", sz), span("y", sy), span("x", sx)]
        assert (box == value).sum() == (lab == value).sum()


def test_fov_rois_tile_the_image(image):
    _, p = image
    df, _ = read_anndata(p / "tables/FOV_ROI_table")
    assert list(df.index) == ["FOV_1", "FOV_2", "FOV_3", "FOV_4"]
    area = (df["len_x_micrometer"] * df["len_y_micrometer"]).sum()
    assert area == pytest.approx(96 * 0.325 * 80 * 0.325)
    assert (df["len_z_micrometer"] == 4.0).all()
    assert (df["x_micrometer_original"] - df["x_micrometer"] == 20.0).all()


def test_feature_areas_and_intensities_match_pixels(image):
    _, p = image
    df, _ = read_anndata(p / "tables/nuclei_features")
    lab, img = read(p / "labels/nuclei/0"), read(p / "0")
    counts = np.bincount(lab.ravel())
    np.testing.assert_array_equal(df["area"].to_numpy(), counts[df.index.to_numpy()])
    dapi = np.bincount(lab.ravel(), weights=img[0].ravel().astype(float)) / counts
    np.testing.assert_allclose(df["mean_intensity_DAPI"].to_numpy(), dapi[df.index.to_numpy()])
    properties = ome(p / "labels/nuclei")["image-label"]["properties"]
    classes = {q["label-value"]: q["class"] for q in properties}
    assert list(df["cell_class"].astype(str)) == [classes[v] for v in df.index]


@pytest.mark.parametrize("name", ["FOV_ROI_table", "nuclei_ROI_table", "nuclei_features"])
def test_anndata_tables_read_back_exactly(image, name):
    _, p = image
    df, _ = read_anndata(p / "tables" / name)
    pd.testing.assert_frame_equal(df, expected_tables(p, tables=[name])[name])


def test_anndata_obs_uses_every_encoding(image):
    version, p = image
    t = p / "tables/nuclei_features"
    obs = attrs_of(t / "obs")
    assert obs["_index"] == "label" and obs["encoding-type"] == "dataframe"
    assert obs["column-order"] == ["cell_class", "fov", "n_neighbors", "is_mitotic"]
    assert attrs_of(t / "obs/cell_class")["encoding-type"] == "categorical"
    assert attrs_of(t / "obs/cell_class/categories")["encoding-type"] == "string-array"
    assert attrs_of(t / "obs/fov")["encoding-type"] == "string-array"
    assert attrs_of(t / "obs/n_neighbors")["encoding-type"] == "nullable-integer"
    assert attrs_of(t / "obs/is_mitotic")["encoding-type"] == "nullable-boolean"
    assert read(t / "obs/n_neighbors/mask").any() and not read(t / "obs/n_neighbors/mask").all()
    assert read(t / "obs/is_mitotic/mask").any()
    assert attrs_of(t / "X") == {"encoding-type": "array", "encoding-version": "0.2.0"}
    assert attrs_of(t / "var/_index")["encoding-type"] == "string-array"
    for name in ("uns", "obsm", "obsp", "varm", "varp", "layers"):
        assert attrs_of(t / name) == {"encoding-type": "dict", "encoding-version": "0.1.0"}
    if version == "0.4":
        meta = json.loads((t / "obs/fov/.zarray").read_text())
        assert meta["dtype"] == "|O" and meta["filters"] == [{"id": "vlen-utf8"}]
        assert json.loads((t / "X/.zarray").read_text())["dtype"] == "<f8"
    else:
        meta = json.loads((t / "obs/fov/zarr.json").read_text())
        assert meta["data_type"] == "string"
        x = json.loads((t / "X/zarr.json").read_text())
        assert x["data_type"] == "float64" and x["codecs"][0]["name"] == "sharding_indexed"


def test_attribute_dialects(image):
    _, p = image
    fov = attrs_of(p / "tables/FOV_ROI_table")
    assert fov == {"encoding-type": "anndata", "encoding-version": "0.1.0", "backend": "anndata_v1",
                   "index_key": "FieldIndex", "index_type": "str", "table_version": "1",
                   "type": "roi_table"}
    legacy = attrs_of(p / "tables/nuclei_ROI_table")
    assert legacy == {"encoding-type": "anndata", "encoding-version": "0.1.0",
                      "fractal_table_version": "1", "type": "masking_roi_table",
                      "region": {"path": "../labels/nuclei"}, "instance_key": "label"}
    feat = attrs_of(p / "tables/nuclei_features")
    assert feat["type"] == "feature_table" and feat["region"] == {"path": "../labels/nuclei"}
    assert feat["categorical_columns"] == ["cell_class"]
    assert feat["measurement_columns"] == ["area", "mean_intensity_DAPI", "mean_intensity_GFP",
                                           "mean_intensity_mCherry"]
    assert attrs_of(p / "tables/nuclei_features_parquet")["backend"] == "parquet"
    assert "encoding-type" not in attrs_of(p / "tables/nuclei_features_parquet")
    assert attrs_of(p / "tables/nuclei_centroids_csv")["backend"] == "experimental_csv_v1"
    assert attrs_of(p / "tables/channel_info_json")["backend"] == "json"
    assert "ome" not in attrs_of(p / "tables")  # tables are never wrapped, in 0.5 either


def test_parquet_csv_json_equal_expected(image):
    _, p = image
    exp = expected_tables(p)
    pq = pd.read_parquet(p / "tables/nuclei_features_parquet/table.parquet").set_index("label")
    pd.testing.assert_frame_equal(pq, exp["nuclei_features_parquet"])
    text = (p / "tables/nuclei_centroids_csv/table.csv").read_text()
    assert text.startswith('"label","centroid_x_micrometer"')
    csv = pd.read_csv(p / "tables/nuclei_centroids_csv/table.csv").set_index("label")
    pd.testing.assert_frame_equal(csv, exp["nuclei_centroids_csv"])
    js = pd.DataFrame(attrs_of(p / "tables/channel_info_json/table")).set_index("channel")
    pd.testing.assert_frame_equal(js, exp["channel_info_json"])


def test_centroids_fall_inside_the_roi_boxes(image):
    _, p = image
    exp = expected_tables(p, tables=["nuclei_ROI_table", "nuclei_centroids_csv"])
    roi, cen = exp["nuclei_ROI_table"], exp["nuclei_centroids_csv"]
    for ax in "xyz":
        lo, ln = roi[f"{ax}_micrometer"], roi[f"len_{ax}_micrometer"]
        centroid = cen[f"centroid_{ax}_micrometer"]
        assert ((centroid > lo) & (centroid < lo + ln)).all()


def test_write_tables_selects_and_appends(tmp_path):
    p = write_image(tmp_path / "a.zarr", shape=(2, 1, 64, 64), levels=1)
    frames = write_tables(p, tables=["nuclei_features_parquet"])
    assert list(frames) == ["nuclei_features_parquet"]
    assert attrs_of(p / "tables") == {"tables": ["nuclei_features_parquet"]}
    write_tables(p, tables=["FOV_ROI_table", "nuclei_features_parquet"])
    assert attrs_of(p / "tables") == {"tables": ["nuclei_features_parquet", "FOV_ROI_table"]}
    assert not (p / "tables/nuclei_features").exists()
    with pytest.raises(ValueError):
        write_tables(p, tables=["no_such_table"])


def test_label_tables_need_the_nuclei_label(tmp_path):
    p = write_image(tmp_path / "a.zarr", shape=(2, 1, 32, 32), levels=1, labels=())
    assert set(write_tables(p)) == {"FOV_ROI_table", "channel_info_json"}
    with pytest.raises(ValueError, match="nuclei"):
        write_tables(p, tables=["nuclei_ROI_table"])


def test_2d_tables_use_ngio_z_defaults(tmp_path):
    p = write_image(tmp_path / "a.zarr", axes="cyx", shape=(2, 64, 64), levels=1, tables=True)
    roi = expected_tables(p, tables=["nuclei_ROI_table"])["nuclei_ROI_table"]
    assert (roi["z_micrometer"] == 0).all() and (roi["len_z_micrometer"] == 1).all()
    assert "centroid_z_micrometer" not in expected_tables(p)["nuclei_centroids_csv"]


# --------------------------------------------------------------------------- plates, bf2raw


@pytest.mark.parametrize("version", VERSIONS)
def test_plate_layout(tmp_path, version):
    p = write_plate(tmp_path / "plate.zarr", version=version, rows="BC", columns=("03", "05"),
                    fields=2, missing_wells=("C/05",), plate_tables=True)
    plate = ome(p)["plate"]
    assert [r["name"] for r in plate["rows"]] == ["B", "C"]
    assert [c["name"] for c in plate["columns"]] == ["03", "05"]
    assert plate["wells"] == [{"path": "B/03", "rowIndex": 0, "columnIndex": 0},
                              {"path": "B/05", "rowIndex": 0, "columnIndex": 1},
                              {"path": "C/03", "rowIndex": 1, "columnIndex": 0}]
    assert plate["field_count"] == 2
    assert not (p / "C" / "05").exists()
    assert ome(p / "B/03")["well"]["images"] == [{"path": "0"}, {"path": "1"}]
    assert ("version" in plate) == (version == "0.4")
    a, b = read(p / "B/03/0/0"), read(p / "B/03/1/0")
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert not np.array_equal(a, read(p / "C/03/0/0"))
    cond = expected_tables(p)["condition"]
    assert list(cond.index) == ["B/03", "B/05", "C/03"]
    df, attrs = read_anndata(p / "tables/condition")
    assert attrs["type"] == "condition_table"
    pd.testing.assert_frame_equal(df, cond)


def test_plate_acquisitions(tmp_path):
    p = write_plate(tmp_path / "plate.zarr", rows="A", columns=("01",), fields=1, acquisitions=2)
    plate = ome(p)["plate"]
    assert [a["id"] for a in plate["acquisitions"]] == [0, 1]
    assert ome(p / "A/01")["well"]["images"] == [{"path": "0", "acquisition": 0},
                                                 {"path": "1", "acquisition": 1}]


def test_large_plate_is_quick(tmp_path):
    t0 = time.perf_counter()
    p = write_plate(tmp_path / "big.zarr", rows="ABCDEFGH",
                    columns=[f"{i:02d}" for i in range(1, 13)],
                    image_kwargs={"shape": (2, 1, 64, 64), "levels": 2})
    elapsed = time.perf_counter() - t0
    assert len(ome(p)["plate"]["wells"]) == 96
    assert read(p / "H/12/0/1").shape == (2, 1, 32, 32)
    assert elapsed < 90, elapsed  # a few seconds on an idle machine; generous for loaded CI


@pytest.mark.parametrize("version", VERSIONS)
def test_bf2raw_layout(tmp_path, version):
    p = write_bf2raw(tmp_path / "bf.zarr", version=version, series=2)
    assert ome(p)["bioformats2raw.layout"] == 3
    assert ome(p / "OME")["series"] == ["0", "1"]
    assert "multiscales" in ome(p / "0") and "multiscales" in ome(p / "1")
    assert not np.array_equal(read(p / "0/0"), read(p / "1/0"))
    root = ET.parse(p / "OME" / "METADATA.ome.xml").getroot()
    images = [e for e in root if e.tag.endswith("Image")]
    assert len(images) == 2
    assert images[0][0].attrib["SizeX"] == "64"


def test_sample_dataset(tmp_path):
    t0 = time.perf_counter()
    p = sample_dataset(tmp_path / "sample.zarr")
    elapsed = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    assert size < 30e6, size
    assert elapsed < 120, elapsed
    plate = ome(p)["plate"]
    assert [w["path"] for w in plate["wells"]] == ["B/03", "B/04", "B/05", "C/03", "C/05"]
    img = p / "B/03/1"
    assert zarr.open_array(str(img / "0"), mode="r").shape == (3, 3, 512, 512)
    assert zarr.open_array(str(img / "0"), mode="r").chunks == (1, 1, 256, 256)
    assert len(ome(img)["multiscales"][0]["datasets"]) == 3
    assert [c["color"] for c in ome(img)["omero"]["channels"]] == ["0000FF", "00FF00", "FF0000"]
    assert attrs_of(img / "tables")["tables"] == list(TABLE_NAMES)
    assert attrs_of(p / "tables")["tables"] == ["condition"]
    assert "colors" in ome(img / "labels/nuclei")["image-label"]


# --------------------------------------------------------------------------- official schemas


def _valid(version: str, name: str, doc: dict) -> None:
    errors = sorted(_validator(version, name).iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("strict", ["", "strict_"])
def test_metadata_passes_official_schemas(tmp_path, version, strict):
    p = write_plate(tmp_path / "plate.zarr", version=version, fields=2, acquisitions=1,
                    image_kwargs={"shape": (2, 2, 48, 48), "levels": 2, "labels": ("nuclei",)})
    _valid(version, f"{strict}plate", attrs_of(p))
    _valid(version, f"{strict}well", attrs_of(p / "B/03"))
    _valid(version, f"{strict}image", attrs_of(p / "B/03/0"))
    _valid(version, f"{strict}label", attrs_of(p / "B/03/0/labels/nuclei"))
    _valid(version, f"{strict}image", attrs_of(p / "B/03/0/labels/nuclei"))
    bf = write_bf2raw(tmp_path / "bf.zarr", version=version)
    _valid(version, "bf2raw", attrs_of(bf))


def test_schemas_catch_broken_metadata():
    """Guard for the schema test itself: the validators must reject a broken document."""
    bad = {"multiscales": [{"axes": [{"name": "x", "type": "space"}], "datasets": []}]}
    assert list(_validator("0.4", "image").iter_errors(bad))
    assert list(_validator("0.5", "image").iter_errors({"ome": {"version": "0.5", **bad}}))


def test_without_pyarrow_the_default_tables_skip_parquet(tmp_path, monkeypatch):
    """A bare install (no parquet extra) still generates the sample; parquet asked by name fails."""
    import sys

    from kit.demo.generate import write_image

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    path = write_image(tmp_path / "img.zarr", version="0.4", axes="cyx", shape=(2, 64, 64),
                       levels=2, tables=True)
    listed = json.loads((path / "tables" / ".zattrs").read_text())["tables"]
    assert "nuclei_features_parquet" not in listed
    assert "nuclei_features" in listed and "nuclei_centroids_csv" in listed
    with pytest.raises(ImportError):
        write_image(tmp_path / "p.zarr", version="0.4", axes="cyx", shape=(2, 64, 64), levels=1,
                    tables=["nuclei_features_parquet"])
