"""Collections of images: HCS plates, bioformats2raw layouts and the product's sample dataset."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from kit.demo._zarrio import check_version, child_group, open_new_group
from kit.demo.images import write_image
from kit.demo.tables import write_tables
from kit.ngff import build
from kit.ngff.build import ome_attributes

PLATE_IMAGE_DEFAULTS: dict[str, Any] = {"axes": "czyx", "shape": (2, 1, 64, 64), "levels": 2}
SAMPLE_CHANNELS = [{"label": "DAPI", "color": "0000FF"}, {"label": "GFP", "color": "00FF00"},
                   {"label": "mCherry", "color": "FF0000"}]


def field_seed(seed: int, row: int, column: int, field: int) -> int:
    """A distinct, reproducible seed per field of view, so every image looks different."""
    return seed * 1_000_003 + row * 10_007 + column * 101 + field


def _acquisition_list(acquisitions, fields: int) -> list[dict[str, Any]] | None:
    if acquisitions is None:
        return None
    if isinstance(acquisitions, int):
        return [{"id": i, "name": f"cycle_{i + 1}", "maximumfieldcount": fields}
                for i in range(acquisitions)]
    return [dict(a) for a in acquisitions]


def plate_metadata(version: str, name: str, rows: Sequence[str], columns: Sequence[str],
                   wells: Sequence[tuple[int, int]], field_count: int,
                   acquisitions: list[dict] | None) -> dict[str, Any]:
    """The ``plate`` block: every row and column listed, wells with their indices."""
    return build.plate(version, name=name, rows=rows, columns=columns, wells=wells,
                       field_count=field_count, acquisitions=acquisitions)


def write_plate(
    path: str | Path,
    *,
    version: str = "0.4",
    rows: Iterable[str] = "BC",
    columns: Iterable[str] = ("03", "05"),
    fields: int = 1,
    missing_wells: Iterable[str] = (),
    acquisitions: int | Sequence[Mapping[str, Any]] | None = None,
    image_kwargs: Mapping[str, Any] | None = None,
    plate_tables: bool = False,
    seed: int = 0,
) -> Path:
    """Write an HCS plate (plate -> rows -> wells -> fields); returns the plate path.

    Every row and column is listed in the plate metadata; wells in ``missing_wells`` ("B/03")
    are left out of ``wells`` and not written. With acquisitions, each well holds ``fields``
    images per acquisition. ``image_kwargs`` go to ``write_image`` (default: 2x1x64x64, 2 levels;
    1x2x1x64x64 tczyx for 0.1/0.2).
    """
    check_version(version)
    path = Path(path)
    rows, columns = [str(r) for r in rows], [str(c) for c in columns]
    missing = set(missing_wells)
    acqs = _acquisition_list(acquisitions, fields)
    wells = [(r, c) for r in range(len(rows)) for c in range(len(columns))
             if f"{rows[r]}/{columns[c]}" not in missing]
    if not wells:
        raise ValueError("a plate needs at least one well")
    per_well = fields * (len(acqs) if acqs else 1)
    plate = open_new_group(path, version, ome_attributes(version, {"plate": plate_metadata(
        version, path.stem, rows, columns, wells, per_well, acqs)}))
    kwargs = {**PLATE_IMAGE_DEFAULTS, **(image_kwargs or {})}
    if version in ("0.1", "0.2") and "axes" not in (image_kwargs or {}):  # 5D only
        kwargs.update(axes="tczyx", shape=(1, *kwargs["shape"]))
    row_groups = {r: child_group(plate, rows[r]) for r in sorted({r for r, _ in wells})}
    jobs = []
    for r, c in wells:
        images = [(str(i), acqs[i // fields]["id"] if acqs else None) for i in range(per_well)]
        well = build.well(version, images)
        child_group(row_groups[r], columns[c], ome_attributes(version, {"well": well}))
        jobs += [(path / rows[r] / columns[c] / str(i), field_seed(seed, r, c, i))
                 for i in range(per_well)]
    _write_images(jobs, version=version, **kwargs)
    if plate_tables:
        write_tables(path, version=version)
    return path


def _write_images(jobs: list[tuple[Path, int]], **kwargs) -> None:
    """Fields are independent (own seed, own store): write them on a few threads, the pixels
    being synthesised while other fields are compressed. Order does not change the bytes."""
    workers = min(4, os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        for p, s in jobs:
            write_image(p, seed=s, **kwargs)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda job: write_image(job[0], seed=job[1], **kwargs), jobs))


def ome_xml(names: Sequence[str], shapes: Sequence[Mapping[str, int]], dtype: str) -> str:
    """A small OME-XML (MetadataOnly) describing each series, in series order."""
    images = []
    for i, (name, dims) in enumerate(zip(names, shapes)):
        images.append(
            f'  <Image ID="Image:{i}" Name="{escape(name)}">\n'
            f'    <Pixels ID="Pixels:{i}" DimensionOrder="XYZCT" Type="{dtype}" '
            f'SizeX="{dims.get("x", 1)}" SizeY="{dims.get("y", 1)}" SizeZ="{dims.get("z", 1)}" '
            f'SizeC="{dims.get("c", 1)}" SizeT="{dims.get("t", 1)}" '
            f'PhysicalSizeX="0.325" PhysicalSizeXUnit="µm" '
            f'PhysicalSizeY="0.325" PhysicalSizeYUnit="µm">\n'
            f"      <MetadataOnly/>\n    </Pixels>\n  </Image>"
        )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
            'Creator="kit.demo">\n' + "\n".join(images) + "\n</OME>\n")


def write_bf2raw(
    path: str | Path,
    *,
    version: str = "0.4",
    series: int = 2,
    image_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write a bioformats2raw layout: series images "0", "1"... and an ``OME`` group."""
    check_version(version)
    path = Path(path)
    root = open_new_group(path, version, ome_attributes(version, {"bioformats2raw.layout": 3}))
    kwargs = {**PLATE_IMAGE_DEFAULTS, "labels": (), **(image_kwargs or {})}
    names = [str(i) for i in range(series)]
    child_group(root, "OME", ome_attributes(version, {"series": names}))
    for i, name in enumerate(names):
        write_image(path / name, version=version, seed=seed + i, **kwargs)
    dims = dict(zip(kwargs["axes"], kwargs["shape"]))
    xml = ome_xml([f"series_{n}" for n in names], [dims] * series,
                  str(kwargs.get("dtype", "uint16")))
    (path / "OME" / "METADATA.ome.xml").write_text(xml, encoding="utf-8")
    return path


def sample_dataset(path: str | Path, *, version: str = "0.4") -> Path:
    """The product's demo: a 2x3 plate (C/04 empty), 2 fields, 3 channels, z=3, 512x512, tables."""
    return write_plate(
        path,
        version=version,
        rows="BC",
        columns=("03", "04", "05"),
        fields=2,
        missing_wells=("C/04",),
        image_kwargs={
            "axes": "czyx", "shape": (3, 3, 512, 512), "chunks": (1, 1, 256, 256), "levels": 3,
            "channels": SAMPLE_CHANNELS, "scale": {"z": 1.0, "y": 0.325, "x": 0.325},
            "labels": ("nuclei",), "tables": True,
        },
        plate_tables=True,
        seed=2024,
    )


__all__ = ["field_seed", "plate_metadata", "sample_dataset", "write_bf2raw", "write_plate"]
