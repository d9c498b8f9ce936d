"""The real Fractal plate (NGFF 0.4, zarr v2) in ../shared/data: every metadata document.

Expected values are read off the documents by hand (see ../shared/data/README.md), and the
level shapes of every `.zarray` are checked against the axes.
"""

from __future__ import annotations

import itertools
import json
import warnings

import pytest

from kit.errors import InvalidMetadata, KitWarning
from kit.ngff import Window, check_level_array, parse_attributes

from ngff_shared import REAL_PLATE, absent_reason

pytestmark = pytest.mark.skipif(not REAL_PLATE.exists(), reason=absent_reason(REAL_PLATE))


def _meta(rel: str):
    path = REAL_PLATE / rel / ".zattrs"
    with warnings.catch_warnings():
        warnings.simplefilter("error", KitWarning)  # the real plate reads without complaint
        return parse_attributes(json.loads(path.read_text()), zarr_format=2, where=str(path))


def _shape(rel: str) -> tuple[int, ...]:
    return tuple(json.loads((REAL_PLATE / rel / ".zarray").read_text())["shape"])


def test_plate() -> None:
    meta = _meta("")
    assert (meta.kind, meta.version) == ("plate", "0.4")  # no version key anywhere: 0.4
    plate = meta.plate
    assert plate.rows == ("B",) and plate.columns == ("03", "05")
    assert [(w.path, w.row, w.column, w.row_index, w.column_index) for w in plate.wells] == [
        ("B/03", "B", "03", 0, 0), ("B/05", "B", "05", 0, 1)]
    (acq,) = plate.acquisitions
    assert (acq.id, acq.name, acq.maximum_field_count) == (
        0, "20200812-CardiomyocyteDifferentiation14-Cycle1", None)
    assert plate.name is None and plate.field_count is None
    assert meta.raw["plate"]["rows"] == [{"name": "B"}]


@pytest.mark.parametrize("well", ["B/03", "B/05"])
def test_well(well: str) -> None:
    meta = _meta(well)
    assert (meta.kind, meta.version) == ("well", "0.4")
    assert [(im.path, im.acquisition) for im in meta.well.images] == [("0", None)]


@pytest.mark.parametrize("well", ["B/03", "B/05"])
def test_image(well: str) -> None:
    meta = _meta(f"{well}/0")
    assert (meta.kind, meta.version) == ("image", "0.4")
    (ms,) = meta.multiscales
    assert ms.axis_names == ("c", "z", "y", "x")
    assert [a.unit for a in ms.axes] == [None, "micrometer", "micrometer", "micrometer"]
    assert [d.path for d in ms.datasets] == ["0", "1", "2", "3", "4"]
    for k, ds in enumerate(ms.datasets):
        pixel = 0.1625 * 2 ** k
        assert ds.scale == pytest.approx((1.0, 1.0, pixel, pixel))
        assert ds.translation == (0.0, 0.0, 0.0, 0.0)
    channels = meta.omero.channels
    assert [c.label for c in channels] == ["DAPI", "nanog", "Lamin B1"]
    assert [c.color for c in channels] == ["00FFFF", "FF00FF", "FFFF00"]
    assert channels[1].window == Window(110.0, 250.0, 0.0, 65535.0)
    assert all(c.active for c in channels)


@pytest.mark.parametrize("well", ["B/03", "B/05"])
def test_labels_group_and_label(well: str) -> None:
    labels = _meta(f"{well}/0/labels")
    assert (labels.kind, labels.labels) == ("labels", ("nuclei",))
    label = _meta(f"{well}/0/labels/nuclei")
    assert (label.kind, label.version) == ("label", "0.4")
    assert label.image_label.source_image == "../../"
    assert label.image_label.colors == {} and label.image_label.properties == {}
    assert label.multiscales[0].name == "nuclei"
    # README: the label pyramid starts at the image's level-2 resolution (0.65 um).
    image = _meta(f"{well}/0").multiscales[0]
    assert label.multiscales[0].datasets[0].scale[1:] == pytest.approx(
        image.datasets[2].scale[2:])


@pytest.mark.parametrize("group", ["B/03/0", "B/05/0", "B/03/0/labels/nuclei"])
def test_level_arrays_match_axes(group: str) -> None:
    meta = _meta(group)
    shapes = [_shape(f"{group}/{d.path}") for d in meta.multiscales[0].datasets]
    for k, shape in enumerate(shapes):
        assert check_level_array(meta, k, shape, None, where=f"{group}/{k}") == []
    # Highest resolution first: each level no larger than the one before.
    assert all(all(b <= a for a, b in zip(s, t)) for s, t in itertools.pairwise(shapes))
    with pytest.raises(InvalidMetadata, match=r"has 2 dimensions but the multiscale has"):
        check_level_array(meta, 0, shapes[0][-2:], None, where=group)
