"""The CLI's PNGs explain themselves by default (``--annotate``); ``--no-annotate`` writes the
library's plain picture; ``--label-style auto`` is the default and ``--fields all`` tiles."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import kit
from kit.cli.app import main
from kit.demo.generate import write_image, write_plate
from kit.render import RenderSpec, preview


def _png(path: Path) -> np.ndarray:
    return np.rint(imread(io.BytesIO(path.read_bytes()), format="png")[..., :3] * 255
                   ).astype(np.uint8)


@pytest.fixture(scope="module")
def image_path(tmp_path_factory) -> Path:
    return write_image(tmp_path_factory.mktemp("cli") / "img.zarr", axes="czyx",
                       shape=(2, 1, 128, 128), levels=2, labels=("nuclei",))


def test_cli_annotates_by_default_and_not_when_told(image_path, tmp_path, capsys):
    on, off = tmp_path / "on.png", tmp_path / "off.png"
    assert main(["preview", str(image_path), "-o", str(on), "--labels", "nuclei"]) == 0
    assert main(["preview", str(image_path), "-o", str(off), "--labels", "nuclei",
                 "--no-annotate"]) == 0
    image = kit.open(image_path)
    assert np.array_equal(_png(off), preview(image, spec=RenderSpec(labels="nuclei")))
    assert np.array_equal(_png(on), preview(image, spec=RenderSpec(labels="nuclei",
                                                                   annotate=True)))
    assert not np.array_equal(_png(on), _png(off))
    assert main(["preview", str(image_path), "-o", str(on), "--annotate"]) == 0
    assert "--no-annotate" in _help(capsys)


def _help(capsys) -> str:
    capsys.readouterr()
    assert main(["preview", "--help"]) == 0
    return capsys.readouterr().out


def test_label_style_auto_and_fields_all(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plate = write_plate(tmp_path / "p.zarr", rows="A", columns=("01", "02"), fields=2,
                            image_kwargs={"axes": "cyx", "shape": (1, 64, 64), "levels": 1})
    out = tmp_path / "all.png"
    assert main(["preview", str(plate), "-o", str(out), "--fields", "all", "--labels",
                 "nuclei", "--label-style", "auto", "--size", "300"]) == 0
    want = kit.plate_overview(kit.open(plate), max_size=300, fields="all", labels="nuclei",
                              annotate=True, progress=False)
    assert np.array_equal(_png(out), np.asarray(want))
    text = _help(capsys)
    assert "auto" in text and "--fields" in text and "--label-style" in text
