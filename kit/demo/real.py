"""A small real plate for teaching: one well of a public Fractal plate, shipped with the kit.

    from kit.demo.real import subset_path
    plate_path = subset_path()            # .../kit/demo/data/fractal_B03.zarr

The subset is cut from the Fractal example plate
``20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr`` (see ``data/README.md`` for its
provenance and licence) by ``write_subset`` below, so it can be rebuilt from the original:

    python -m kit.demo.real ORIGINAL.zarr kit/demo/data/fractal_B03.zarr

What it keeps: well B/03 (the plate grid keeps both columns; B/05 is left out), image levels 2-4
(0.65, 1.3 and 2.6 µm; levels 0-1 are 70% of the bytes), the nuclei labels at every level, the
FOV ROI table and the measurements feature table. Pixel values, chunk grids and metadata are the
original's; only the chunk compressor changes (blosc zstd instead of lz4: the same values in 25%
fewer bytes), which keeps the folder under 3 MB.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np

__all__ = ["IMAGE_LEVELS", "TABLES", "WELL", "subset_path", "write_subset"]

DATA = Path(__file__).resolve().parent / "data"
NAME = "fractal_B03.zarr"
WELL = "B/03"
IMAGE_LEVELS = ("2", "3", "4")
TABLES = ("FOV_ROI_table", "measurements")
COMPRESSOR = {"id": "blosc", "cname": "zstd", "clevel": 9, "shuffle": 1, "blocksize": 0}


def subset_path() -> Path:
    """The shipped subset (a plate folder); raises FileNotFoundError if the data is missing."""
    path = DATA / NAME
    if not (path / ".zattrs").is_file():
        raise FileNotFoundError(f"the real-data subset is not installed at {path}")
    return path


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=4, sort_keys=True) + "\n", encoding="utf-8")


def _copy_group(src: Path, dst: Path) -> None:
    """A group's own metadata documents (not its children)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in (".zgroup", ".zattrs"):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def _copy_array(src: Path, dst: Path) -> None:
    """Every chunk of a zarr v2 array, decoded with its compressor and re-encoded with ours."""
    meta = _read(src / ".zarray")
    old = numcodecs.get_codec(meta["compressor"]) if meta.get("compressor") else None
    new = numcodecs.get_codec(dict(COMPRESSOR))
    dtype = None if meta.get("filters") else np.dtype(meta["dtype"])  # blosc shuffles by item
    for chunk in sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")):
        raw = chunk.read_bytes()
        data = old.decode(raw) if old is not None else raw
        out = dst / chunk.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        buf = bytes(data) if dtype is None else np.frombuffer(bytes(data), dtype=dtype)
        out.write_bytes(new.encode(buf))
    meta["compressor"] = dict(COMPRESSOR)
    _write(dst / ".zarray", meta)
    if (src / ".zattrs").is_file():
        shutil.copyfile(src / ".zattrs", dst / ".zattrs")


def _copy_tree(src: Path, dst: Path) -> None:
    """A zarr v2 hierarchy: groups copied, arrays re-encoded."""
    if (src / ".zarray").is_file():
        _copy_array(src, dst)
        return
    _copy_group(src, dst)
    for child in sorted(p for p in src.iterdir() if p.is_dir()):
        _copy_tree(child, dst / child.name)


def write_subset(original: str | Path, dest: str | Path) -> Path:
    """Cut the teaching subset out of the original plate into ``dest`` (replaced if present)."""
    src, dst = Path(original), Path(dest)
    if not (src / WELL / "0" / ".zattrs").is_file():
        raise FileNotFoundError(f"{src} does not look like the Fractal plate (no {WELL}/0)")
    if dst.exists():
        shutil.rmtree(dst)
    _copy_group(src, dst)
    plate = _read(src / ".zattrs")
    plate["plate"]["wells"] = [w for w in plate["plate"]["wells"] if w["path"] == WELL]
    _write(dst / ".zattrs", plate)

    row = WELL.split("/")[0]
    _copy_group(src / row, dst / row)
    _copy_group(src / WELL, dst / WELL)
    image_src, image_dst = src / WELL / "0", dst / WELL / "0"
    _copy_group(image_src, image_dst)
    image = _read(image_src / ".zattrs")
    for ms in image["multiscales"]:
        ms["datasets"] = [d for d in ms["datasets"] if d["path"] in IMAGE_LEVELS]
    _write(image_dst / ".zattrs", image)
    for level in IMAGE_LEVELS:
        _copy_array(image_src / level, image_dst / level)

    _copy_tree(image_src / "labels", image_dst / "labels")
    _copy_group(image_src / "tables", image_dst / "tables")
    _write(image_dst / "tables" / ".zattrs", {"tables": list(TABLES)})
    for table in TABLES:
        _copy_tree(image_src / "tables" / table, image_dst / "tables" / table)
    return dst


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m kit.demo.real ORIGINAL.zarr DEST.zarr")
    out = write_subset(sys.argv[1], sys.argv[2])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 1e6:.2f} MB)")
