"""Fractal/ngio tables of every backend, written with zarr directly (no anndata dependency).

Each table is computed from what is already on disk (the image's level 0, its ``nuclei`` label,
its metadata), so ROI boxes, areas and intensities agree with the pixels exactly, and
``expected_tables`` can recompute the same frames as an oracle for table readers.

Frame conventions (what a reader should return): the index is the table's ``index_key``, cast
to its ``index_type`` (int -> int64, str -> str); for AnnData tables the float columns (X, in
``var/_index`` order) come first, then the ``obs`` columns in ``column-order``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import zarr
from zarr.storage import LocalStore

from kit.demo._zarrio import check_version, run, write_nodes, zarr_format

ANNDATA_ENCODING = {"encoding-type": "anndata", "encoding-version": "0.1.0"}
DICT_ENCODING = {"encoding-type": "dict", "encoding-version": "0.1.0"}
ARRAY_ENCODING = {"encoding-type": "array", "encoding-version": "0.2.0"}
STRING_ENCODING = {"encoding-type": "string-array", "encoding-version": "0.2.0"}
EMPTY_ELEMENTS = ("uns", "obsm", "obsp", "varm", "varp", "layers")
NUCLEI_REGION = {"path": "../labels/nuclei"}


# --------------------------------------------------------------------------- the data on disk


@dataclass
class ImageData:
    """Level 0 of an image and its nuclei label, as the table builders need them."""

    axes: str
    scale: dict[str, float]
    translation: dict[str, float]
    image: np.ndarray  # (c, z, y, x) at t=0
    nuclei: np.ndarray | None  # (z, y, x) at t=0
    channels: list[tuple[str, str]]
    label_class: dict[int, str]
    cache: dict[str, Any] = field(default_factory=dict)  # per-label statistics, computed once


def _ome(attrs: dict[str, Any]) -> dict[str, Any]:
    return dict(attrs["ome"]) if "ome" in attrs else dict(attrs)


def _version_of(path: Path) -> str:
    return "0.5" if (path / "zarr.json").exists() else "0.4"


def _canonical(a: np.ndarray, axes: str, want: str) -> np.ndarray:
    """Select t=0 and add missing axes so the array has exactly ``want`` axes."""
    if "t" in axes:
        a = np.take(a, 0, axis=axes.index("t"))
        axes = axes.replace("t", "")
    for i, ax in enumerate(want):
        if ax not in axes:
            a = np.expand_dims(a, i)
            axes = axes[:i] + ax + axes[i:]
    return a


def _level0(group: zarr.Group) -> tuple[str, dict, dict, np.ndarray]:
    ms = _ome(dict(group.attrs))["multiscales"][0]
    axes = "".join(a["name"] for a in ms.get("axes") or ms["coordinateSystems"][0]["axes"])
    ds = ms["datasets"][0]
    scale, trans = {}, {}
    transforms = ds["coordinateTransformations"]
    if transforms[0]["type"] == "sequence":  # 0.6: one sequence [scale, translation]
        transforms = transforms[0]["transformations"]
    for tr in transforms:
        if tr["type"] == "scale":
            scale = dict(zip(axes, tr["scale"]))
        elif tr["type"] == "translation":
            trans = dict(zip(axes, tr["translation"]))
    level = group[ds["path"]]
    assert isinstance(level, zarr.Array), f"{ds['path']} is not an array"
    return axes, scale, trans, np.asarray(level[...])


def load_image(path: str | Path) -> ImageData:
    """Read what the table builders need from an image group written by ``write_image``."""
    path = Path(path)
    group = zarr.open_group(LocalStore(path, read_only=True), mode="r")
    axes, scale, trans, image = _level0(group)
    omero = _ome(dict(group.attrs)).get("omero", {})
    n_ch = image.shape[axes.index("c")] if "c" in axes else 1
    chans = [(c.get("label", f"ch{i}"), c.get("color", "FFFFFF"))
             for i, c in enumerate(omero.get("channels", []))] \
        or [(f"ch{i}", "FFFFFF") for i in range(n_ch)]
    nuclei, classes = None, {}
    if (path / "labels" / "nuclei").exists():
        lgroup = group["labels/nuclei"]
        assert isinstance(lgroup, zarr.Group), "labels/nuclei is not a group"
        laxes, _, _, lab = _level0(lgroup)
        nuclei = _canonical(lab, laxes, "zyx")
        props = _ome(dict(lgroup.attrs)).get("image-label", {}).get("properties", [])
        classes = {int(p["label-value"]): str(p.get("class", "unknown")) for p in props}
    return ImageData(axes, scale, trans, _canonical(image, axes, "czyx"), nuclei, chans, classes)


# --------------------------------------------------------------------------- table builders


def _fov_edges(n: int) -> list[int]:
    return [0, n // 2, n] if n >= 2 else [0, n]


def _z_extent(d: ImageData, z0: np.ndarray, z1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ngio's convention: without a z axis, z=0 and len_z=1."""
    if "z" not in d.axes:
        return np.zeros(len(z0)), np.ones(len(z0))
    return z0 * d.scale["z"], (z1 - z0 + 1) * d.scale["z"]


def fov_roi_table(d: ImageData) -> pd.DataFrame:
    """A 2x2 grid of fields of view covering the image (FOV_1..FOV_4, row-major)."""
    nz, ny, nx = d.image.shape[1:]
    rows = []
    ye, xe = _fov_edges(ny), _fov_edges(nx)
    for i in range(len(ye) - 1):
        for j in range(len(xe) - 1):
            rows.append((ye[i], ye[i + 1], xe[j], xe[j + 1]))
    y0, y1, x0, x1 = (np.array(c, dtype=np.float64) for c in zip(*rows))
    z, lz = _z_extent(d, np.zeros(len(rows)), np.full(len(rows), nz - 1.0))
    sy, sx = d.scale["y"], d.scale["x"]
    df = pd.DataFrame({
        "x_micrometer": x0 * sx, "y_micrometer": y0 * sy, "z_micrometer": z,
        "len_x_micrometer": (x1 - x0) * sx, "len_y_micrometer": (y1 - y0) * sy,
        "len_z_micrometer": lz,
        "x_micrometer_original": x0 * sx + d.translation.get("x", 0.0),
        "y_micrometer_original": y0 * sy + d.translation.get("y", 0.0),
    }, index=pd.Index([f"FOV_{k + 1}" for k in range(len(rows))], name="FieldIndex", dtype="str"))
    return df


def _label_stats(d: ImageData) -> pd.DataFrame:
    """Per-label voxel bounds, counts and centroids (pixel units) from the label image."""
    if d.nuclei is None:
        raise ValueError("this table needs a 'nuclei' label (write_image(labels=('nuclei',)))")
    if "stats" in d.cache:
        return d.cache["stats"]
    idx = np.nonzero(d.nuclei)
    vox = pd.DataFrame({"label": d.nuclei[idx].astype(np.int64),
                        "z": idx[0], "y": idx[1], "x": idx[2]})
    g = vox.groupby("label")
    out = pd.concat([g.min().add_suffix("0"), g.max().add_suffix("1"), g.mean().add_prefix("c"),
                     g.size().rename("count")], axis=1)
    d.cache["stats"] = out
    return out


def nuclei_roi_table(d: ImageData) -> pd.DataFrame:
    """One bounding box per nucleus (top-left corner and lengths, micrometres)."""
    s = _label_stats(d)
    z, lz = _z_extent(d, s["z0"].to_numpy(float), s["z1"].to_numpy(float))
    sy, sx = d.scale["y"], d.scale["x"]
    df = pd.DataFrame({
        "x_micrometer": s["x0"] * sx, "y_micrometer": s["y0"] * sy, "z_micrometer": z,
        "len_x_micrometer": (s["x1"] - s["x0"] + 1) * sx,
        "len_y_micrometer": (s["y1"] - s["y0"] + 1) * sy,
        "len_z_micrometer": lz,
    }, index=s.index)
    return df.astype(np.float64)


def _mean_intensities(d: ImageData, labels: np.ndarray) -> dict[str, np.ndarray]:
    key = "means" + labels.tobytes().hex()[:64]
    if key in d.cache:
        return dict(d.cache[key])
    assert d.nuclei is not None, "mean intensities need the nuclei label"
    flat = d.nuclei.ravel()
    counts = np.bincount(flat)
    out = {}
    for i, (name, _) in enumerate(d.channels):
        sums = np.bincount(flat, weights=d.image[i].ravel().astype(np.float64))
        out[f"mean_intensity_{name}"] = sums[labels] / counts[labels]
    d.cache[key] = out
    return dict(out)


def _fov_of(d: ImageData, cy: np.ndarray, cx: np.ndarray) -> list[str]:
    ny, nx = d.image.shape[2:]
    ye, xe = _fov_edges(ny), _fov_edges(nx)
    iy = np.searchsorted(ye, cy, side="right") - 1
    ix = np.searchsorted(xe, cx, side="right") - 1
    return [f"FOV_{int(a) * (len(xe) - 1) + int(b) + 1}" for a, b in zip(iy, ix)]


def _centroids_um(d: ImageData, s: pd.DataFrame) -> dict[str, np.ndarray]:
    """Centroid of the voxel centres (pixel i spans [i, i+1) * scale)."""
    out = {"centroid_x_micrometer": (s["cx"].to_numpy() + 0.5) * d.scale["x"],
           "centroid_y_micrometer": (s["cy"].to_numpy() + 0.5) * d.scale["y"]}
    if "z" in d.axes:
        out["centroid_z_micrometer"] = (s["cz"].to_numpy() + 0.5) * d.scale["z"]
    return out


def nuclei_features(d: ImageData) -> pd.DataFrame:
    """AnnData feature table: float measurements (X) and every obs encoding anndata uses.

    ``n_neighbors`` is missing for every third label and ``is_mitotic`` for every fourth, so
    the nullable encodings carry a real mask.
    """
    s = _label_stats(d)
    labels = s.index.to_numpy()
    cen = _centroids_um(d, s)
    cy, cx = cen["centroid_y_micrometer"], cen["centroid_x_micrometer"]
    dist = np.hypot(cy[:, None] - cy[None, :], cx[:, None] - cx[None, :])
    neighbors = (dist < 30.0).sum(axis=1) - 1
    area = s["count"].to_numpy()
    classes = [d.label_class.get(int(v), "unknown") for v in labels]
    df = pd.DataFrame({"area": area.astype(np.float64), **_mean_intensities(d, labels)},
                      index=s.index)
    df["cell_class"] = pd.Categorical(classes, categories=sorted(set(classes)))
    df["fov"] = pd.array(_fov_of(d, s["cy"].to_numpy(), s["cx"].to_numpy()), dtype="str")
    df["n_neighbors"] = pd.array(
        [pd.NA if v % 3 == 0 else int(n) for v, n in zip(labels, neighbors)], dtype="Int64")
    df["is_mitotic"] = pd.array([pd.NA if v % 4 == 0 else bool(a < 0.6 * np.median(area))
                                 for v, a in zip(labels, area)], dtype="boolean")
    return df


def nuclei_features_parquet(d: ImageData) -> pd.DataFrame:
    """Parquet feature table: integer area, intensities and a string class column."""
    s = _label_stats(d)
    labels = s.index.to_numpy()
    df = pd.DataFrame({"area": s["count"].astype(np.int64), **_mean_intensities(d, labels)},
                      index=s.index)
    df["cell_class"] = pd.array([d.label_class.get(int(v), "unknown") for v in labels], dtype="str")
    return df


def nuclei_centroids_csv(d: ImageData) -> pd.DataFrame:
    """CSV table (legacy backend name): centroids in micrometres and the FOV of each nucleus."""
    s = _label_stats(d)
    df = pd.DataFrame(_centroids_um(d, s), index=s.index)
    df["fov"] = pd.array(_fov_of(d, s["cy"].to_numpy(), s["cx"].to_numpy()), dtype="str")
    return df


def channel_info_json(d: ImageData) -> pd.DataFrame:
    """JSON condition table: per channel colour and whole-image statistics at t=0."""
    return pd.DataFrame({
        "color": pd.array([c for _, c in d.channels], dtype="str"),
        "mean": [float(d.image[i].mean(dtype=np.float64)) for i in range(len(d.channels))],
        "max": np.array([int(d.image[i].max()) for i in range(len(d.channels))], dtype=np.int64),
    }, index=pd.Index([n for n, _ in d.channels], name="channel", dtype="str"))


# --------------------------------------------------------------------------- registry


def _ngio(kind: str, backend: str, index_key: str, index_type: str, **extra) -> dict[str, Any]:
    return {"backend": backend, "index_key": index_key, "index_type": index_type,
            "table_version": "1", "type": kind, **extra}


def _feature_extra(df: pd.DataFrame, metadata: Sequence[str]) -> dict[str, Any]:
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    meas = [c for c in df.columns if c not in cats and c not in metadata and c != "fov"]
    return {"region": NUCLEI_REGION, "instance_key": "label", "categorical_columns": cats,
            "measurement_columns": meas,
            "metadata_columns": [c for c in df.columns if c in metadata]}


@dataclass(frozen=True)
class TableSpec:
    """How one named table is computed and how its group is labelled on disk."""

    name: str
    build: Callable[[ImageData], pd.DataFrame]
    backend: str  # anndata, parquet, csv, json (the storage, whatever the attribute says)
    attrs: Callable[[pd.DataFrame], dict[str, Any]]
    needs_label: bool


IMAGE_TABLES: dict[str, TableSpec] = {t.name: t for t in (
    TableSpec("FOV_ROI_table", fov_roi_table, "anndata",
              lambda df: _ngio("roi_table", "anndata_v1", "FieldIndex", "str"), False),
    TableSpec("nuclei_ROI_table", nuclei_roi_table, "anndata",
              lambda df: {"fractal_table_version": "1", "type": "masking_roi_table",
                          "region": NUCLEI_REGION, "instance_key": "label"}, True),
    TableSpec("nuclei_features", nuclei_features, "anndata",
              lambda df: _ngio("feature_table", "anndata_v1", "label", "int",
                               **_feature_extra(df, ("fov", "n_neighbors", "is_mitotic"))), True),
    TableSpec("nuclei_features_parquet", nuclei_features_parquet, "parquet",
              lambda df: _ngio("feature_table", "parquet", "label", "int",
                               **_feature_extra(df, ("cell_class",))), True),
    TableSpec("nuclei_centroids_csv", nuclei_centroids_csv, "csv",
              lambda df: _ngio("feature_table", "experimental_csv_v1", "label", "int",
                               region=NUCLEI_REGION, instance_key="label"), True),
    TableSpec("channel_info_json", channel_info_json, "json",
              lambda df: _ngio("condition_table", "json", "channel", "str"), False),
)}
TABLE_NAMES = tuple(IMAGE_TABLES)
PLATE_TABLES = ("condition",)


# --------------------------------------------------------------------------- plate table


def plate_condition_table(path: str | Path) -> pd.DataFrame:
    """Per-well treatment (categorical), concentration (float) and replicate (int)."""
    path = Path(path)
    group = zarr.open_group(LocalStore(path, read_only=True), mode="r")
    plate = _ome(dict(group.attrs))["plate"]
    treatments = ("DMSO", "drug_A", "drug_B")
    wells = plate["wells"]
    col = [w["columnIndex"] for w in wells]
    row = [w["rowIndex"] for w in wells]
    treat = [treatments[c % len(treatments)] for c in col]
    df = pd.DataFrame({
        "concentration_uM": [0.0 if t == "DMSO" else 10.0 ** (r % 3) for t, r in zip(treat, row)],
        "row": pd.array([w["path"].split("/")[0] for w in wells], dtype="str"),
        "column": pd.array([w["path"].split("/")[1] for w in wells], dtype="str"),
        "treatment": pd.Categorical(treat, categories=sorted(set(treat))),
        "replicate": np.array([r + 1 for r in row], dtype=np.int64),
    }, index=pd.Index([w["path"] for w in wells], name="well", dtype="str"))
    return df


PLATE_SPEC = TableSpec("condition", lambda d: d, "anndata",
                       lambda df: _ngio("condition_table", "anndata_v1", "well", "str"), False)


# --------------------------------------------------------------------------- writers per backend


def _anndata_layout(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """ngio's split: float columns go to X, everything else to obs."""
    x = [c for c in df.columns if pd.api.types.is_float_dtype(df[c].dtype)]
    return x, [c for c in df.columns if c not in x]


def _string_values(values) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


Groups = list[tuple[str, dict[str, Any]]]
Arrays = list[tuple[str, np.ndarray, dict[str, Any]]]


def _obs_column_nodes(path: str, col: pd.Series) -> tuple[Groups, Arrays]:
    """One obs column in the encoding anndata picks for its dtype."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        attrs = {"encoding-type": "categorical", "encoding-version": "0.2.0",
                 "ordered": bool(dtype.ordered)}
        return [(path, attrs)], [
            (f"{path}/codes", col.cat.codes.to_numpy().astype(np.int8), ARRAY_ENCODING),
            (f"{path}/categories", _string_values(dtype.categories), STRING_ENCODING),
        ]
    if isinstance(dtype, (pd.Int64Dtype, pd.BooleanDtype)):
        integer = isinstance(dtype, pd.Int64Dtype)
        kind = "nullable-integer" if integer else "nullable-boolean"
        values = col.to_numpy(dtype=np.int64 if integer else np.bool_,
                              na_value=0 if integer else False)
        return [(path, {"encoding-type": kind, "encoding-version": "0.1.0"})], [
            (f"{path}/values", values, ARRAY_ENCODING),
            (f"{path}/mask", col.isna().to_numpy(), ARRAY_ENCODING),
        ]
    if pd.api.types.is_integer_dtype(dtype):
        return [], [(path, col.to_numpy(np.int64), ARRAY_ENCODING)]
    return [], [(path, _string_values(col), STRING_ENCODING)]


def anndata_nodes(df: pd.DataFrame) -> tuple[Groups, Arrays]:
    """The AnnData-on-zarr layout (encoding 0.1.0) of a frame, as anndata writes it."""
    x_cols, obs_cols = _anndata_layout(df)
    index_key = str(df.index.name or "_index")
    frame = {"encoding-type": "dataframe", "encoding-version": "0.2.0"}
    groups: Groups = [("obs", {"_index": index_key, "column-order": obs_cols, **frame}),
                      ("var", {"_index": "_index", "column-order": [], **frame})]
    groups += [(name, DICT_ENCODING) for name in EMPTY_ELEMENTS]
    x = df[x_cols].to_numpy(dtype=np.float64).reshape(len(df), len(x_cols))
    arrays: Arrays = [("X", x, ARRAY_ENCODING),
                      (f"obs/{index_key}", _string_values(df.index), STRING_ENCODING),
                      ("var/_index", _string_values(x_cols), STRING_ENCODING)]
    for c in obs_cols:
        g, a = _obs_column_nodes(f"obs/{c}", df[c])
        groups += g
        arrays += a
    return groups, arrays


def write_anndata(group: zarr.Group, df: pd.DataFrame, *, version: str) -> None:
    """Write the AnnData layout into an existing (empty) table group, without anndata."""
    groups, arrays = anndata_nodes(df)
    run(write_nodes(group, groups, arrays, version))


def _jsonable(values) -> list:
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values]


def _write_backend(tables: zarr.Group, name: str, df: pd.DataFrame, backend: str,
                   attrs: dict[str, Any], version: str, root: Path) -> None:
    if backend == "anndata":
        group = tables.create_group(name, overwrite=True, attributes={**ANNDATA_ENCODING, **attrs})
        write_anndata(group, df, version=version)
        return
    group = tables.create_group(name, overwrite=True, attributes=attrs)
    flat = df.reset_index()
    if backend == "parquet":
        flat.to_parquet(root / name / "table.parquet", index=False)
    elif backend == "csv":
        flat.to_csv(root / name / "table.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    elif backend == "json":
        group.create_group("table", attributes={c: _jsonable(flat[c]) for c in flat.columns})
    else:  # pragma: no cover - registry is closed
        raise ValueError(backend)


# --------------------------------------------------------------------------- public API


def _is_plate(path: Path) -> bool:
    group = zarr.open_group(LocalStore(path, read_only=True), mode="r")
    return "plate" in _ome(dict(group.attrs))


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _select(path: Path, tables: Sequence[str] | None) -> tuple[list[TableSpec], ImageData | None]:
    if _is_plate(path):
        names = list(PLATE_TABLES if tables is None else tables)
        unknown = set(names) - set(PLATE_TABLES)
        if unknown:
            raise ValueError(f"unknown plate tables {sorted(unknown)}; known: {PLATE_TABLES}")
        return [PLATE_SPEC for _ in names], None
    data = load_image(path)
    if tables is None:  # all that apply: label tables need nuclei, parquet needs the extra
        parquet = _has_pyarrow()
        return [t for t in IMAGE_TABLES.values()
                if (data.nuclei is not None or not t.needs_label)
                and (parquet or t.backend != "parquet")], data
    unknown = set(tables) - set(IMAGE_TABLES)
    if unknown:
        raise ValueError(f"unknown tables {sorted(unknown)}; known: {TABLE_NAMES}")
    return [IMAGE_TABLES[n] for n in tables], data


def expected_tables(
    group_path: str | Path, *, tables: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """The frames ``write_tables`` writes for this image or plate group: the readers' oracle."""
    path = Path(group_path)
    specs, data = _select(path, tables)
    if data is None:
        return {s.name: plate_condition_table(path) for s in specs}
    frames = {}
    for spec in specs:
        df = spec.build(data)
        x_cols, obs_cols = (_anndata_layout(df) if spec.backend == "anndata"
                            else (list(df.columns), []))
        frames[spec.name] = df[x_cols + obs_cols]
    return frames


def write_tables(group_path: str | Path, *, version: str | None = None,
                 tables: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Write a ``tables`` group (appending to an existing one) under an image or a plate.

    ``tables`` selects names (default: all that apply; label tables need a ``nuclei`` label).
    Returns the frames written, as ``expected_tables`` computes them.
    """
    path = Path(group_path)
    version = check_version(version or _version_of(path))
    frames = expected_tables(path, tables=tables)
    specs = {s.name: s for s in (IMAGE_TABLES.values())} | {PLATE_SPEC.name: PLATE_SPEC}
    root = path / "tables"
    zf = zarr_format(version)
    listed: list[str] = []
    if root.exists():
        existing = zarr.open_group(LocalStore(root), mode="r+", zarr_format=zf)
        previous = existing.attrs.get("tables", [])
        listed = [str(n) for n in previous] if isinstance(previous, list) else []
    group = zarr.open_group(LocalStore(root), mode="a", zarr_format=zf)
    for name, df in frames.items():
        spec = specs[name]
        _write_backend(group, name, df, spec.backend, spec.attrs(df), version, root)
        if name not in listed:
            listed.append(name)
    group.attrs.put({"tables": listed})
    return frames


def table_attrs(path: str | Path) -> dict[str, Any]:
    """Attributes of a table group as stored (v2 .zattrs or v3 zarr.json), for tests and docs."""
    path = Path(path)
    if (path / "zarr.json").exists():
        return json.loads((path / "zarr.json").read_text()).get("attributes", {})
    return json.loads((path / ".zattrs").read_text()) if (path / ".zattrs").exists() else {}
