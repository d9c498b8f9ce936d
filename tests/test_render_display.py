"""Display everywhere (issue 14 point 6): kit.show and kit.plate_overview show themselves in a
fresh kernel, and tables and the labels / tables mappings have HTML cards."""

from __future__ import annotations

import base64
import io
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import kit
from kit.demo.generate import write_image, write_plate
from kit.render.card import card_html, labels_card, table_card, tables_card
from kit.render.png import Picture

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("display")
    write_image(root / "img.zarr", axes="czyx", shape=(2, 3, 64, 64), levels=2,
                labels=("nuclei",), tables=True)
    write_plate(root / "plate.zarr", rows="AB", columns=("01", "02"))
    return root


def _formatted(obj) -> dict:
    """What IPython's display machinery makes of ``obj`` (the formatters a kernel uses)."""
    from IPython.core.interactiveshell import InteractiveShell

    data, _ = InteractiveShell.instance().display_formatter.format(obj)
    return data


def test_show_returns_a_figure_that_draws_itself_as_png(data):
    fig = kit.show(kit.open(data / "img.zarr"), max_size=64)
    assert type(fig) is Figure and fig.canvas.manager is None  # still no pyplot
    png = fig._repr_png_()
    assert png.startswith(PNG)
    assert imread(io.BytesIO(png), format="png").shape[2] in (3, 4)
    assert _formatted(fig)["image/png"].startswith(PNG)
    again = pickle.loads(pickle.dumps(fig))  # the figure still pickles, and still displays
    assert again._repr_png_().startswith(PNG)
    assert _formatted(fig)["text/plain"] == "<kit.show figure of 'img.zarr'>"  # no <Figure
    assert fig._repr_mimebundle_(include=["text/plain"]) is None  # a terminal: matplotlib's
    assert again._repr_mimebundle_()["image/png"].startswith(PNG)


def test_plate_overview_is_an_array_that_displays_as_png(data):
    plate = kit.open(data / "plate.zarr")
    mosaic = kit.plate_overview(plate, max_size=64, progress=False)
    assert isinstance(mosaic, np.ndarray) and isinstance(mosaic, Picture)
    plain = np.asarray(mosaic)
    assert type(plain) is np.ndarray and plain.dtype == np.uint8 and plain.shape == (64, 64, 3)
    png = mosaic._repr_png_()
    assert png.startswith(PNG)
    shown = np.rint(imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(np.uint8)
    assert np.array_equal(shown, plain)
    assert _formatted(mosaic)["image/png"] == png
    assert (mosaic == 0)._repr_png_() is None  # not a picture any more: numbers again
    assert _formatted(mosaic)["text/plain"] == ("<Picture 64x64 RGB: a uint8 numpy array "
                                                "(np.asarray: its pixels)>")
    assert "True" in _formatted(mosaic == 0)["text/plain"]  # a mask: its values
    assert mosaic._repr_mimebundle_(include=["text/plain"]) is None  # a terminal: numbers
    assert type(kit.preview(plate, max_size=64)) is np.ndarray  # preview is unchanged


def test_table_and_mapping_cards(data):
    image = kit.open(data / "img.zarr")
    tables, labels = image.tables, image.labels
    html = table_card(tables["nuclei_features"])
    for text in ("Table <code>nuclei_features</code>", "feature_table", "anndata",
                 "../labels/nuclei"):
        assert text in html, text
    html = tables_card(tables)
    assert f"Tables <span style='color:#888'>({len(tables)})</span>" in html
    for name, table in tables.items():
        assert f"<code>{name}</code>" in html and table.kind in html
    html = labels_card(labels)
    assert "Labels" in html and "<code>nuclei</code>" in html and "zyx" in html
    assert "(3, 64, 64)" in html
    # the node cards' one entry point dispatches them too (what _repr_html_ calls)
    assert card_html(tables) == tables_card(tables) and card_html(labels) == labels_card(labels)
    assert card_html(tables["FOV_ROI_table"]) == table_card(tables["FOV_ROI_table"])
    assert "—" in tables_card({}) and "(0)" in tables_card({})


def test_table_card_escapes_names(data):
    table = kit.open(data / "img.zarr").tables["FOV_ROI_table"]
    table.name = "<b>x</b>"
    assert "<b>x</b>" not in table_card(table) and "&lt;b&gt;x&lt;/b&gt;" in table_card(table)


def test_tables_and_labels_mappings_display_as_cards(data, tmp_path):
    """``image.tables``, ``image.labels`` (NodeMaps) and a Table show their cards in a notebook
    (IPython's own formatter), empty mappings and other mappings of members too."""
    image = kit.open(data / "img.zarr")
    assert "Tables" in image.tables._repr_html_()
    assert "<code>nuclei</code>" in image.labels._repr_html_()
    table = image.tables["FOV_ROI_table"]
    assert "Table <code>FOV_ROI_table</code>" in table._repr_html_()
    assert _formatted(image.tables)["text/html"] == tables_card(image.tables)
    assert _formatted(image.labels)["text/html"] == labels_card(image.labels)
    assert _formatted(table)["text/html"] == table_card(table)
    bare = kit.open(write_image(tmp_path / "bare.zarr", axes="yx", shape=(8, 8), levels=1,
                                labels=()))
    assert "Labels <span" in bare.labels._repr_html_() and "(0)" in bare.labels._repr_html_()
    wells = kit.open(data / "plate.zarr").wells
    html = wells._repr_html_()
    assert "Wells" in html and "(4)" in html and "<code>A/01</code>: Well" in html


def test_cards_without_the_renderer_are_the_escaped_repr(data, monkeypatch):
    """kit.nodes works without kit.render installed: the card is the repr, escaped."""
    from kit.nodes import base

    monkeypatch.setattr(base, "html_renderer", None)
    image = kit.open(data / "img.zarr")
    table = image.tables["FOV_ROI_table"]
    assert table._repr_html_() == ("<pre>&lt;Table &#x27;FOV_ROI_table&#x27; roi_table "
                                   "backend=anndata&gt;</pre>")
    assert image.labels._repr_html_().startswith("<pre>{&#x27;nuclei&#x27;: &lt;Label")


# -- a fresh kernel, as a new user has it ----------------------------------------------------

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
KERNEL = "ngff-kit-display-test"


def test_a_fresh_kernel_shows_pictures_without_matplotlib_inline(data, tmp_path, monkeypatch):
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ngff-kit display test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import kit"),
        nbformat.v4.new_code_cell(f"kit.show(kit.open({str(data / 'img.zarr')!r}), max_size=64)"),
        nbformat.v4.new_code_cell(f"kit.plate_overview(kit.open({str(data / 'plate.zarr')!r}), "
                                  "max_size=64, progress=False)"),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL).execute()
    for cell in nb.cells[1:]:
        (out,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert "image/png" in out.data, out.data.get("text/plain")
        assert out.data["image/png"]  # base64 PNG, not an empty placeholder
    texts = json.dumps([cell.outputs for cell in nb.cells])
    assert "<Figure size" not in texts  # what pyplot-less matplotlib prints instead
    assert "array([[[" not in texts  # what a bare numpy mosaic prints instead


def test_a_two_cell_notebook_shows_an_annotated_figure(data, tmp_path, monkeypatch):
    """The issue's own check: ``import kit`` then ``kit.show(image)`` as the last line, in a
    fresh kernel with no ``%matplotlib inline``: one picture, no ``<Figure size ...>`` text."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ngff-kit display test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import kit"),
                nbformat.v4.new_code_cell(f"kit.show(kit.open({str(data / 'img.zarr')!r}))")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL).execute()
    outputs = nb.cells[1].outputs
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 1, outputs
    png = base64.b64decode(pictures[0].data["image/png"])
    assert png.startswith(PNG) and imread(io.BytesIO(png), format="png").shape[0] > 200
    assert "<Figure size" not in json.dumps(outputs)
