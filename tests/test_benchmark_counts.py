"""Request counts and dependent round trips of the benchmark jobs, kit side (no timings).

The server adds a large latency (0.3 s) and records when each request arrived and when its
answer left; the kit's store records when the kit *issued* each request (before the store's
concurrency limit queues it). "Request B waited for request A" is then visible: B was issued
after A's answer left. A *stage* (plate, wells, fields, levels, chunks) is one kind of document;
its *waves* are the dependent round trips inside it (1 when every request of the stage was
issued before any of them was answered). Issue times make the kit's own chain deterministic;
arrival times add the concurrency limit and the client's per-request CPU (see
benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter

import pytest

import kit
from kit.demo.generate import write_plate
from kit.demo.server import DemoServer
from kit.io.kitstore import DEFAULT_CONCURRENCY, KitStore

LATENCY = 0.3
ROWS, COLUMNS = "ABCDEFGH", [f"{c:02d}" for c in range(1, 13)]
WELLS = len(ROWS) * len(COLUMNS)
REAL_NAME = "20200812-CardiomyocyteDifferentiation14-Cycle1_mip.zarr"


class TimedServer(DemoServer):
    """DemoServer that also keeps (path, arrival, answer) of every request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spans: list[tuple[str, float, float]] = []

    async def _respond(self, request):
        start = time.time()
        response = await super()._respond(request)
        self.spans.append((request.path, start, time.time()))
        return response

    def reset_log(self) -> None:
        super().reset_log()
        self.spans.clear()


@pytest.fixture(autouse=True)
def issued(monkeypatch):
    """{key: first time the kit asked its store for it} (keys are relative to the store root)."""
    log: dict[str, float] = {}
    original = KitStore._limited_get

    async def recording(self, key, *args, **kwargs):
        log.setdefault(key, time.time())
        return await original(self, key, *args, **kwargs)

    monkeypatch.setattr(KitStore, "_limited_get", recording)
    return log


def as_issued(spans, log: dict[str, float], root: str):
    """The spans with their start replaced by the kit's issue time."""
    prefix = root.strip("/") + "/"
    return [(p, log[p.strip("/")[len(prefix):]], e) for p, _, e in spans]


def stage_of(path: str, root: str) -> str:
    """Which stage a request belongs to, from its depth below the plate root and its name."""
    parts = path[len(root):].strip("/").split("/")
    name = parts[-1]
    if len(parts) == 1:
        return "plate"
    if name in (".zattrs", ".zgroup", "zarr.json"):
        return {3: "wells", 4: "fields"}.get(len(parts), "other")
    if name == ".zarray":
        return "levels"
    return "chunks"


def waves(spans: list[tuple[str, float, float]]) -> int:
    """Dependent round trips among ``spans``: depth of the 'started after that one answered'
    chain (1 when all were in flight together)."""
    depth: list[int] = []
    ordered = sorted(spans, key=lambda s: s[1])
    for i, (_, start, _) in enumerate(ordered):
        before = [depth[j] for j in range(i) if ordered[j][2] <= start]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


def per_well(spans, root: str) -> dict[str, list[tuple[str, float, float]]]:
    """Spans below each well (row/column), the plate's own documents left out."""
    out: dict[str, list] = {}
    for span in spans:
        parts = span[0][len(root):].strip("/").split("/")
        if len(parts) > 2:
            out.setdefault("/".join(parts[:2]), []).append(span)
    return out


def stages_of(spans, root: str) -> dict[str, list[tuple[str, float, float]]]:
    out: dict[str, list] = {}
    for span in spans:
        out.setdefault(stage_of(span[0], root), []).append(span)
    return out


def stages(srv: TimedServer, root: str) -> dict[str, list[tuple[str, float, float]]]:
    return stages_of(srv.spans, root)


def max_in_flight(spans) -> int:
    events = sorted([(s, 1) for _, s, _ in spans] + [(e, -1) for _, _, e in spans])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def assert_after(later, earlier, what: str) -> None:
    """Every request of ``later`` started after every answer of ``earlier`` (a barrier)."""
    assert min(s for _, s, _ in later) >= max(e for _, _, e in earlier), what


@pytest.fixture(scope="module")
def plate96(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    write_plate(root / "plate96.zarr", rows=ROWS, columns=COLUMNS,
                image_kwargs={"shape": (2, 1, 64, 64), "levels": 2, "labels": ()})
    return root


@pytest.fixture(scope="module")
def server(plate96):
    with TimedServer(plate96, auth="basic", latency=LATENCY) as srv:
        yield srv


def test_plate_images_is_4_plus_96_plus_96_requests_in_three_stages(server):
    server.reset_log()
    plate = kit.open(server.url + "plate96.zarr", auth=server.credential)
    images = plate.images()
    assert len(images) == WELLS
    by_stage = stages(server, "/plate96.zarr")
    assert {k: len(v) for k, v in by_stage.items()} == {"plate": 4, "wells": WELLS,
                                                       "fields": WELLS}
    assert len(server.requests) == 4 + WELLS + WELLS
    assert max(Counter(r.path for r in server.requests).values()) == 1  # nothing fetched twice
    assert all(r.authorization and r.status in (200, 404) for r in server.requests)
    # the root's four candidate documents, then wells, then fields; how many trips that is
    # is counted on issue times below (arrival times also hold the client's CPU stalls)
    assert_after(by_stage["wells"], by_stage["plate"], "a well was asked before the plate")
    assert_after(by_stage["fields"], by_stage["wells"], "a field was asked before all wells")
    # the default limit is wider than a plate stage: all 96 wells may be in flight at once
    assert DEFAULT_CONCURRENCY >= WELLS


def test_a_narrower_concurrency_limit_holds_on_the_wire(server):
    """A store made with ``concurrency=32`` never has more than 32 requests in flight, so a
    96-well stage takes ceil(96 / 32) = 3 waves."""
    wide = kit.open(server.url + "plate96.zarr", auth=server.credential).location.store
    narrow = KitStore(wide.inner, display=wide.display, concurrency=32)
    server.reset_log()
    assert len(kit.open(narrow).images()) == WELLS
    by_stage = stages(server, "/plate96.zarr")
    assert max_in_flight(server.spans) <= 32
    # never more than 32 at once: at least ceil(96 / 32) trips per stage
    assert waves(by_stage["wells"]) >= math.ceil(WELLS / 32)
    assert waves(by_stage["fields"]) >= math.ceil(WELLS / 32)


def test_plate_images_is_three_round_trips_as_issued(server, issued):
    """The kit asks for every well at once and every field at once: 3 dependent trips."""
    server.reset_log()
    images = kit.open(server.url + "plate96.zarr", auth=server.credential).images()
    assert len(images) == WELLS
    spans = as_issued(server.spans, issued, "/plate96.zarr")
    assert waves(spans) == 3
    by_stage = {k: as_issued(v, issued, "/plate96.zarr")
                for k, v in stages(server, "/plate96.zarr").items()}
    assert [waves(by_stage[s]) for s in ("plate", "wells", "fields")] == [1, 1, 1]


def test_plate_overview_is_485_requests_in_four_ordered_steps_per_well(server):
    """Only the shown field and the chosen level: the first field to answer (the probe) reads
    both levels' .zarray to pick the level, every other field reads only the level the
    probe's shapes pick (was 580: both levels of every field)."""
    server.reset_log()
    plate = kit.open(server.url + "plate96.zarr", auth=server.credential)
    mosaic = kit.plate_overview(plate, progress=False)
    assert mosaic.ndim == 3
    by_stage = stages(server, "/plate96.zarr")
    # one .zarray per first field (both for the probe), 2 channel chunks each
    assert {k: len(v) for k, v in by_stage.items()} == {
        "plate": 4, "wells": WELLS, "fields": WELLS, "levels": WELLS + 1, "chunks": 2 * WELLS}
    assert len(server.requests) == 4 + WELLS + WELLS + (WELLS + 1) + 2 * WELLS == 485
    assert max(Counter(r.path for r in server.requests).values()) == 1
    assert_after(by_stage["wells"], by_stage["plate"], "wells before the plate")
    # no barrier across wells, but each well's own chain is in order
    chains = per_well(server.spans, "/plate96.zarr")
    assert len(chains) == WELLS
    probes = []
    for well, spans in chains.items():
        steps = {k: [s for s in spans if stage_of(s[0], "/plate96.zarr") == k]
                 for k in ("wells", "fields", "levels", "chunks")}
        assert [len(v) for v in steps.values()] in ([1, 1, 1, 2], [1, 1, 2, 2]), well
        if len(steps["levels"]) == 2:
            probes.append(steps["levels"])
        assert_after(steps["fields"], steps["wells"], f"{well}: field before its well")
        assert_after(steps["levels"], steps["fields"], f"{well}: level before its field")
        assert_after(steps["chunks"], steps["levels"], f"{well}: chunk before its levels")
    assert len(probes) == 1  # one field read every level; the others read the level chosen
    others = [s for s in by_stage["levels"] if s not in probes[0]]
    assert_after(others, probes[0], "a field chose its level before the probe's shapes came")
    # each well's chain is at least its document, its field, its level, its chunks; that it
    # is exactly 4 is counted on issue times below (on the wire a client CPU stall under load
    # can split a well's two chunk requests into two arrivals)
    assert 2 * WELLS <= DEFAULT_CONCURRENCY
    assert min(waves(spans) for spans in chains.values()) >= 4


def test_plate_overview_is_four_round_trips_per_well_as_issued(server, issued):
    """Every well at once after the plate, then each well's field, its level and its chunks,
    each as soon as the previous answer (and the probe's level shapes) arrived: per well a
    chain of 4, and 1 + 5 for the plate, the probe's levels being the one extra trip that
    spares a request per level and field. (Across wells there is no other barrier, so a late
    well's step may start after an early well's next step answered.)"""
    server.reset_log()
    plate = kit.open(server.url + "plate96.zarr", auth=server.credential)
    kit.plate_overview(plate, progress=False)
    assert len(server.requests) == 485
    spans = as_issued(server.spans, issued, "/plate96.zarr")
    by_stage = stages_of(spans, "/plate96.zarr")
    assert waves(by_stage["plate"] + by_stage["wells"]) == 2
    chains = per_well(spans, "/plate96.zarr")
    assert len(chains) == WELLS
    # at most 4 dependent trips per well as issued (the server-side chain above is exactly 4;
    # as issued, a well whose field answered while the probe's levels were in flight may
    # overlap one step, so fewer is fine and more is the failure)
    assert max(waves(s) for s in chains.values()) == 4
    assert all(waves(s) <= 4 for s in chains.values())
    levels = sorted(by_stage["levels"], key=lambda s: s[1])
    probe_answered = min(e for _, _, e in levels)  # the probe's levels are asked for first
    assert sum(1 for _, start, _ in levels if start < probe_answered) == 2  # only the probe's


@pytest.fixture(scope="module")
def plate96x4(plate96):
    """96 wells of 4 fields, each field one chunk per level (the issue's per-well budget)."""
    write_plate(plate96 / "plate96x4.zarr", rows=ROWS, columns=COLUMNS, fields=4,
                image_kwargs={"shape": (2, 1, 64, 64), "chunks": (2, 1, 64, 64), "levels": 2,
                              "labels": ()})
    return "/plate96x4.zarr"


def test_plate_overview_reads_4_requests_per_well_and_fields_all_costs_what_it_shows(
        server, plate96x4):
    """<= 4 requests per well plus the plate's own (96 wells: <= 390) when each well shows its
    first field; ``fields="all"`` reads every field, and one level of each."""
    server.reset_log()
    plate = kit.open(server.url + plate96x4.strip("/"), auth=server.credential)
    kit.plate_overview(plate, progress=False)
    counts = {k: len(v) for k, v in stages(server, plate96x4).items()}
    assert counts == {"plate": 4, "wells": WELLS, "fields": WELLS, "levels": WELLS + 1,
                      "chunks": WELLS}
    assert len(server.requests) == 4 + 4 * WELLS + 1 <= 390
    server.reset_log()
    kit.plate_overview(plate, progress=False, fields="all")
    counts = {k: len(v) for k, v in stages(server, plate96x4).items()}
    # the well documents are cached by the store; every field, one level each, one chunk each
    assert counts == {"fields": 4 * WELLS - WELLS, "levels": 4 * WELLS + 1 - (WELLS + 1),
                      "chunks": 4 * WELLS}


class SlowWellServer(TimedServer):
    """Answers one well's document 3 s late (a slow disk, a cold cache); the other wells need
    ~0.3 s here, 10x less."""

    SLOW = "/plate96.zarr/A/01/.zattrs"

    async def _respond(self, request):
        if request.path == self.SLOW:
            await asyncio.sleep(3.0)
        return await super()._respond(request)


def test_a_slow_well_does_not_hold_up_the_other_wells(plate96):
    """Per-well chains: every other well is read to its chunks before the slow well answers."""
    with SlowWellServer(plate96, auth="basic", latency=0.02) as srv:
        plate = kit.open(srv.url + "plate96.zarr", auth=srv.credential)
        srv.reset_log()
        kit.plate_overview(plate, progress=False)
        slow_answer = next(e for p, _, e in srv.spans if p == SlowWellServer.SLOW)
        chains = per_well(srv.spans, "/plate96.zarr")
        others = [s for well, spans in chains.items() if well != "A/01" for s in spans]
        assert len(others) == 5 * (WELLS - 1) + 1  # one of them is the probe (both levels)
        assert max(e for _, _, e in others) < slow_answer
        assert len(chains["A/01"]) == 5  # and the slow well still gets its thumbnail


def test_preview_of_a_real_well_image_is_three_round_trips(real_plate):
    """Image metadata (4 candidate documents), every level's .zarray, the shown chunks."""
    with TimedServer(real_plate.parent, auth="basic", latency=LATENCY) as srv:
        image = kit.open(f"{srv.url}{REAL_NAME}/B/03/0", auth=srv.credential)
        rgb = kit.preview(image, max_size=512)
        assert rgb.shape[1] == 512
        kinds = Counter("level" if p.endswith(".zarray") else "meta" if "/." in p or
                        p.endswith("zarr.json") else "chunk" for p, _, _ in srv.spans)
        assert kinds == {"meta": 4, "level": 5, "chunk": 3}  # level 3: one chunk per channel
        assert len(srv.requests) == 12
        assert waves(srv.spans) == 3  # on the wire too: 12 requests fit the limit
        assert all(r.authorization for r in srv.requests)


COLD_WARM = r"""
import os, sys
import kit
auth = kit.BasicAuth(os.environ["BENCH_USER"], os.environ["BENCH_PASSWORD"])
url = sys.argv[1]
for name in ("cold.zarr", "warm.zarr"):  # two copies: nothing of the first is cached for the second
    assert kit.preview(kit.open(url + name, auth=auth), max_size=64).ndim == 3
"""


def test_first_preview_in_a_fresh_process_costs_the_round_trips_of_a_warm_one(tmp_path):
    """Cold start (issue 16.5): right after ``import kit`` (aiohttp, zarr's codecs and the kit
    loop not loaded yet) a preview takes as many dependent round trips as the next one."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from kit.demo.generate import write_image

    write_image(tmp_path / "cold.zarr", shape=(2, 1, 64, 64), levels=2, labels=())
    shutil.copytree(tmp_path / "cold.zarr", tmp_path / "warm.zarr")
    with TimedServer(tmp_path, auth="basic", latency=LATENCY) as srv:
        cred = srv.credential
        env = {**os.environ, "PYTHONPATH": str(Path(kit.__file__).resolve().parent.parent),
               "BENCH_USER": cred.username, "BENCH_PASSWORD": cred.password}
        subprocess.run([sys.executable, "-c", COLD_WARM, srv.url],
                       env=env, check=True, timeout=120)
        cold = [s for s in srv.spans if s[0].startswith("/cold.zarr/")]
        warm = [s for s in srv.spans if s[0].startswith("/warm.zarr/")]
    assert len(cold) == len(warm) > 0
    assert waves(cold) == waves(warm) == 3  # image metadata, level metadata, chunks


@pytest.mark.slow  # writing 1,536 images takes minutes on the shared machine
def test_plate_overview_of_384_wells_of_4_fields_is_at_most_1545_requests(server, plate96,
                                                                          issued):
    """Issue 16.1 at screen scale: a 384-well plate of 4 fields, one chunk per level, shows
    each well's first field: its well document, that field's metadata, the chosen level's
    .zarray, one chunk (and the probe's second .zarray): 4 + 4 x 384 + 1 = 1,541 (<= 1,545;
    it was 3,460). Each well's chain is at most 4 dependent trips as issued."""
    rows = [chr(ord("A") + i) for i in range(16)]
    write_plate(plate96 / "plate384x4.zarr", rows=rows, columns=[f"{c:02d}" for c in range(1, 25)],
                fields=4, image_kwargs={"shape": (2, 1, 64, 64), "chunks": (2, 1, 64, 64),
                                        "levels": 2, "labels": ()})
    server.reset_log()
    plate = kit.open(server.url + "plate384x4.zarr", auth=server.credential)
    kit.plate_overview(plate, progress=False)
    wells = 16 * 24
    counts = {k: len(v) for k, v in stages(server, "/plate384x4.zarr").items()}
    assert counts == {"plate": 4, "wells": wells, "fields": wells, "levels": wells + 1,
                      "chunks": wells}
    assert len(server.requests) == 4 + 4 * wells + 1 == 1541
    assert max(Counter(r.path for r in server.requests).values()) == 1
    spans = as_issued(server.spans, issued, "/plate384x4.zarr")
    chains = per_well(spans, "/plate384x4.zarr")
    assert len(chains) == wells and max(waves(s) for s in chains.values()) <= 4
