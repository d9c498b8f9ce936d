"""describe(node): the one summary behind the notebook card, the details pane and `info`."""

from __future__ import annotations

import importlib.util
import json
import warnings

import pytest
import zarr

import kit
from kit.demo.generate import write_image, write_plate
from kit.render.describe import (
    ArraySummary,
    GroupSummary,
    ImageSummary,
    PlateSummary,
    WellSummary,
    describe,
    describe_text,
)
from kit.widgets.details import summary_html


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp("describe")
    write_image(base / "img.zarr", axes="czyx", shape=(2, 3, 64, 64), levels=2,
                labels=("nuclei",), tables=True,
                channels=[{"label": "DAPI", "color": "0000FF"}, {"label": "GFP"}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_plate(base / "plate.zarr", rows="AB", columns=("01", "02"), fields=2,
                    missing_wells=("B/02",))
    group = zarr.open_group(base / "g.zarr", mode="w", zarr_format=2)
    group.create_array("data", shape=(3, 4), dtype="uint8")
    group.create_group("sub")
    return base


def test_an_image_summary_is_structured_data(root):
    s = describe(kit.open(root / "img.zarr"))
    assert isinstance(s, ImageSummary) and s.kind == "image" and s.version == "0.4"
    assert s.axes == ["c", "z", "y", "x"] and s.dtype == "uint16" and not s.problems
    assert [lv.shape for lv in s.levels] == [(2, 3, 64, 64), (2, 3, 32, 32)]
    assert [(c.name, c.color, c.rgb) for c in s.channels] == [
        ("DAPI", "0000FF", (0, 0, 255)), ("GFP", "FFFFFF", (255, 255, 255))]
    assert s.labels == ["nuclei"] and "FOV_ROI_table" in [t.name for t in s.tables]
    label = describe(kit.open(root / "img.zarr").labels["nuclei"])
    assert label.kind == "label" and label.colors and label.source_image == "../../"


def test_plate_well_group_and_array_summaries(root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plate = kit.open(root / "plate.zarr")
        s = describe(plate)
    assert isinstance(s, PlateSummary) and s.rows == ["A", "B"]
    assert sorted(s.present or []) == ["A/01", "A/02", "B/01"] and s.wells == []
    assert describe(plate, wells=False).present is None
    w = describe(plate["A/01"])
    assert isinstance(w, WellSummary) and w.fields == ["0", "1"] and len(w.images) == 1
    deep = describe(plate["A/01"], deep=True)
    assert [im.path for im in deep.images] == ["0", "1"]
    g = describe(kit.open(root / "g.zarr"))
    assert isinstance(g, GroupSummary)
    kinds = {m.path: type(m) for m in g.members}
    assert kinds["data"] is ArraySummary and kinds["sub"] is not ArraySummary
    array = next(m for m in g.members if m.path == "data")
    assert (array.shape, array.dtype) == ((3, 4), "uint8")


def test_to_dict_is_json_and_the_text_is_infos(root):
    image = kit.open(root / "img.zarr")
    d = describe(image, deep=True, strict=True).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["type"] == "image" and d["labels"][0]["name"] == "nuclei"
    assert d["levels"][0]["shape"] == [2, 3, 64, 64]
    text = describe_text(image).splitlines()
    assert text[0] == image.url and text[1].startswith("  .  image czyx, NGFF 0.4")
    assert any(line.strip().startswith("label nuclei: zyx, 2 levels") for line in text)


def _same_as_the_cli(source, capsys) -> None:
    """``ngff-kit info`` (text and ``--json``) is describe's text and dict, nothing of its own."""
    from kit.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node = kit.open(source)
        summary = describe(node, deep=True, strict=True)
        text = describe_text(node)
    capsys.readouterr()
    assert main(["info", str(source), "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out) == summary.to_dict(), source
    assert main(["info", str(source)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out == text + "\n", source


def test_the_cli_has_no_summariser_of_its_own():
    import kit.cli
    import kit.cli.info

    assert importlib.util.find_spec("kit.cli.tree") is None
    for name in ("tree_lines", "image_lines", "image_dict", "level_lines"):
        assert not hasattr(kit.cli.info, name) and not hasattr(kit.cli, name), name
    assert kit.cli.info.describe_text is describe_text


@pytest.mark.parametrize("name", ["plate.zarr", "img.zarr", "g.zarr"])
def test_describe_matches_the_clis_output(root, name, capsys):
    """The CLI prints describe(): same JSON, same text."""
    _same_as_the_cli(root / name, capsys)


def test_describe_matches_the_cli_on_the_real_plate(real_plate, capsys):
    _same_as_the_cli(real_plate, capsys)


def test_a_broken_part_is_a_problem_not_an_exception(root, tmp_path):
    path = write_image(tmp_path / "i.zarr", axes="yx", shape=(16, 16), levels=1, labels=(),
                       tables=True)
    attrs = json.loads((path / "tables" / ".zattrs").read_text())
    attrs["tables"] = 7
    (path / "tables" / ".zattrs").write_text(json.dumps(attrs))
    s = describe(kit.open(path))
    assert "tables" in s.problems and "InvalidMetadata" in s.problems["tables"]
    assert s.levels and s.tables == []  # the rest is still there
    assert "InvalidMetadata" in summary_html(s)
    with pytest.raises(kit.InvalidMetadata):
        describe(kit.open(path), strict=True)


def test_the_details_pane_escapes_what_describe_returns(root, tmp_path):
    path = write_image(tmp_path / "x.zarr", axes="cyx", shape=(1, 16, 16), levels=1, labels=(),
                       channels=[{"label": "<script>x</script>", "color": "FF0000"}])
    html = summary_html(describe(kit.open(path)))
    assert "<script>" not in html and "&lt;script&gt;" in html
