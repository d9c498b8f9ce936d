"""kit.show: a matplotlib Figure (no pyplot) in physical units with a scale bar and legend."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

import kit
from kit.demo.generate import write_image, write_plate
from kit.render.figure import nice_length
from kit.render.overview import FRAME_RGB


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    return write_image(tmp_path_factory.mktemp("fig") / "img.zarr", axes="czyx",
                       shape=(3, 2, 256, 128), levels=3, translation={"y": 10.0, "x": 5.0})


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_show_has_physical_axes_scale_bar_and_legend(image_path):
    image = kit.open(image_path)
    fig = kit.show(image, max_size=128)
    assert type(fig) is Figure and fig.canvas.manager is None  # not registered with pyplot
    (ax,) = fig.axes
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)"
    (im,) = ax.get_images()
    # level 1: 128 x 64 pixels of 0.65 µm, starting at (y, x) = (10, 5) µm
    assert im.get_extent() == pytest.approx([5.0, 5.0 + 64 * 0.65, 10.0 + 128 * 0.65, 10.0])
    assert np.array_equal(im.get_array(), kit.preview(image, max_size=128))
    assert _legend_texts(ax) == ["DAPI", "GFP", "mCherry"]
    legend_colors = [tuple(np.round(np.array(h.get_facecolor()[:3]) * 255).astype(int))
                     for h in ax.get_legend().legend_handles]
    assert legend_colors == [(0, 0, 255), (0, 255, 0), (255, 0, 0)]
    bars = [a for a in ax.artists if type(a).__name__ == "AnchoredSizeBar"]
    assert len(bars) == 1
    texts = [t.get_text() for t in bars[0].findobj(lambda o: hasattr(o, "get_text"))]
    assert "5 µm" in texts  # 20% of the 41.6 µm width, rounded down to 1/2/5
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # renders without pyplot
    assert buf.getvalue().startswith(b"\x89PNG")


def test_show_channels_subset_and_title(image_path):
    fig = kit.show(kit.open(image_path), channels=["GFP"], title="<mine>")
    (ax,) = fig.axes
    assert _legend_texts(ax) == ["GFP"] and ax.get_title() == "<mine>"


def test_show_label_and_plate(tmp_path, image_path):
    label = kit.open(image_path).labels["nuclei"]
    fig = kit.show(label, max_size=64)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "x (µm)" and ax.get_legend() is None
    assert ax.get_images()[0].get_extent() == pytest.approx([5.0, 5.0 + 32 * 1.3,
                                                            10.0 + 64 * 1.3, 10.0])
    plate = kit.open(write_plate(tmp_path / "p.zarr", rows="AB", columns=("01", "02", "03")))
    fig = kit.show(plate, max_size=300, annotate=False)  # the plain mosaic of square cells
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["01", "02", "03"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    assert ax.get_xticks() == pytest.approx([49.5, 149.5, 249.5])


def test_show_plate_annotated_by_default(tmp_path):
    """kit.show lays a plate out with gaps, names its rows and columns on the ticks (at the
    cells' centres) and adds the legend and one field's scale bar."""
    plate = kit.open(write_plate(tmp_path / "p.zarr", rows="AB", columns=("01", "02", "03")))
    fig = kit.show(plate, max_size=300)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["01", "02", "03"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    rgb = ax.get_images()[0].get_array()
    xs = ax.get_xticks()
    gap_x = (xs[0] + xs[1]) / 2  # between two columns: a gap of the frame colour
    assert (np.asarray(rgb)[:, round(gap_x)] == FRAME_RGB).all()
    assert _legend_texts(ax)
    assert [a for a in ax.artists if type(a).__name__ == "AnchoredSizeBar"]


@pytest.mark.parametrize("span,expected", [(41.6, 5), (100, 20), (0.9, 0.1), (7, 1), (260, 50)])
def test_scale_bar_lengths_are_round(span, expected):
    assert nice_length(span) == pytest.approx(expected)
