"""The node layer's structure: one metadata model per kind, nodes and table backends found
through registries, containers, prefetch, typed errors with short tracebacks, one event loop
and complete async twins."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
import pickle
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import numpy as np
import pytest

import kit
from kit.demo.generate import write_image, write_plate
from kit.errors import (
    InvalidMetadata,
    InvalidROI,
    KitError,
    LevelNotFound,
    MemberNotFound,
)
from kit.io.loop import kit_loop, run_sync
from kit.ngff import (
    GroupMeta,
    ImageMeta,
    LabelMeta,
    LabelsMeta,
    PlateMeta,
    WellMeta,
    parse_attributes,
)
from kit.nodes import TABLE_BACKENDS, TableBackend
from kit.nodes.base import NODE_CLASSES

NODES = Path(kit.__file__).parent / "nodes"


@pytest.fixture(scope="module")
def plate_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("core")
    return write_plate(root / "p.zarr", rows="B", columns=("03", "05"), fields=2,
                       plate_tables=True,
                       image_kwargs={"shape": (2, 1, 32, 32), "levels": 2, "labels": ("cells",),
                                     "tables": True})


@pytest.fixture(scope="module")
def image_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("core-image")
    return write_image(root / "img.zarr", version="0.4", axes="czyx", shape=(2, 1, 48, 48),
                       levels=2, labels=("nuclei",), tables=True)


# -- one model per kind -------------------------------------------------------------------


def test_each_kind_has_its_own_frozen_picklable_model(plate_path):
    plate = kit.open(plate_path)
    well = plate["B/03"]
    image = well["0"]
    label = image.labels["cells"]
    models = {type(n.meta) for n in (plate, well, image, label)}
    assert models == {PlateMeta, WellMeta, ImageMeta, LabelMeta}
    assert not hasattr(plate.meta, "multiscales") and not hasattr(image.meta, "plate")
    assert not hasattr(well.meta, "plate") and hasattr(label.meta, "image_label")
    for meta in (plate.meta, well.meta, image.meta, label.meta):
        assert pickle.loads(pickle.dumps(meta)) == meta
        with pytest.raises(dataclasses.FrozenInstanceError):
            meta.version = "0.5"  # type: ignore[misc]
    labels = parse_attributes({"labels": ["a"]}, zarr_format=2, where="w")
    assert isinstance(labels, LabelsMeta) and labels.labels == ("a",)
    assert isinstance(parse_attributes({}, zarr_format=2, where="w"), GroupMeta)


def test_nodes_are_found_through_the_registry():
    assert {k: c.__name__ for k, c in NODE_CLASSES.items()} == {
        "group": "Group", "plate": "Plate", "well": "Well", "image": "Image", "label": "Label",
        "scene": "Scene"}


def _function_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_node_module_imports_inside_a_function():
    """The cycle among the node modules was hidden by imports inside functions; none is left."""
    assert [hit for p in sorted(NODES.glob("*.py")) for hit in _function_imports(p)] == []


def test_node_modules_import_no_cycle():
    graph: dict[str, set[str]] = {}
    for path in NODES.glob("*.py"):
        tree = ast.parse(path.read_text())
        deps = {n.module.rsplit(".", 1)[-1] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("kit.nodes.")}
        graph[path.stem] = deps

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(d == goal or (d not in seen and reaches(d, goal, seen | {d}))
                   for d in graph.get(start, ()))

    assert [m for m in graph if reaches(m, m, {m})] == []


# -- table backends -----------------------------------------------------------------------


def test_table_backends_declare_names_and_aliases():
    assert TABLE_BACKENDS.names == ["anndata", "csv", "json", "parquet"]
    assert TABLE_BACKENDS.canonical("anndata_v1") == "anndata"
    assert TABLE_BACKENDS.canonical("experimental_parquet_v1") == "parquet"
    assert TABLE_BACKENDS.canonical("feather") == "feather"
    with pytest.raises(KitError, match=r"'feather' is not supported \(known: anndata, csv"):
        TABLE_BACKENDS.reader("feather", where="x")
    with pytest.raises(ValueError, match="already taken"):
        TABLE_BACKENDS.add(TableBackend("csv"))


def test_tables_read_without_importing_the_tables_layer_first(image_path):
    """`import kit` installs nothing and imports no backend (nor pandas); the first read
    imports only the backend it needs."""
    # dask.array imports xarray (and so pandas) whenever xarray is installed (the xarray extra):
    # hidden here, so the check stays about what kit itself imports
    code = f"""
import sys
sys.modules["xarray"] = None
import kit
assert not [m for m in sys.modules if m.startswith("kit.tables.")], "backend imported early"
assert "pandas" not in sys.modules
frame = kit.open({str(image_path)!r}).tables["nuclei_centroids_csv"].to_pandas()
assert len(frame) > 0
print(sorted(m for m in sys.modules if m.startswith("kit.tables.")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['kit.tables._common', 'kit.tables.csv']"


def test_a_third_party_backend_is_one_registry_entry(image_path, tmp_path):
    async def read(table):
        import pandas as pd

        return pd.DataFrame({"name": [table.name]})

    image = kit.open(image_path)
    table = image.tables["nuclei_centroids_csv"]
    table.attrs = {**table.attrs, "backend": "my_backend_v1"}
    TABLE_BACKENDS.add(TableBackend("mine", ("my_backend_v1",), read))
    assert table.backend == "mine"
    assert table.to_pandas()["name"].tolist() == ["nuclei_centroids_csv"]


# -- containers and prefetch -------------------------------------------------------------


def test_containers_iterate_and_contain_their_paths(plate_path):
    plate = kit.open(plate_path)
    assert list(plate) == ["B/03", "B/05"] and "B/03" in plate and "C/01" not in plate
    assert 123 not in plate
    well = plate["B/05"]
    assert list(well) == ["0", "1"] and "1" in well and "7" not in well
    image = well["0"]
    assert "cells" in image.labels and list(image.labels) == ["cells"]
    assert "FOV_ROI_table" in image.tables and "nope" not in image.tables


def test_missing_names_are_not_found_naming_the_key_and_the_available_ones(plate_path):
    image = kit.open(plate_path)["B/03/0"]
    for mapping, what in ((image.tables, "table"), (image.labels, "label")):
        with pytest.raises(MemberNotFound) as err:
            mapping["x"]
        assert f"no {what} 'x'" in str(err.value) and "available: [" in str(err.value)
        assert isinstance(err.value, kit.NotFound) and isinstance(err.value, KeyError)
        assert str(err.value).startswith(str(plate_path))  # where, and no quotes around it
        assert mapping.get("x") is None  # still a mapping
    with pytest.raises(MemberNotFound) as err:
        image.labels["x"]
    assert "cells" in str(err.value)
    assert issubclass(kit.NotFound, LookupError)
    assert kit.InvalidData is kit.errors.InvalidData and "InvalidData" in kit.__all__


def test_plate_keys_must_be_strings(plate_path):
    plate = kit.open(plate_path)
    for bad in (123, None, 1.5):
        with pytest.raises(TypeError, match="path strings such as 'B/03'"):
            plate[bad]  # type: ignore[index]
    with pytest.raises(TypeError, match="path strings"):
        plate["B/03"][0]  # type: ignore[index]


def test_prefetch_loads_parts_in_one_batch(plate_path):
    image = kit.open(plate_path)["B/03/0"]
    assert image.loaded("labels") is None and image.loaded("tables") is None
    assert image.prefetch("levels", "labels", "tables") is image
    assert list(image.loaded("labels")) == ["cells"] and "FOV_ROI_table" in image.loaded("tables")
    assert len(image.loaded("levels")) == 2
    with pytest.raises(ValueError, match="no part 'wells'"):
        image.prefetch("wells")


def test_loaded_mappings_pickle_with_their_description_and_cycles(plate_path):
    image = kit.open(plate_path)["B/03/0"].prefetch("levels", "labels", "tables")
    table = image.tables["FOV_ROI_table"]  # its owner is the image: a cycle through the cache
    clone = pickle.loads(pickle.dumps(table))
    assert clone.owner.tables["FOV_ROI_table"] is clone
    with pytest.raises(MemberNotFound, match="no table 'zz'"):
        clone.owner.tables["zz"]


def test_prefetch_can_leave_a_broken_part_empty(tmp_path):
    path = write_image(tmp_path / "i.zarr", version="0.4", shape=(1, 1, 16, 16), levels=1,
                       labels=("a",), tables=True)
    (path / "labels" / ".zattrs").write_text('{"labels": 5}')
    image = kit.open(path)
    with pytest.raises(InvalidMetadata):
        kit.open(path).prefetch("levels", "labels")
    image.prefetch("levels", "labels", "tables", skip_broken=True)
    assert image.loaded("labels") == {} and len(image.loaded("tables")) > 0
    with pytest.raises(MemberNotFound, match="no label 'a'"):
        image.labels["a"]


# -- typed errors -------------------------------------------------------------------------


def test_a_missing_level_names_the_level_and_how_many_exist(image_path):
    image = kit.open(image_path)
    for call in (lambda: image.read(99), lambda: image.to_dask(99), lambda: image.level(-3),
                 lambda: kit.preview(image, level=99)):
        with pytest.raises(LevelNotFound, match=r"level (99|-3) does not exist \(this image has 2 "
                                                r"levels: 0 to 1; -1 is the coarsest\)") as err:
            call()
        assert isinstance(err.value, KitError) and isinstance(err.value, IndexError)
        assert str(image_path) in str(err.value)
    with pytest.raises(TypeError, match="integer index"):
        image.read("0")  # type: ignore[arg-type]


@pytest.mark.parametrize("roi, match", [
    ("garbage", "not a ROI row: str"),
    ({"x_micrometer": "abc", "len_x_micrometer": 3}, "'x_micrometer' is 'abc'"),
    ({"x_micrometer": float("nan"), "len_x_micrometer": 3}, "'x_micrometer' is nan"),
    ({"x_micrometer": 1e308, "len_x_micrometer": 1e308}, "'len_x_micrometer' is inf|cannot be"),
    ({"x_micrometer": 0, "len_x_micrometer": 10**400}, r"'len_x_micrometer' is 1000.*\.\.\."),
    ({"x_micrometer": 0, "len_x_micrometer": 10**5000}, "int too large to print"),
])
def test_a_garbage_roi_is_invalid_roi_naming_the_column(image_path, roi, match):
    image = kit.open(image_path)
    with pytest.raises(InvalidROI, match=match) as err:
        image.read_roi(roi)
    assert isinstance(err.value, InvalidMetadata) and isinstance(err.value, ValueError)


def test_zero_size_level_and_label_without_multiscales_are_invalid_metadata(tmp_path):
    path = write_image(tmp_path / "i.zarr", version="0.4", axes="cyx", shape=(2, 32, 32),
                       levels=2, labels=("cells",))
    zarray = json.loads((path / "0/.zarray").read_text())
    (path / "0/.zarray").write_text(json.dumps({**zarray, "shape": [2, 0, 32]}))
    image = kit.open(path)
    for call in (lambda: image.levels, lambda: image.read(0), lambda: kit.preview(image)):
        with pytest.raises(InvalidMetadata, match=r"level 0 .* shape \(2, 0, 32\).*empty"):
            call()
    attrs = json.loads((path / "labels/cells/.zattrs").read_text())
    del attrs["multiscales"]
    (path / "labels/cells/.zattrs").write_text(json.dumps(attrs))
    with pytest.warns(kit.KitWarning, match="without multiscales"):
        label = kit.open(path).labels["cells"]
    assert "without multiscales" in repr(label)
    for call in (lambda: label.levels, lambda: label.axes, lambda: label.read(0)):
        with pytest.raises(InvalidMetadata, match="has no multiscales"):
            call()


def test_a_typed_error_arrives_with_a_short_traceback(tmp_path):
    try:
        kit.open(tmp_path / "missing.zarr")
    except kit.NotFound as exc:
        frames = traceback.extract_tb(exc.__traceback__)
    kit_frames = [f for f in frames if f"{Path(kit.__file__).parent}" in f.filename]
    assert 1 <= len(kit_frames) <= 3, [f"{f.filename}:{f.lineno}" for f in kit_frames]


def test_the_trimmed_error_keeps_its_cause_and_debug_keeps_every_frame(tmp_path, monkeypatch):
    async def fails():
        try:
            {}["k"]
        except KeyError as exc:
            raise kit.NotFound("gone", where="here") from exc

    with pytest.raises(kit.NotFound) as err:
        run_sync(fails())
    assert isinstance(err.value.__cause__, KeyError)
    assert "fails" not in [f.name for f in traceback.extract_tb(err.value.__traceback__)]
    monkeypatch.setenv("NGFF_KIT_DEBUG", "1")
    with pytest.raises(kit.NotFound) as err:
        run_sync(fails())
    assert "fails" in [f.name for f in traceback.extract_tb(err.value.__traceback__)]


def test_a_sync_property_on_the_kit_loop_names_the_async_way(image_path):
    image = kit.open(image_path)

    async def on_loop():
        return image.levels

    with pytest.raises(RuntimeError, match=r"await the coroutine .*alevels\(\)"):
        run_sync(on_loop())


def test_run_sync_times_out_with_a_kit_error():
    with pytest.raises(kit.RemoteError, match=r"no answer within 0\.2 s"):
        run_sync(asyncio.sleep(30), timeout=0.2)
    with pytest.raises(TimeoutError):  # the coroutine's own timeout is not the facade's
        run_sync(asyncio.wait_for(asyncio.sleep(1), 0.01))


# -- one event loop -----------------------------------------------------------------------


def test_dask_reads_run_on_the_kit_loop_not_zarrs(image_path, monkeypatch):
    import zarr.core.sync as zsync

    image = kit.open(image_path)
    expected = image.read(0)
    store = image.location.store
    loops: set[int] = set()
    original = type(store).get

    async def recording(self, *args, **kwargs):
        loops.add(id(asyncio.get_running_loop()))
        return await original(self, *args, **kwargs)

    def no_zarr_loop(*args, **kwargs):
        raise AssertionError("zarr's sync loop was entered")

    monkeypatch.setattr(type(store), "get", recording)
    monkeypatch.setattr(zsync, "sync", no_zarr_loop)
    got = image.to_dask(0).compute(scheduler="threads")
    np.testing.assert_array_equal(got, expected)
    assert loops == {id(kit_loop())}
    clone = pickle.loads(pickle.dumps(image.to_dask(1)))
    np.testing.assert_array_equal(clone.compute(scheduler="sync"), image.read(1))


def test_every_sync_io_member_has_an_async_twin_that_works_on_the_kit_loop(plate_path):
    """Library code on the kit loop never needs a sync property (it would raise there)."""
    plate = kit.open(plate_path)
    io_members = {
        kit.Plate: ["wells", "images", "tables", "well", "prefetch"],
        kit.Well: ["images", "prefetch"],
        kit.Image: ["levels", "level", "labels", "tables", "read", "to_dask", "channel_names",
                    "pick_level", "level_array", "box", "roi_slices", "read_roi",
                    "read_roi_mask", "prefetch"],
        kit.Label: ["source"],
        kit.Group: ["members", "prefetch"],
        kit.Table: ["to_pandas", "label"],
    }
    missing = [f"{cls.__name__}.a{name}" for cls, names in io_members.items() for name in names
               if not hasattr(cls, "a" + name)]
    assert missing == []

    async def on_the_loop():
        assert asyncio.get_running_loop() is kit_loop()
        tables = await plate.atables()
        well = await plate.awell("B/03")
        image = await plate.aget("B/03/1")
        assert image is await well.aimage("1")
        assert sorted(await well.aimages()) == ["0", "1"]
        assert len(await plate.aimages()) == 4
        names = await image.achannel_names()
        level = await image.apick_level(16)
        dask = await image.ato_dask(level)
        roi = (await (await image.atables())["FOV_ROI_table"].ato_pandas()).iloc[0]
        crop = await image.aread_roi(roi, 0)
        slices = await image.aroi_slices(roi, 0)
        regions = [await t.alabel() for t in (await image.atables()).values() if t.region]
        label = (await image.alabels())["cells"]
        source = await label.asource()
        await image.aprefetch("levels", "labels", "tables")
        return tables, names, level, dask, crop, slices, regions, source, image

    tables, names, level, dask, crop, slices, regions, source, image = run_sync(on_the_loop())
    assert names == image.channel_names and level == image.pick_level(16)
    assert dask.shape == image.level(level).shape and crop.shape == image.read_roi(
        image.tables["FOV_ROI_table"].to_pandas().iloc[0]).shape
    assert source.url == image.url and list(tables) == ["condition"]
    assert len(slices) == 4 and all(r.kind == "label" for r in regions)


def test_to_dask_from_many_threads_at_once(image_path):
    image = kit.open(image_path)
    expected = image.read(0)
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(image.to_dask(0).compute()))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.array_equal(r, expected) for r in results)


# -- all tables at once (issue 16.3) --------------------------------------------------------


def test_to_dask_of_a_huge_level_is_refused_before_the_graph_is_built(tmp_path, monkeypatch):
    """A level claiming 2**62 pixels a side: to_dask fails fast with a KitError (dask would
    list 2**52 block sizes per axis), in a subprocess so a regression is a timeout, not a hang."""
    root = write_image(tmp_path / "huge.zarr", version="0.4", axes="cyx", shape=(2, 64, 64),
                       levels=1, labels=())
    meta = json.loads((root / "0" / ".zarray").read_text())
    meta["shape"] = [2, 2**62, 2**62]
    (root / "0" / ".zarray").write_text(json.dumps(meta))
    script = (f"import kit\nimage = kit.open({str(root)!r})\n"
              "for chunks in (None, (1, 1024, 1024), 'auto', {1: 4096}):\n"
              "    try:\n        image.to_dask(0, chunks=chunks)\n        print('built')\n"
              "    except kit.KitError as exc:\n        print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(Path(kit.__file__).parent.parent),
                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stdout
    for line in lines:
        assert line.startswith("KitError") and "blocks, more than the limit of 100000" in line
        assert "huge.zarr/0" in line, line
    # a normal level still builds, whole-axis blocks count as one, and the limit is the session's
    image = kit.open(write_image(tmp_path / "ok.zarr", version="0.4", axes="cyx",
                                 shape=(2, 64, 64), levels=1, labels=()))
    n = image.to_dask(0).numblocks
    assert np.prod(n) > 1 and image.to_dask(0, chunks=(1, -1, None)).numblocks == (2, 1, 1)
    from kit.io import boxes
    monkeypatch.setattr(boxes, "MAX_CHUNKS_PER_READ", int(np.prod(n)) - 1)
    with pytest.raises(KitError, match="MAX_CHUNKS_PER_READ"):
        image.to_dask(0)
    assert image.to_dask(0, chunks=-1).numblocks == (1, 1, 1)


def test_all_tables_of_a_real_well_image_at_once(real_plate):
    """`image.tables.to_pandas()`: the listing and every table read concurrently, <= 5
    dependent round trips (one by one: 15) and no more requests than one by one."""
    from test_benchmark_counts import REAL_NAME, TimedServer, waves

    with TimedServer(real_plate.parent, auth="basic", latency=0.2) as srv:
        url = f"{srv.url}{REAL_NAME}/B/03/0"
        image = kit.open(url, auth=srv.credential)
        srv.reset_log()
        frames = image.tables.to_pandas()
        together, trips = len(srv.requests), waves(srv.spans)

        image = kit.open(url, auth=srv.credential)
        srv.reset_log()
        one_by_one = {n: t.to_pandas() for n, t in image.tables.items()}
        alone, alone_trips = len(srv.requests), waves(srv.spans)

    assert list(frames) == list(one_by_one) and len(frames) == 4
    for name, frame in frames.items():
        assert frame.equals(one_by_one[name]), name
    assert trips <= 5 < alone_trips
    assert together <= alone
    assert all(r.status == 200 for r in srv.requests)


def test_a_plates_tables_at_once_and_a_missing_one_is_an_error(plate_path, tmp_path):
    plate = kit.open(plate_path)
    frames = plate.tables.to_pandas()
    assert list(frames) == ["condition"] and len(frames["condition"]) > 0
    assert kit.open(plate_path)["B/03/0"].tables.to_pandas().keys() == \
        kit.open(plate_path)["B/03/0"].tables.keys()
    path = write_image(tmp_path / "i.zarr", version="0.4", shape=(1, 1, 16, 16), levels=1,
                       tables=True)
    attrs = json.loads((path / "tables/.zattrs").read_text())
    listed = {**attrs, "tables": [*attrs["tables"], "ghost"]}
    (path / "tables/.zattrs").write_text(json.dumps(listed))
    with pytest.warns(kit.KitWarning, match="ghost"):
        tables = kit.open(path).tables
    with pytest.raises(kit.NotFound, match="ghost"):
        tables.to_pandas()
