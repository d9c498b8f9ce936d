"""Pictures that explain themselves (issue 14 point 5): ``annotate=True`` draws a scale bar, a
channel legend and, on plates, well names with gaps between wells and tiles at the field's own
aspect; ``label_style="auto"`` fills objects too small to outline. Measured from the pixels."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import kit
from kit.demo.generate import write_image, write_plate
from kit.render.annotate import BAR_FRACTION, UNKNOWN_UNITS
from kit.render.overlay import FILL_BELOW_AREA, auto_style
from kit.render.overview import (
    BACKGROUND_RGB,
    FIELD_GAP,
    FRAME_RGB,
    MISSING_RGB,
    plate_picture,
)
from kit.render.preview import render
from kit.render.spec import RenderSpec

DARK = [(1e9, 2e9)] * 3  # windows past the data: every channel black, only annotations show
WHITE = np.array([255, 255, 255], np.uint8)


@pytest.fixture(scope="module")
def image_path(tmp_path_factory) -> Path:
    # level 0: 0.325 µm pixels; 512 px wide = 166.4 µm
    return write_image(tmp_path_factory.mktemp("ann") / "img.zarr", axes="czyx",
                       shape=(3, 2, 256, 512), levels=3, labels=("nuclei",))


def longest_white_run(rgb: np.ndarray) -> tuple[int, int, int]:
    """(length, row, first column) of the longest horizontal run of pure white pixels."""
    white = (rgb == WHITE).all(axis=2)
    best = (0, -1, -1)
    for y in range(white.shape[0]):
        row = np.concatenate([[0], white[y].astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(row))
        for x0, x1 in zip(edges[::2], edges[1::2]):
            if x1 - x0 > best[0]:
                best = (int(x1 - x0), y, int(x0))
    return best


@pytest.mark.parametrize("size", [512, 200, 96])
def test_scale_bar_length_is_its_label_over_the_pixel_size(image_path, size):
    image = kit.open(image_path)
    rendered = render(image, RenderSpec(max_size=size, windows=DARK, annotate=True))
    rgb = rendered.rgb
    bar = rendered.annotations.scale_bar
    assert bar is not None and bar.unit == "µm" and bar.label == f"{bar.length:g} µm"
    # the pixel size from the data alone: 512 level-0 pixels of 0.325 µm over the width
    pixel = 512 * 0.325 / rgb.shape[1]
    length, row, x0 = longest_white_run(rgb)
    assert abs(length - bar.length / pixel) <= 1, (length, bar, pixel)
    assert row > rgb.shape[0] * 0.6 and x0 + length > rgb.shape[1] * 0.8  # bottom right
    assert 0.1 * rgb.shape[1] < length <= BAR_FRACTION * rgb.shape[1] + 1
    mantissa = bar.length / 10 ** np.floor(np.log10(bar.length))
    assert round(mantissa, 6) in (1, 2, 5)


def test_no_scale_bar_without_units_but_a_note(tmp_path):
    path = write_image(tmp_path / "img.zarr", axes="cyx", shape=(2, 128, 128), levels=1,
                       labels=())
    attrs = json.loads((path / ".zattrs").read_text())
    for axis in attrs["multiscales"][0]["axes"]:
        axis.pop("unit", None)
    (path / ".zattrs").write_text(json.dumps(attrs))
    rendered = render(kit.open(path), RenderSpec(windows=[(1e9, 2e9)] * 2, annotate=True))
    assert rendered.annotations.scale_bar is None
    assert rendered.annotations.note == UNKNOWN_UNITS
    length, _, _ = longest_white_run(rendered.rgb)
    assert length < 0.1 * rendered.rgb.shape[1]  # no bar: only text strokes


def test_legend_lists_exactly_the_shown_channels_and_labels(image_path):
    image = kit.open(image_path)
    every = render(image, RenderSpec(windows=DARK, annotate=True)).annotations
    assert every.legend_names == ["DAPI", "GFP", "mCherry"]
    spec = RenderSpec(channels=["GFP"], windows=DARK[:1], labels="nuclei", opacity=0.0,
                      annotate=True)
    rendered = render(image, spec)
    assert rendered.annotations.legend_names == ["GFP", "nuclei (labels)"]
    top_left = rendered.rgb[: rendered.rgb.shape[0] // 3, : rendered.rgb.shape[1] // 2]
    colours = {tuple(c) for c in top_left.reshape(-1, 3)}
    assert (0, 255, 0) in colours  # GFP's swatch
    assert (0, 0, 255) not in colours and (255, 0, 0) not in colours  # DAPI's, mCherry's: not


def test_annotate_false_is_the_plain_picture(image_path):
    """Off (the default of kit.preview) is exactly the picture as before; on changes only the
    pixels under the legend's and the scale bar's boxes."""
    image = kit.open(image_path)
    plain = kit.preview(image, max_size=256)
    assert np.array_equal(kit.preview(image, max_size=256, annotate=False), plain)
    assert np.array_equal(kit.preview(image, max_size=256, annotate=None), plain)
    rendered = render(image, RenderSpec(max_size=256, annotate=True))
    changed = (rendered.rgb != plain).any(axis=2)
    assert rendered.rgb.shape == plain.shape and changed.any()
    ys, xs = np.nonzero(changed)
    h, w = plain.shape[:2]
    in_legend = (ys < h // 2) & (xs < w // 2)
    in_bar = (ys > h // 2) & (xs > w // 2)
    assert (in_legend | in_bar).all()


def test_label_style_auto_fills_small_objects_and_outlines_large(image_path):
    image = kit.open(image_path)
    small = kit.preview(image, max_size=48, labels="nuclei")  # plate scale: nuclei of ~2 px
    assert np.array_equal(small, kit.preview(image, max_size=48, labels="nuclei",
                                             label_style="fill"))
    assert not np.array_equal(small, kit.preview(image, max_size=48, labels="nuclei",
                                                 label_style="outline"))
    zoomed = kit.preview(image, max_size=512, labels="nuclei")
    assert np.array_equal(zoomed, kit.preview(image, max_size=512, labels="nuclei",
                                              label_style="outline"))
    assert not np.array_equal(zoomed, kit.preview(image, max_size=512, labels="nuclei",
                                                  label_style="fill"))


def test_auto_style_threshold():
    lab = np.zeros((40, 40), np.int64)
    lab[0:5, 0:5], lab[10:15, 10:15], lab[20:25, 20:25] = 1, 2, 3  # 25 px each: fill
    assert auto_style(lab) == "fill"
    lab[0:7, 0:9], lab[10:17, 10:19], lab[20:27, 20:29] = 1, 2, 3  # 63 px each: still fill
    assert auto_style(lab) == "fill"
    lab[0:8, 0:8], lab[10:18, 10:18], lab[20:28, 20:28] = 1, 2, 3  # 64 px each: outline
    assert auto_style(lab) == "outline" and FILL_BELOW_AREA == 64
    assert auto_style(np.zeros((4, 4), np.int64)) == "outline"


@pytest.fixture(scope="module")
def wide_plate(tmp_path_factory) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_plate(tmp_path_factory.mktemp("plate") / "p.zarr", rows="AB",
                           columns=("01", "02", "03"), missing_wells=("B/02",),
                           image_kwargs={"axes": "cyx", "shape": (2, 100, 250), "levels": 2,
                                         "labels": ()})


def test_plate_overview_has_gaps_and_tiles_at_the_fields_aspect(wide_plate):
    plate = kit.open(wide_plate)
    mosaic, frame = plate_picture(plate, RenderSpec(max_size=600, annotate=True),
                                  progress=False)
    rgb = np.asarray(mosaic)
    assert max(rgb.shape[:2]) <= 600
    assert frame is not None and frame.gap >= 2
    # the tile has the field's own aspect (250 x 100 pixels of the same size): no letterbox
    assert abs(frame.tile_w / frame.tile_h - 2.5) <= 2.5 / frame.tile_h + 1e-9
    assert (frame.cell_h, frame.cell_w) == (frame.tile_h, frame.tile_w)
    # between cells, whole rows and columns of the frame colour; none inside a cell
    for c in range(2):
        y0, x0 = frame.cell_origin(0, c)
        gap = rgb[frame.top:frame.cell_origin(1, 0)[0] + frame.cell_h,
                  x0 + frame.cell_w:x0 + frame.cell_w + frame.gap]
        assert gap.shape[1] == frame.gap and (gap == FRAME_RGB).all()
    y_gap = frame.cell_origin(0, 0)[0] + frame.cell_h
    assert (rgb[y_gap:y_gap + frame.gap, frame.left:-1 - frame.right] == FRAME_RGB).all()
    # a field fills its cell: with every pixel at full colour (a window below the data) the
    # cell is all cyan to its edges (but the well's name box in its top-left corner)
    bright, _ = plate_picture(plate, RenderSpec(max_size=600, windows=[(-1.0, 0.0)] * 2,
                                                annotate=True), progress=False)
    y0, x0 = frame.cell_origin(0, 0)
    cell = np.asarray(bright)[y0:y0 + frame.cell_h, x0:x0 + frame.cell_w]
    cyan = (cell == (0, 255, 255)).all(axis=2)
    assert cyan[-1].all() and cyan[:, -1].all() and cyan[0, frame.cell_w // 2:].all()
    assert cyan[frame.cell_h // 2:, 0].all() and cyan.mean() > 0.85
    missing = rgb[frame.cell_origin(1, 1)[0] + frame.cell_h // 2,
                  frame.cell_origin(1, 1)[1] + frame.cell_w // 2]
    assert tuple(missing) == MISSING_RGB != BACKGROUND_RGB
    assert frame.left > 0 and frame.top > 0 and frame.bottom > 0
    assert frame.annotations.legend_names == ["DAPI", "GFP"]
    bar = frame.annotations.scale_bar
    assert bar is not None
    length, row, _ = longest_white_run(rgb)
    assert abs(length - bar.pixels) <= 1 and row >= rgb.shape[0] - frame.bottom
    assert abs(bar.pixels - bar.length / (250 * 0.325 / frame.tile_w)) <= 1e-6


def test_plate_names_in_the_margins(wide_plate):
    """Row letters and column numbers are drawn (white text) in the margins, centred on
    their row and column; the plain overview has no margins at all."""
    plate = kit.open(wide_plate)
    mosaic, frame = plate_picture(plate, RenderSpec(max_size=600, annotate=True),
                                  progress=False)
    rgb = np.asarray(mosaic)
    white = (rgb > 200).all(axis=2)
    top = white[:frame.top]
    for c, x in enumerate(frame.column_centers()):
        assert top[:, round(x) - 8:round(x) + 8].any(), frame.columns[c]
    left = white[:, :frame.left]
    for r, y in enumerate(frame.row_centers()):
        assert left[round(y) - 6:round(y) + 6].any(), frame.rows[r]
    plain = kit.plate_overview(plate, max_size=600, progress=False)
    assert plain.shape[:2] == (400, 600)  # 2 x 3 square cells of 200: unchanged


def test_fields_all_in_a_cell(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = write_plate(tmp_path / "p.zarr", rows="A", columns=("01", "02"), fields=4,
                           image_kwargs={"axes": "cyx", "shape": (1, 64, 64), "levels": 1,
                                         "labels": ()})
    mosaic, frame = plate_picture(kit.open(path), RenderSpec(max_size=400, fields="all",
                                                             annotate=True), progress=False)
    assert frame is not None and frame.cell_w == 2 * frame.tile_w + FIELD_GAP
    assert frame.cell_h == 2 * frame.tile_h + FIELD_GAP and frame.tile_w == frame.tile_h
    y0, x0 = frame.cell_origin(0, 0)  # a line of the frame colour between the fields
    rgb = np.asarray(mosaic)
    line = rgb[y0:y0 + frame.cell_h, x0 + frame.tile_w:x0 + frame.tile_w + FIELD_GAP]
    assert (line == FRAME_RGB).all()


def test_annotate_must_be_a_bool():
    from kit.render.spec import InvalidRenderSpec

    with pytest.raises(InvalidRenderSpec, match="annotate"):
        RenderSpec(annotate="yes")
    assert RenderSpec(annotate=np.bool_(True)).annotate is True
    assert RenderSpec().annotated(True) is True and RenderSpec().annotated(False) is False


def test_auto_style_is_one_style_for_the_whole_plate(tmp_path):
    """Every well of a plate is drawn in the same style: auto picks once from all objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = write_plate(tmp_path / "p.zarr", rows="AB", columns=("01", "02"), fields=2,
                           image_kwargs={"axes": "cyx", "shape": (1, 128, 128), "levels": 1})
    plate = kit.open(path)
    pictures = {style: np.asarray(kit.plate_overview(plate, max_size=160, fields="all",
                                                     labels="nuclei", label_style=style,
                                                     progress=False))
                for style in ("auto", "fill", "outline")}
    assert not np.array_equal(pictures["fill"], pictures["outline"])
    assert (np.array_equal(pictures["auto"], pictures["fill"])
            or np.array_equal(pictures["auto"], pictures["outline"]))
