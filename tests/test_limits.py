"""Limits for hostile input (issue 18.3): JSON documents (size, depth, int digits) and the number
of stored chunks one read may touch. Each gives a typed KitError naming what and where, quickly,
with nothing on disk changed; each limit has a documented default and can be overridden."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import kit
import kit.io.boxes as boxes
import kit.io.jsondoc as jsondoc
from kit.demo.generate import write_image
from kit.errors import InvalidMetadata, KitError
from kit.io.boxes import Box, read_boxes
from kit.io.jsondoc import load_json

REPO = Path(__file__).resolve().parent.parent


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


DEEP = '{"multiscales": ' + _nested(50_000) + "}"       # RecursionError in json.loads today
MIDDLE = '{"custom": ' + _nested(300) + ', "multiscales": []}'  # parses, breaks a deepcopy later
BIGINT = '{"multiscales": [{"x": ' + "7" * 5000 + "}]}"  # ValueError (4300 digits) today


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return write_image(tmp_path / "img.zarr", version="0.4", axes="cyx", shape=(2, 64, 64),
                       levels=2, labels=())


@pytest.fixture
def image_v05(tmp_path: Path) -> Path:
    return write_image(tmp_path / "img5.zarr", version="0.5", axes="cyx", shape=(2, 64, 64),
                       levels=2, labels=())


# --- the loader ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expect", [
    (DEEP, "nested deeper than the limit of 100"),
    (MIDDLE, "nested deeper than the limit of 100"),
    (BIGINT, "a number has more than 4300 digits"),
    ("{oops", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
])
def test_loader_refuses_with_invalid_metadata_naming_the_document(text, expect) -> None:
    with pytest.raises(InvalidMetadata) as info:
        load_json(text, where="mem://doc.json", what="metadata document")
    assert str(info.value).startswith("mem://doc.json: metadata document ")
    assert expect in str(info.value) and len(str(info.value)) < 300


def test_loader_reads_what_real_documents_hold() -> None:
    assert load_json('{"a": ' + _nested(60) + "}", where="w") == {"a": json.loads(_nested(60))}
    assert load_json("7" * 4300, where="w") == int("7" * 4300)
    assert load_json(b'{"x": [1.5, "[[[[[[", {"y": null}]}', where="w", max_depth=3) == {
        "x": [1.5, "[[[[[[", {"y": None}]}  # brackets inside strings are not nesting


def test_loader_limits_are_overridable(monkeypatch) -> None:
    doc = json.dumps({"a": [[[1]]], "pad": "x" * 100})
    with pytest.raises(InvalidMetadata, match=r"is \d+ bytes, more than the limit of 50"):
        load_json(doc, where="w", max_bytes=50)
    with pytest.raises(InvalidMetadata, match="limit of 3"):
        load_json(doc, where="w", max_depth=3)
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT_BYTES", 50)
    with pytest.raises(InvalidMetadata, match="MAX_DOCUMENT_BYTES"):
        load_json(doc, where="w")
    assert load_json(doc, where="w", max_bytes=1000)["a"] == [[[1]]]


# --- through kit.open: every metadata document -------------------------------------------------

@pytest.mark.parametrize("text", [DEEP, MIDDLE, BIGINT], ids=["deep", "middle", "bigint"])
def test_hostile_zattrs(image: Path, text: str) -> None:
    (image / ".zattrs").write_text(text)
    before = _digest(image)
    started = time.monotonic()
    with pytest.raises(InvalidMetadata, match=r"img\.zarr/\.zattrs: .*(nested deeper|digits)"):
        kit.open(image)
    assert time.monotonic() - started < 10
    assert _digest(image) == before


@pytest.mark.parametrize("text", [DEEP, BIGINT], ids=["deep", "bigint"])
def test_hostile_zarr_json_and_level_metadata(image_v05: Path, text: str) -> None:
    root = json.loads((image_v05 / "zarr.json").read_text())
    (image_v05 / "zarr.json").write_text(json.dumps(root)[:-1] + ', "x": ' + text + "}")
    with pytest.raises(InvalidMetadata, match=r"img5\.zarr/zarr\.json: "):
        kit.open(image_v05)
    (image_v05 / "zarr.json").write_text(json.dumps(root))
    (image_v05 / "0" / "zarr.json").write_text(text)
    with pytest.raises(InvalidMetadata, match=r"img5\.zarr/0/zarr\.json: "):
        kit.open(image_v05).levels


@pytest.mark.parametrize("text", [DEEP, BIGINT], ids=["deep", "bigint"])
def test_hostile_refs_document(tmp_path: Path, text: str) -> None:
    path = tmp_path / "refs.json"
    path.write_text('{"version": 1, "refs": {".zgroup": {"zarr_format": 2}, "x": ' + text + "}}")
    with pytest.raises(InvalidMetadata, match=r"refs\.json.*refs document is not readable JSON"):
        kit.open(path)


def test_hostile_document_inside_a_refs_document(tmp_path: Path) -> None:
    """A .zattrs written as a JSON string inside the refs document goes through the loader too."""
    path = tmp_path / "refs.json"
    path.write_text(json.dumps({"version": 1, "refs": {".zgroup": '{"zarr_format": 2}',
                                                       ".zattrs": DEEP}}))
    with pytest.raises(InvalidMetadata, match=r"\.zattrs: .*nested deeper"):
        kit.open(path)


def test_consolidate_refuses_a_hostile_document_and_writes_nothing(image: Path) -> None:
    (image / "0" / ".zattrs").write_text(BIGINT)
    before = _digest(image)
    with pytest.raises(InvalidMetadata, match=r"0/\.zattrs: .*digits"):
        kit.consolidate(image)
    assert _digest(image) == before


# --- chunks per read ---------------------------------------------------------------------------

def _huge_level(root: Path, level: str, side: int = 2**62) -> None:
    meta = json.loads((root / level / ".zarray").read_text())
    meta["shape"] = [meta["shape"][0], side, side]
    (root / level / ".zarray").write_text(json.dumps(meta))


def test_box_counts_its_stored_objects_without_enumerating_them(image: Path) -> None:
    array = kit.open(image).level_array(0)._async_array  # chunks of the demo image
    for selection in ([0, slice(None), slice(None)], [slice(0, 2), slice(3, 40), slice(0, 1)],
                      [(1, 0), slice(10, 10), slice(None)], [1, [0, 5, 63, 6], slice(17, 18)]):
        box = Box.of(array, selection, "w")
        assert box.n_pieces == len(box.pieces())


def test_read_touching_too_many_chunks_is_refused_and_the_limit_overridable(image: Path,
                                                                             monkeypatch) -> None:
    img = kit.open(image)
    box = img.box(0, [slice(None)] * 3)
    n = box.n_pieces
    assert n > 1
    with pytest.raises(KitError, match=rf"touches {n} stored chunks, more than the limit of "
                                       rf"{n - 1} per read") as info:
        read_boxes([box], max_chunks=n - 1)
    assert "img.zarr/0" in str(info.value)
    assert np.array_equal(read_boxes([box], max_chunks=n)[0], img.read(0))
    monkeypatch.setattr(boxes, "MAX_CHUNKS_PER_READ", n - 1)
    with pytest.raises(KitError, match="MAX_CHUNKS_PER_READ"):
        img.read(0)
    assert img.read(0, [0, slice(0, 1), slice(0, 1)]).shape == (1, 1)  # small reads still work


def test_empty_box_of_a_huge_level_enumerates_nothing(image: Path) -> None:
    _huge_level(image, "0")
    img = kit.open(image)
    started = time.monotonic()
    assert img.read(0, [0, slice(5, 5), slice(0, 9)]).shape == (0, 9)
    with pytest.raises(KitError, match=r"shape \[0, 4611686018427387904\] .*cannot be held"):
        img.read(0, [0, slice(5, 5), slice(None)])  # zero bytes, but more than numpy addresses
    assert time.monotonic() - started < 5


def test_a_huge_level_gives_a_quick_error_not_a_hang(image: Path) -> None:
    """Metadata claiming 2**62 pixels a side: read and preview fail fast (in a subprocess, so a
    regression is a timeout, not a hung test run), with nothing on disk changed."""
    _huge_level(image, "0")
    _huge_level(image, "1")
    before = _digest(image)
    script = textwrap.dedent(f"""
        import warnings; warnings.simplefilter("ignore")
        import kit
        image = kit.open({str(image)!r})
        calls = (("read", lambda: image.read(1)), ("preview", lambda: kit.preview(image)))
        for name, call in calls:
            try:
                call()
                print(name, "no error")
            except kit.KitError as exc:
                print(name, type(exc).__name__, exc)
        """)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    for line in lines:
        assert "stored chunks, more than the limit of 100000 per read" in line, line
    assert time.monotonic() - started < 60
    assert _digest(image) == before


def test_a_level_larger_than_the_one_above_is_refused_when_the_levels_load(image: Path) -> None:
    _huge_level(image, "1")
    with pytest.raises(InvalidMetadata, match=r"level 1 \(path '1'\) shape .* is larger than "
                                              r"level 0"):
        kit.open(image).levels
