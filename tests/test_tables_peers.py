"""The kit's tables against the field's own readers, each in its own virtualenv (slow).

anndata pins pandas<3 and ngio pulls anndata, so neither may live in the kit's venv. Each
peer gets a venv cached under ``$NGFF_KIT_PEERS`` (default ~/.cache/ngff-kit-test-peers),
built once with ``python -m venv`` + ``pip install``; a small script runs there and writes
what the peer reads as parquet, which the kit's side compares frame by frame.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit

pytestmark = pytest.mark.slow

PEERS = Path(os.environ.get("NGFF_KIT_PEERS", Path.home() / ".cache" / "ngff-kit-test-peers"))


def peer_python(name: str, packages: list[str], probe: str) -> Path:
    """The python of a cached venv holding ``packages`` (created on first use)."""
    venv = PEERS / name
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", probe],
                                          capture_output=True).returncode == 0:
        return python
    PEERS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    pip = subprocess.run([python, "-m", "pip", "install", "-q", *packages],
                         capture_output=True, text=True, timeout=1200)
    if pip.returncode != 0:
        pytest.skip(f"cannot install {packages} into {venv}: {pip.stderr[-500:]}")
    return python


def run_peer(python: Path, script: str, *args: str) -> None:
    done = subprocess.run([python, "-W", "ignore", "-c", textwrap.dedent(script), *args],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="session")
def anndata_python() -> Path:
    return peer_python("anndata", ["anndata", "pyarrow"], "import anndata, pyarrow")


@pytest.fixture(scope="session")
def ngio_python() -> Path:
    return peer_python("ngio", ["ngio"], "import ngio")


# -- every table of the real plate equals what anndata reads ---------------------------------

ANNDATA_SCRIPT = """
    import json, sys
    import anndata as ad
    out, paths = sys.argv[1], json.loads(sys.argv[2])
    for i, path in enumerate(paths):
        adata = ad.read_zarr(path)
        df = adata.to_df()
        df[adata.obs.columns.to_list()] = adata.obs
        df.to_parquet(f"{out}/{i}.parquet")
"""


def _real_tables(plate: Path) -> list[tuple[str, str]]:
    """(image path in the plate, table name) for every tables group found on disk."""
    found = []
    for attrs in sorted(plate.rglob("tables/.zattrs")):
        for name in json.loads(attrs.read_text()).get("tables", []):
            found.append((str(attrs.parent.parent.relative_to(plate)), name))
    return found


def test_every_real_table_equals_what_anndata_reads(real_plate, anndata_python, tmp_path):
    tables = _real_tables(real_plate)
    assert len(tables) == 8  # two wells, four tables each
    paths = [str(real_plate / image / "tables" / name) for image, name in tables]
    run_peer(anndata_python, ANNDATA_SCRIPT, str(tmp_path), json.dumps(paths))
    plate = kit.open(str(real_plate))
    for i, (image, name) in enumerate(tables):
        ours = plate[image].tables[name].to_pandas()
        theirs = pd.read_parquet(tmp_path / f"{i}.parquet")
        # anndata always makes obs names strings; the kit keeps the stored/declared index
        # type (the Fractal feature table's int64 index stays int64), so compare it as text.
        assert (ours.index.dtype.kind == "i") == (name == "measurements")
        ours.index = ours.index.astype(str)
        pd.testing.assert_frame_equal(ours, theirs, obj=f"{image}/tables/{name}")


# -- tables written by ngio, every backend, v0.4 and v0.5 ------------------------------------

NGIO_SCRIPT = """
    import json, sys
    from pathlib import Path
    import numpy as np, pandas as pd
    import ngio
    from ngio import Roi, create_ome_zarr_from_array
    from ngio.tables import ConditionTable, FeatureTable, GenericTable, RoiTable

    out = Path(sys.argv[1])
    labels = np.zeros((64, 64), dtype=np.uint32)
    labels[4:20, 6:30] = 1
    labels[30:50, 10:22] = 2
    labels[40:60, 40:62] = 3
    feat = pd.DataFrame({"label": [1, 2, 3], "area": [384.0, 240.5, 440.0],
                         "n_pixels": np.array([384, 240, 440], dtype=np.int64),
                         "cls": ["round", "long", "round"]}).set_index("label")
    cond = pd.DataFrame({"well": ["B03", "B05"], "drug": ["dmso", "drug_a"],
                         "dose": [0.0, 10.0], "replicate": np.array([1, 2], dtype=np.int64)})
    tables, crops = [], []
    for version in ("0.4", "0.5"):
        path = out / f"ngio_{version}.zarr"
        image = np.random.default_rng(0).integers(0, 1000, (64, 64), dtype=np.uint16)
        c = create_ome_zarr_from_array(str(path), array=image, pixelsize=0.5, levels=2,
                                       ngff_version=version, axes_names=["y", "x"])
        c.derive_label("nuclei").set_array(labels)
        rois = [Roi.from_values({"x": (0.0, 16.0), "y": (0.0, 16.0)}, name="FOV_1"),
                Roi.from_values({"x": (16.0, 16.0), "y": (0.0, 32.0)}, name="FOV_2")]
        for backend in ("anndata", "parquet", "csv", "json"):
            made = {f"roi_{backend}": RoiTable(rois),
                    f"feat_{backend}": FeatureTable(feat, reference_label="nuclei"),
                    f"cond_{backend}": ConditionTable(cond),
                    f"generic_{backend}": GenericTable(cond)}
            if backend == "anndata":
                made["masking_anndata"] = c.build_masking_roi_table("nuclei")
            for name, table in made.items():
                c.add_table(name, table, backend=backend)
        c = ngio.open_ome_zarr_container(str(path))
        for name in c.list_tables():
            ref = out / f"{version}_{name}.parquet"
            c.get_table(name).dataframe.to_parquet(ref)
            tables.append({"image": str(path), "name": name, "ref": str(ref)})
        for level, level_path in enumerate(c.level_paths[:2]):
            for roi in c.get_roi_table("roi_anndata").rois():
                npy = out / f"{version}_{level}_{roi.name}.npy"
                np.save(npy, np.asarray(c.get_image(path=level_path).get_roi_as_numpy(roi)))
                crops.append({"image": str(path), "level": level, "roi": roi.name, "npy": str(npy)})
    (out / "manifest.json").write_text(json.dumps({"tables": tables, "crops": crops}))
"""


@pytest.fixture(scope="module")
def ngio_written(ngio_python, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("ngio")
    run_peer(ngio_python, NGIO_SCRIPT, str(out))
    return json.loads((out / "manifest.json").read_text())


def test_tables_written_by_ngio_read_back_equal(ngio_written):
    entries = ngio_written["tables"]
    # 2 versions x (4 kinds x 4 backends + the masking ROI table)
    assert len(entries) == 34
    seen_backends = set()
    for entry in entries:
        table = kit.open(entry["image"]).tables[entry["name"]]
        seen_backends.add(table.backend)
        pd.testing.assert_frame_equal(table.to_pandas(), pd.read_parquet(entry["ref"]),
                                      obj=f"{entry['image']} {entry['name']}")
    assert seen_backends == {"anndata", "parquet", "csv", "json"}


def test_ngio_kinds_and_regions(ngio_written):
    for version in ("0.4", "0.5"):
        image = kit.open(next(e["image"] for e in ngio_written["tables"] if version in e["image"]))
        kinds = {n: t.kind for n, t in image.tables.items()}
        assert kinds["masking_anndata"] == "masking_roi_table"
        assert {kinds[f"{k}_json"] for k in ("roi", "feat", "cond", "generic")} == {
            "roi_table", "feature_table", "condition_table", "generic_table"}
        assert image.tables["feat_parquet"].label is image.labels["nuclei"]


def test_roi_crops_equal_ngios(ngio_written):
    assert len(ngio_written["crops"]) == 8
    for crop in ngio_written["crops"]:
        image = kit.open(crop["image"])
        row = image.tables["roi_anndata"].to_pandas().loc[crop["roi"]]
        np.testing.assert_array_equal(image.read_roi(row, level=crop["level"]).compute(),
                                      np.load(crop["npy"]))
